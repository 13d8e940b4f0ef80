"""An independent TOTP (RFC 6238 over RFC 4226's HOTP), for tests only: hmac
and struct, nothing of pyotp. Tests compute the codes a person's phone would
show with it, at a frozen time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct


def hotp(key: bytes, counter: int, digits: int = 6, digest=hashlib.sha1) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    (value,) = struct.unpack(">I", mac[offset : offset + 4])
    return str((value & 0x7FFFFFFF) % 10**digits).zfill(digits)


def totp(key: bytes, unix_time: float, digits: int = 6, step: int = 30, digest=hashlib.sha1) -> str:
    return hotp(key, int(unix_time // step), digits, digest)


def key_of(base32_secret: str) -> bytes:
    text = base32_secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def code(base32_secret: str, unix_time: float) -> str:
    """The 6-digit code an authenticator app shows for ``base32_secret`` at ``unix_time``."""
    return totp(key_of(base32_secret), unix_time)
