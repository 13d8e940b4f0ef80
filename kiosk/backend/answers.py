"""Security answers: normalise, hash with argon2id, verify in bounded, even time.

An answer is never stored or logged: only ``AnswerHasher.hash`` of its
normalised form is kept. Normalising (NFKC, trimmed, inner whitespace
collapsed, case-folded unless the question is case-sensitive) means "Zoë",
"zoe\u0308", "ＺＯË" and " zoë " are the same answer, as OWASP advises and as
PWM does by default. Since normalisation 2, punctuation that people type one
way or the other does not count either: "St. Louis" is "St Louis", "O'Brien"
is "OBrien", "Saint-Denis" is "Saint Denis" (dashes and slashes count as a
space, other punctuation as nothing).

Each hash says which normalisation made it: hashes of normalisation 2 carry
the prefix ``n2``; hashes without a prefix were made with normalisation 1
(before punctuation was ignored). An answer is verified with the normalisation
its hash was made with, and ``needs_rehash`` asks for a new hash (after a
successful verification, when the answer is at hand) until it is made with the
current one, exactly as for changed argon2 parameters.

**Site pepper.** With a pepper (32 random bytes in a file outside the store,
``answers.pepper_file`` or ``kiosk_answer_pepper`` in the secrets directory),
argon2id hashes HMAC-SHA256(pepper, normalised answer) instead of the answer,
so a copy of the store alone does not allow guessing answers offline. Such a
hash carries the prefix ``n2p`` and the pepper's 8-hex-digit id
(``n2pa1b2c3d4$argon2id$…``): a hash made under another pepper, or read with
none, is a ``StoreError`` (every host needs the same pepper file), never a
silent "wrong answer". Hashes made before the pepper verify as they are and
``needs_rehash`` asks for a peppered one.

Cost is bounded whatever is typed or pasted: an answer is cut to
``MAX_ANSWER_CHARS`` before anything else touches it, so a 10 MB paste costs
the same as a short answer (enrollment refuses long answers anyway, see
``kiosk.backend.questions.check_answer``).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from kiosk.backend.errors import StoreError
from kiosk.backend.model import Question
from kiosk.config import AnswerHashSettings

__all__ = ["MAX_ANSWER_CHARS", "NORMALISATION", "PEPPER_NAME", "AnswerHasher", "load_pepper", "normalise", "pepper_id",
           "pepper_path"]

#: Longer answers are cut to this many characters before normalising and hashing.
MAX_ANSWER_CHARS = 1024

#: The normalisation new hashes are made with (see the module's docstring).
NORMALISATION = 2

_HASH_LEN = 32
_SALT_LEN = 16
#: Hash prefix per normalisation (1 has none: hashes from before versions).
_PREFIX = {1: "", 2: "n2"}
#: Punctuation typed as a separator: counts as a space. Other punctuation counts as nothing.
_SEPARATORS = frozenset("/\\_")


def normalise(answer: str, *, case_sensitive: bool = False, version: int = NORMALISATION) -> str:
    """The form of an answer that is hashed and compared.

    NFKC (composed and decomposed accents agree, full-width letters become
    ordinary ones), case-folded unless ``case_sensitive``, trimmed, and every
    run of whitespace inside made one space. From ``version`` 2 on, dashes,
    slashes and underscores count as a space and other punctuation (Unicode
    category P) is dropped.
    """
    text = unicodedata.normalize("NFKC", answer[:MAX_ANSWER_CHARS])
    if not case_sensitive:
        # casefold can leave a string that is no longer NFKC ("ǰ" -> "ǰ"): normalise again.
        text = unicodedata.normalize("NFKC", text.casefold())
    if version >= 2:
        text = "".join(_unpunctuated(c) for c in text)
    # NFKC may lengthen ("ﬃ" -> "ffi"): cut again, or normalising twice would cut more.
    return " ".join(text.split())[:MAX_ANSWER_CHARS].rstrip()


def _unpunctuated(char: str) -> str:
    if char in _SEPARATORS:
        return " "
    category = unicodedata.category(char)
    if category == "Pd":
        return " "
    return "" if category.startswith("P") else char


#: The peppered hashes' prefix (after it, the pepper's id), normalisation 2.
_PEPPERED = "n2p"
_PEPPER_ID_CHARS = 8


def _split(stored_hash: str) -> tuple[int, str | None, str]:
    """(normalisation version, pepper id or None, argon2 hash) of a stored hash."""
    head, dollar, _ = stored_hash.partition("$")
    if dollar and head.startswith(_PEPPERED) and len(head) == len(_PEPPERED) + _PEPPER_ID_CHARS:
        return NORMALISATION, head[len(_PEPPERED) :], stored_hash[len(head) :]
    for version, prefix in _PREFIX.items():
        if prefix and stored_hash.startswith(prefix + "$"):
            return version, None, stored_hash[len(prefix) :]
    return 1, None, stored_hash


# --- the site pepper, kept outside the store -----------------------------------------------

#: The pepper's file name in the secrets directory (or the systemd credential's name).
PEPPER_NAME = "kiosk_answer_pepper"
PEPPER_BYTES = 32


def pepper_id(pepper: bytes) -> str:
    """A short public name of a pepper, written into the hashes made with it."""
    import hashlib  # here and below: kiosk sessions import this module (answers' normalisation), and no OpenSSL
    import hmac

    return hmac.new(pepper, b"kiosk answer pepper id", hashlib.sha256).hexdigest()[:_PEPPER_ID_CHARS]


def pepper_path(configured: Path | None, environ: Mapping[str, str]) -> Path | None:
    """Where the pepper is: ``answers.pepper_file``; else ``kiosk_answer_pepper``
    in a secrets directory (a systemd credential among them) if one has it;
    else where it can be made: the first secrets directory the kiosk may write
    to. None: nowhere (answers are then hashed without a pepper; ``kiosk check``
    says so)."""
    from kiosk.backend.keyfile import find_key_file

    return find_key_file(PEPPER_NAME, configured, environ)


def load_pepper(path: Path) -> bytes:
    """The pepper in ``path``; made (32 random bytes, mode 0600) if there is none."""
    from kiosk.backend.keyfile import load_or_create

    return load_or_create(path, PEPPER_BYTES, "the answer pepper")


def configured_pepper(settings: AnswerHashSettings, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The site's pepper as configured (made on first use), or None where there is no place for one."""
    path = pepper_path(settings.pepper_file, os.environ if environ is None else environ)
    return None if path is None else load_pepper(path)


