"""LDAP result codes as AD uses them, and their mapping to the kiosk's typed
errors (``kiosk.backend.errors``): one place decides what a refusal means."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

from kiosk.backend.errors import (
    AccountDisabled,
    AccountExpired,
    AccountLocked,
    AccountNotFound,
    DirectoryError,
    DirectoryUnavailable,
    InsecureConnection,
    InsufficientRights,
    InvalidCredentials,
    PasswordExpired,
    PasswordMustChange,
    PasswordRejected,
    ServiceAccountError,
)

# LDAP result codes used by the adapter (RFC 4511, plus AD's use of them).
SUCCESS = 0
OPERATIONS_ERROR = 1
SIZE_LIMIT_EXCEEDED = 4
STRONGER_AUTH_REQUIRED = 8
REFERRAL = 10
UNAVAILABLE_CRITICAL_EXTENSION = 12
CONSTRAINT_VIOLATION = 19
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS = 50
BUSY = 51
UNAVAILABLE = 52
UNWILLING_TO_PERFORM = 53

#: ``data XXX`` in AD's bind failure message (``AcceptSecurityContext error, data 775``).
_BIND_DATA = re.compile(r"\bdata ([0-9a-fA-F]+)\b")

USER_BIND_ERRORS: dict[str, type[DirectoryError]] = {
    "52e": InvalidCredentials,
    "775": AccountLocked,
    "533": AccountDisabled,
    "701": AccountExpired,
    "532": PasswordExpired,
    "773": PasswordMustChange,
}

#: Samba's 0000052D texts (AD itself says only 0000052D, so that is "unknown").
_REJECTION_REASONS: tuple[tuple[str, str], ...] = (
    ("too short", "too_short"),
    ("complexity", "not_complex"),
    ("already used", "in_history"),
    ("history", "in_history"),
    ("too young", "too_young"),
)


def ad_data_code(message: str) -> str | None:
    """The ``data XXX`` code of an AD bind failure message, lower-cased."""
    match = _BIND_DATA.search(message or "")
    return match.group(1).lower() if match else None


def rejection_reason(message: str) -> str:
    lowered = message.lower()
    if "00000056" in lowered:
        return "wrong_old_password"
    for needle, reason in _REJECTION_REASONS:
        if needle in lowered:
            return reason
    return "unknown"


def result_detail(operation: str, target: str, result: Mapping[str, Any] | None) -> str:
    result = result or {}
    code = result.get("result")
    description = result.get("description", "")
    message = (result.get("message") or "").strip()
    return f"{operation} {target}: LDAP {code} {description}" + (f": {message}" if message else "")


def raise_for_result(detail: str, result: Mapping[str, Any]) -> NoReturn:
    code = result.get("result")
    if code == INSUFFICIENT_ACCESS:
        raise InsufficientRights(detail)
    if code == NO_SUCH_OBJECT:
        raise AccountNotFound(detail)
    if code in (BUSY, UNAVAILABLE):
        raise DirectoryUnavailable(detail)
    if code == STRONGER_AUTH_REQUIRED:
        raise InsecureConnection(detail)
    raise DirectoryError(detail)


def raise_for_user_bind(detail: str, result: Mapping[str, Any]) -> NoReturn:
    """A person's refused bind: AD's ``data`` code says why (52e, 775, ...)."""
    if result.get("result") == INVALID_CREDENTIALS:
        error = USER_BIND_ERRORS.get(ad_data_code(result.get("message", "")) or "", InvalidCredentials)
        raise error(detail)
    raise_for_result(detail, result)


def raise_for_password_write(detail: str, result: Mapping[str, Any]) -> NoReturn:
    code = result.get("result")
    message = result.get("message") or ""
    if "00000775" in message:
        raise AccountLocked(detail)
    if code in (CONSTRAINT_VIOLATION, UNWILLING_TO_PERFORM) or "0000052d" in message.lower() or "00000056" in message:
        raise PasswordRejected(rejection_reason(message), detail)
    if code == OPERATIONS_ERROR and "00002020" in message:
        raise ServiceAccountError(detail)  # the connection is not authenticated
    raise_for_result(detail, result)
