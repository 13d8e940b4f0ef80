"""Typed errors, raised where they start and turned into words in one place.

Every error has a stable ``code``; ``kiosk.messages`` maps codes to the plain
words a person sees. ``detail`` is for the audit and application log only: it
may hold the directory's own message, never a password or an answer.
"""

from __future__ import annotations


class KioskError(Exception):
    code = "error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


# --- directory -------------------------------------------------------------


class DirectoryError(KioskError):
    code = "directory_error"


class DirectoryUnavailable(DirectoryError):
    """No domain controller answered (down, unreachable, timed out)."""

    code = "directory_unavailable"


class DirectoryTLSError(DirectoryUnavailable):
    """The TLS handshake or the certificate check failed."""

    code = "directory_tls"


class InsecureConnection(DirectoryError):
    """Refused to send a password over a connection that is not encrypted."""

    code = "insecure_connection"


class ServiceAccountError(DirectoryError):
    """The kiosk's own service account could not bind (wrong or expired password)."""

    code = "service_account"


class InsufficientRights(DirectoryError):
    """The service account lacks the right for this operation (LDAP 50)."""

    code = "insufficient_rights"


class InvalidCredentials(DirectoryError):
    """Wrong password, or unknown user (AD data 52e): the two look the same."""

    code = "invalid_credentials"


class AccountLocked(DirectoryError):
    code = "account_locked"  # data 775


class AccountDisabled(DirectoryError):
    code = "account_disabled"  # data 533


class AccountExpired(DirectoryError):
    code = "account_expired"  # data 701


class PasswordExpired(DirectoryError):
    code = "password_expired"  # data 532


class PasswordMustChange(DirectoryError):
    code = "password_must_change"  # data 773


class AccountNotFound(DirectoryError):
    code = "account_not_found"


class PasswordRejected(DirectoryError):
    """The directory refused a new password (0000052D and friends).

    ``reason`` is one of: too_short, not_complex, contains_name, in_history,
    too_young, wrong_old_password, unknown.
    """

    code = "password_rejected"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


# --- store, throttle, answers ---------------------------------------------------


class StoreError(KioskError):
    """The enrollment store could not be read or written (locked, full, read-only)."""

    code = "store_unavailable"


class Throttled(KioskError):
    """Too many failed attempts; try again after ``retry_after`` seconds."""

    code = "throttled"

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or self.describe(retry_after))
        self.retry_after = retry_after

    @staticmethod
    def describe(retry_after: float) -> str:
        """For the audit log: when trying again helps, if ever (past the
        consecutive-failure cap only a clear lifts the lock)."""
        if retry_after == float("inf"):
            return "locked until cleared (consecutive-failure cap)"
        return f"retry after {retry_after:.0f}s"


class AnswerRejected(KioskError):
    """An answer breaks an enrollment rule; ``reason`` says which, in plain
    words (English: logs, the command line). ``message_key`` and ``values``
    name the same words among the kiosk's messages, so a person reads them in
    their language (empty: ``reason`` is shown as it is)."""

    code = "answer_rejected"

    def __init__(self, reason: str, message_key: str = "", values: dict[str, str | int] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_key = message_key
        self.values = dict(values or {})


class VerificationFailed(KioskError):
    """The answers did not match (or there was nothing to match against)."""

    code = "verification_failed"


class SecondFactorFailed(VerificationFailed):
    """The answers or the authenticator's code did not match (never says which)."""

    code = "second_factor_failed"


class CodeRejected(KioskError):
    """TOTP enrollment: the code from the new authenticator app is not right."""

    code = "code_rejected"


class CodeNotSent(KioskError):
    """An e-mailed code could not be sent (the relay down, untrusted or refusing)."""

    code = "code_not_sent"


class TooManyCodes(KioskError):
    """Enough e-mailed codes were sent for now (per visit, or per account per hour)."""

    code = "too_many_codes"


class NotAllowed(KioskError):
    """The step is not allowed for this visit (not verified, feature off, ineligible)."""

    code = "not_allowed"


class ConfigError(KioskError):
    code = "config"


# --- activation ---------------------------------------------------------------


class ProofUnavailable(KioskError):
    """The account lacks a directory attribute the configured activation proof
    needs: the person cannot answer, so they are sent to the help desk.
    ``attributes`` (for the audit log) names what is missing."""

    code = "proof_unavailable"

    def __init__(self, attributes: tuple[str, ...], detail: str = "") -> None:
        super().__init__(detail or f"missing proof attribute(s): {', '.join(attributes)}")
        self.attributes = attributes


class ActivationIncomplete(KioskError):
    """The final activation step failed part-way. The marker was not written,
    so the account can be activated again; the password may already have been
    set (``password_set`` says whether it surely was). ``step`` is one of:
    password, unlock, enrollment, marker."""

    code = "activation_incomplete"

    def __init__(self, step: str, *, password_set: bool, detail: str = "") -> None:
        super().__init__(detail or f"activation stopped at step {step}")
        self.step = step
        self.password_set = password_set
