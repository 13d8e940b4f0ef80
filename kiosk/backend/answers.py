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

Cost is bounded whatever is typed or pasted: an answer is cut to
``MAX_ANSWER_CHARS`` before anything else touches it, so a 10 MB paste costs
the same as a short answer (enrollment refuses long answers anyway, see
``kiosk.backend.questions.check_answer``).
"""

from __future__ import annotations

import secrets
import unicodedata

from kiosk.backend.model import Question
from kiosk.config import AnswerHashSettings

__all__ = ["MAX_ANSWER_CHARS", "NORMALISATION", "AnswerHasher", "normalise"]

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


def _split(stored_hash: str) -> tuple[int, str]:
    """(normalisation version, argon2 hash) of a stored hash."""
    for version, prefix in _PREFIX.items():
        if prefix and stored_hash.startswith(prefix + "$"):
            return version, stored_hash[len(prefix) :]
    return 1, stored_hash


class AnswerHasher:
    """argon2id with a fresh random salt per answer, parameters from the config.

    Hashes made with older parameters still verify (the parameters travel in
    the hash); ``needs_rehash`` tells the caller to store a new one after a
    successful verification.
    """

    def __init__(self, settings: AnswerHashSettings) -> None:
        # argon2 loads here, not with the module: the questionnaire (which
        # normalises answers) is imported by sessions that never hash.
        from argon2 import PasswordHasher, Type

        self._hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost_kib,
            parallelism=settings.parallelism,
            hash_len=_HASH_LEN,
            salt_len=_SALT_LEN,
            type=Type.ID,
        )
        # Made now, not on first use, so the first unknown person is not slower.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(32))

    def hash(self, question: Question, answer: str) -> str:
        """The stored form: the normalisation's prefix, then the argon2id hash."""
        candidate = normalise(answer, case_sensitive=question.case_sensitive)
        return _PREFIX[NORMALISATION] + self._hasher.hash(candidate)

    def verify(self, question: Question, stored_hash: str, answer: str) -> bool:
        """True if ``answer`` matches, normalised as the hash's own version says;
        False on a mismatch or a malformed hash."""
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        try:
            version, argon2_hash = _split(stored_hash)
            candidate = normalise(answer, case_sensitive=question.case_sensitive, version=version)
            return self._hasher.verify(argon2_hash, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        except (ValueError, TypeError):  # e.g. a hash that is not text at all
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True if the hash was made with other parameters or an older
        normalisation (or cannot be read)."""
        from argon2.exceptions import InvalidHashError

        try:
            version, argon2_hash = _split(stored_hash)
            return version != NORMALISATION or self._hasher.check_needs_rehash(argon2_hash)
        except (InvalidHashError, ValueError, TypeError):
            return True

    def decoy_verify(self, question: Question, answer: str) -> bool:
        """Do the work of ``verify`` against a hash made with the current
        parameters, for someone with nothing enrolled: always False.

        Unknown, not enrolled and enrolled-but-wrong then cost the same time.
        """
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        candidate = normalise(answer, case_sensitive=question.case_sensitive)
        try:
            self._hasher.verify(self._dummy, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
        return False
