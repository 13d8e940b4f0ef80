"""TOTP (RFC 6238) as a second factor: secrets, codes, recovery codes, and the
key that keeps the secrets encrypted in the store.

* A secret is 160 random bits (RFC 4226's recommendation), shown to the person
  once as base32 and as an ``otpauth://`` URI (the QR code); the store keeps it
  only AES-GCM encrypted under a key kept outside the store (``SecretBox``), with
  the account's GUID as associated data (a row copied onto another account
  does not decrypt).
* Codes: 6 digits, 30-second steps, one step of clock drift either way; the
  step a code matched is returned so that the store can refuse it next time
  (``EnrollmentStore.use_totp_step``).
* Recovery codes: ten random codes shown once; the store keeps only their
  HMAC-SHA256 under a site secret, keyed by the account too.

Nothing here imports pyotp's or cryptography's modules before it is used: the
kiosk's first frame never pays for them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from kiosk.backend.errors import StoreError
from kiosk.backend.keyfile import find_key_file, load_or_create

#: The key's file name in the secrets directory (or the systemd credential's name).
KEY_NAME = "kiosk_totp_key"
KEY_BYTES = 32
DIGITS = 6
STEP_SECONDS = 30
#: Steps of clock drift accepted on either side of now.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
#: Recovery codes: 10 characters from an alphabet without look-alikes (0/o, 1/l/i), ~50 bits.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10
#: The format of an encrypted secret: version byte, 12-byte nonce, ciphertext+tag.
_SEALED_VERSION = b"\x01"


def new_secret() -> str:
    """A fresh secret, base32 without padding (32 characters = 160 bits)."""
    import pyotp

    return pyotp.random_base32(length=32)


#: The longest URI whose QR code (version 6, level L: 134 bytes) fits an 80x24
#: screen as half blocks: 45 modules with its quiet zone, 22-23 cell rows.
QR_MAX_BYTES = 134


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/Issuer:account?secret=...&issuer=...`` URI for a QR code.

    The parameters every authenticator app assumes anyway (SHA1, 6 digits,
    30 s) are left out, and a long issuer is given once rather than twice (in
    the label only, then not at all) so that the code stays small enough for
    an 80x24 screen."""
    label = quote(f"{issuer}:{account}", safe=":@")
    candidates = [
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer, safe='')}",
        f"otpauth://totp/{label}?secret={secret}",
        f"otpauth://totp/{quote(account, safe='@')}?secret={secret}",
    ]
    return next((uri for uri in candidates if len(uri.encode()) <= QR_MAX_BYTES), candidates[-1])


def grouped(secret: str) -> str:
    """The secret as people type it: groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def current_step(now: float) -> int:
    return int(now // STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    import pyotp

    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step ``code`` is right for (within the drift), or None.
    Every step of the window is computed and compared in constant time,
    whatever was typed."""
    typed = normalise_code(code)
    if len(typed) != DIGITS or not typed.isdigit():
        typed = "x" * DIGITS  # never matches; the same work is done
    found: int | None = None
    for step in range(current_step(now) - DRIFT_STEPS, current_step(now) + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), typed) and found is None:
            found = step
    return found


def normalise_code(code: str) -> str:
    """What was typed, without spaces and dashes, lower case."""
    return "".join(ch for ch in code.strip().lower() if ch not in " -")


def looks_like_recovery_code(code: str) -> bool:
    return len(normalise_code(code)) == RECOVERY_LENGTH


def new_recovery_codes() -> list[str]:
    """Ten codes, shown as ``abcde-fghjk``."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_digest(key: bytes, account_guid: str, code: str) -> str:
    """The keyed digest the store keeps for one recovery code."""
    message = f"{account_guid}\x00{normalise_code(code)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- the key outside the store ----------------------------------------------------------


def key_path(configured: Path | None, environ: Mapping[str, str]) -> Path:
    """Where the key is: ``factors.totp_key_file``; else an existing
    ``kiosk_totp_key`` in a secrets directory (a systemd credential among
    them); else where it will be made: the first writable secrets directory."""
    path = find_key_file(KEY_NAME, configured, environ)
    if path is None:
        raise StoreError("no secrets directory for the TOTP key (set factors.totp_key_file)")
    return path


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; made (32 random bytes, mode 0600) if there is none."""
    return load_or_create(path, KEY_BYTES, "the TOTP key")


class SecretBox:
    """AES-256-GCM under the key outside the store; the account's GUID is the
    associated data, so a sealed secret opens only for its own account."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def seal(self, secret: str, account_guid: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return _SEALED_VERSION + nonce + self._aead.encrypt(nonce, secret.encode("ascii"), account_guid.encode())

    def open(self, sealed: bytes, account_guid: str) -> str:
        from cryptography.exceptions import InvalidTag

        if sealed[:1] != _SEALED_VERSION or len(sealed) < 1 + 12 + 16:
            raise StoreError("a TOTP secret in the store is not in a known format")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], account_guid.encode()).decode("ascii")
        except InvalidTag:
            raise StoreError("a TOTP secret does not open with this key (wrong key file?)") from None


def decoy_secret(site_secret: bytes, subject: str) -> str:
    """A secret for people without one: the same computation, never a match they could know."""
    import base64

    digest = hmac.new(site_secret, f"totp-decoy\x00{subject}".encode(), hashlib.sha256).digest()[:20]
    return base64.b32encode(digest).decode("ascii")

