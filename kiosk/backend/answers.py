"""Security answers: normalise, hash with argon2id, verify in bounded, even time.

An answer is never stored or logged: only ``AnswerHasher.hash`` of its
normalised form is kept. Normalising (NFKC, trimmed, inner whitespace
collapsed, case-folded unless the question is case-sensitive) means "Zoë",
"zoe\u0308", "ＺＯË" and " zoë " are the same answer, as OWASP advises and as
PWM does by default.

Cost is bounded whatever is typed or pasted: an answer is cut to
``MAX_ANSWER_CHARS`` before anything else touches it, so a 10 MB paste costs
the same as a short answer (enrollment refuses long answers anyway, see
``kiosk.backend.questions.check_answer``).
"""

from __future__ import annotations

import secrets
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kiosk.backend.model import Question
from kiosk.config import AnswerHashSettings

__all__ = ["MAX_ANSWER_CHARS", "AnswerHasher", "normalise"]

#: Longer answers are cut to this many characters before normalising and hashing.
MAX_ANSWER_CHARS = 1024

_HASH_LEN = 32
_SALT_LEN = 16


def normalise(answer: str, *, case_sensitive: bool = False) -> str:
    """The form of an answer that is hashed and compared.

    NFKC (composed and decomposed accents agree, full-width letters become
    ordinary ones), case-folded unless ``case_sensitive``, trimmed, and every
    run of whitespace inside made one space.
    """
    text = unicodedata.normalize("NFKC", answer[:MAX_ANSWER_CHARS])
    if not case_sensitive:
        # casefold can leave a string that is no longer NFKC ("ǰ" -> "ǰ"): normalise again.
        text = unicodedata.normalize("NFKC", text.casefold())
    # NFKC may lengthen ("ﬃ" -> "ffi"): cut again, or normalising twice would cut more.
    return " ".join(text.split())[:MAX_ANSWER_CHARS].rstrip()


class AnswerHasher:
    """argon2id with a fresh random salt per answer, parameters from the config.

    Hashes made with older parameters still verify (the parameters travel in
    the hash); ``needs_rehash`` tells the caller to store a new one after a
    successful verification.
    """

    def __init__(self, settings: AnswerHashSettings) -> None:
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
        return self._hasher.hash(normalise(answer, case_sensitive=question.case_sensitive))

    def verify(self, question: Question, stored_hash: str, answer: str) -> bool:
        """True if ``answer`` matches; False on a mismatch or a malformed hash."""
        candidate = normalise(answer, case_sensitive=question.case_sensitive)
        try:
            return self._hasher.verify(stored_hash, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        except (ValueError, TypeError):  # e.g. a hash that is not text at all
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True if the hash was made with other parameters (or cannot be read)."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (InvalidHashError, ValueError, TypeError):
            return True

    def decoy_verify(self, question: Question, answer: str) -> bool:
        """Do the work of ``verify`` against a hash made with the current
        parameters, for someone with nothing enrolled: always False.

        Unknown, not enrolled and enrolled-but-wrong then cost the same time.
        """
        candidate = normalise(answer, case_sensitive=question.case_sensitive)
        try:
            self._hasher.verify(self._dummy, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
        return False