class AnswerHasher:
    """argon2id with a fresh random salt per answer, parameters from the config.

    Hashes made with older parameters still verify (the parameters travel in
    the hash); ``needs_rehash`` tells the caller to store a new one after a
    successful verification.
    """

    def __init__(self, settings: AnswerHashSettings, pepper: bytes | None = None) -> None:
        # argon2 loads here, not with the module: the questionnaire (which
        # normalises answers) is imported by sessions that never hash.
        from argon2 import PasswordHasher, Type

        if pepper is not None and len(pepper) != PEPPER_BYTES:
            raise ValueError("pepper length")
        self._pepper = pepper
        self._pepper_id = None if pepper is None else pepper_id(pepper)
        self._hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost_kib,
            parallelism=settings.parallelism,
            hash_len=_HASH_LEN,
            salt_len=_SALT_LEN,
            type=Type.ID,
        )
        # Made now, not on first use, so the first unknown person is not slower.
        import secrets

        self._dummy = self._hasher.hash(secrets.token_urlsafe(32))

    def hash(self, question: Question, answer: str) -> str:
        """The stored form: the normalisation's prefix, then the argon2id hash."""
        candidate = normalise(answer, case_sensitive=question.case_sensitive)
        if self._pepper is None:
            return _PREFIX[NORMALISATION] + self._hasher.hash(candidate)
        return f"{_PEPPERED}{self._pepper_id}" + self._hasher.hash(self._peppered(candidate))

    @property
    def peppered(self) -> bool:
        return self._pepper is not None

    def _peppered(self, candidate: str) -> bytes:
        assert self._pepper is not None
        import hashlib
        import hmac

        return hmac.new(self._pepper, candidate.encode("utf-8"), hashlib.sha256).digest()

    def verify(self, question: Question, stored_hash: str, answer: str) -> bool:
        """True if ``answer`` matches, normalised as the hash's own version says;
        False on a mismatch or a malformed hash. A hash made under a pepper
        this hasher does not have is a ``StoreError``: the pepper file is
        missing or another one (each host needs the same)."""
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        try:
            version, wanted, argon2_hash = _split(stored_hash)
        except (ValueError, TypeError, AttributeError):
            return False
        if wanted is not None and wanted != self._pepper_id:
            raise StoreError(
                "an answer was hashed with a pepper this kiosk does not have "
                f"({PEPPER_NAME} missing or another one: every host needs the same file)"
            )
        try:
            candidate = normalise(answer, case_sensitive=question.case_sensitive, version=version)
            if wanted is not None:
                return self._hasher.verify(argon2_hash, self._peppered(candidate))
            return self._hasher.verify(argon2_hash, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        except (ValueError, TypeError):  # e.g. a hash that is not text at all
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True if the hash was made with other parameters or an older
        normalisation, or without the pepper this hasher has (or cannot be read)."""
        from argon2.exceptions import InvalidHashError

        try:
            version, wanted, argon2_hash = _split(stored_hash)
            if wanted != self._pepper_id:
                return True
            return version != NORMALISATION or self._hasher.check_needs_rehash(argon2_hash)
        except (InvalidHashError, ValueError, TypeError, AttributeError):
            return True

    def decoy_verify(self, question: Question, answer: str) -> bool:
        """Do the work of ``verify`` against a hash made with the current
        parameters, for someone with nothing enrolled: always False.

        Unknown, not enrolled and enrolled-but-wrong then cost the same time.
        """
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        candidate = normalise(answer, case_sensitive=question.case_sensitive)
        try:
            self._hasher.verify(self._dummy, candidate if self._pepper is None else self._peppered(candidate))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
        return False
