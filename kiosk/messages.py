"""Every word a person reads, in one catalogue (English built in).

``text(key, **values)`` formats one message; ``error_text(exc)`` turns a
``KioskError`` into plain words by its ``code``. Deployments override any
message with ``[kiosk.texts]`` in the configuration (``configure(texts)``).

No Textual import here: the command line uses this module too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from string import Formatter
from typing import Any

DEFAULT_TEXTS: dict[str, str] = {
    # --- welcome ------------------------------------------------------------
    "welcome.choose": "What do you need?",
    "welcome.unlock": "Unlock my account",
    "welcome.reset": "Reset my password",
    "welcome.enroll": "Set up my security questions",
    "welcome.activate": "Activate my new account",
    "welcome.demo": "DEMO - nothing here touches a real directory.",
    "welcome.keys": "Up/Down: choose   Enter: continue",
    "welcome.starting": "Starting, please wait...",
    # --- common -------------------------------------------------------------
    "keys.form": "Enter: continue   Tab: next field   Esc: back",
    "keys.result": "Enter: done",
    "busy.default": "Please wait...",
    "busy.starting": "Starting, please wait...",
    "busy.checking": "Checking, please wait...",
    "busy.saving": "Saving, please wait...",
    "too_small": "This terminal is too small.\nPlease make it at least 80 x 24.",
    "reference": "Reference: {reference}",
    "ok": "OK",
    "done": "Done",
    "fatal": "Sorry - something went wrong. Please try again. Reference: {reference}",
    # --- identify -----------------------------------------------------------
    "identify.title": "Who are you?",
    "identify.label": "Your user name",
    "identify.hint": "user name, DOMAIN\\name or name@domain",
    "identify.default_domain": "Without a domain, {domain} is used.",
    "identify.empty": "Please type your user name.",
    # --- enrollment ---------------------------------------------------------
    "current_password.title": "Set up your security questions",
    "current_password.intro": "First, prove it is you: type your current password for {name}.",
    "current_password.label": "Current password",
    "current_password.empty": "Please type your current password.",
    "enroll.title": "Security question {number} of {total}",
    "enroll.group": "{title}: choose a question",
    "enroll.pick_prompt": "Choose a question",
    "enroll.answer": "Your answer",
    "enroll.confirm": "Type the answer again",
    "enroll.hint": "Answers are stored scrambled. Capitals do not matter unless stated.",
    "enroll.no_question": "Please choose a question first.",
    "enroll.empty": "Please type an answer.",
    "enroll.mismatch": "The two answers are not the same. Please type them again.",
    "review.title": "Check your questions",
    "review.intro": "You will be asked these questions. Your answers are not shown.",
    "review.keys": "Enter: save   Esc: start the answers again",
    "enroll.done": "Your security questions are saved. You can now unlock your account or reset your password here.",
    # --- challenge ----------------------------------------------------------
    "challenge.title": "Answer your security questions",
    "challenge.intro": "Answer every question; they are checked together at the end.",
    "challenge.empty": "Please answer every question.",
    # --- new password -------------------------------------------------------
    "new_password.title": "Choose a new password",
    "new_password.label": "New password",
    "new_password.confirm": "Type it again",
    "new_password.rules": "Your new password needs:",
    "new_password.not_yet": "The new password does not meet every rule above yet.",
    "new_password.mismatch": "The two passwords are not the same.",
    # --- results ------------------------------------------------------------
    "result.unlocked": "{account} is unlocked. Your password is unchanged: sign in with it as before.",
    "result.reset": "The password of {account} is changed. Use it the next time you sign in.",
    "result.activate_unavailable": "Account activation is not available at this terminal yet. Please contact the help desk.",
    "result.success": "Done",
    "result.failure": "Not done",
    "result.back_in": "Back to the start in {seconds} s.",
    # --- errors by code (KioskError.code) -----------------------------------
    "error.error": "Sorry - something went wrong. Please try again later or contact the help desk.",
    "error.directory_error": "The directory could not do this just now. Please try again later or contact the help desk.",
    "error.directory_unavailable": "The directory cannot be reached just now. Please try again later or contact the help desk.",
    "error.directory_tls": "The directory cannot be reached safely just now. Please contact the help desk.",
    "error.insecure_connection": "The directory cannot be reached safely just now. Please contact the help desk.",
    "error.service_account": "This terminal cannot work just now. Please contact the help desk.",
    "error.insufficient_rights": "This terminal is not allowed to do that. Please contact the help desk.",
    "error.invalid_credentials": "That user name and password do not match. Please try again.",
    "error.account_locked": "Your account is locked. Choose \"Unlock my account\" on the start screen.",
    "error.account_disabled": "This account is disabled. Please contact the help desk.",
    "error.account_expired": "This account has expired. Please contact the help desk.",
    "error.password_expired": "Your password has expired. Choose \"Reset my password\" on the start screen.",
    "error.password_must_change": "Your password must be changed first. Choose \"Reset my password\" on the start screen.",
    "error.account_not_found": "That user name and password do not match. Please try again.",
    "error.password_rejected": "The directory did not accept this password. Please choose another one.",
    "error.store_unavailable": "Your security questions cannot be reached just now. Please try again later.",
    "error.throttled": "Too many attempts. Please try again in {minutes} minute(s) or contact the help desk.",
    "error.answer_rejected": "{reason}",
    "error.verification_failed": "Those answers do not match our records. Please try again.",
    "error.not_allowed": "Self-service is not available for this account. Please contact the help desk.",
    "error.config": "This terminal is not set up correctly. Please contact the help desk.",
    "error.proof_unavailable": "Your account cannot be activated here because some of your details are missing. Please contact the help desk.",
    # --- AD's refusal of a new password, by PasswordRejected.reason ---------
    "password_rejected.too_short": "The directory says this password is too short. Please choose a longer one.",
    "password_rejected.not_complex": "The directory says this password is too simple. Mix capitals, small letters, digits and symbols, and leave out your name.",
    "password_rejected.contains_name": "The password must not contain your user name or part of your name.",
    "password_rejected.in_history": "You have used this password before. Please choose one you have not used.",
    "password_rejected.too_young": "Your password was changed too recently to change it again. Please try again later or contact the help desk.",
    "password_rejected.wrong_old_password": "The directory did not accept this password change. Please contact the help desk.",
    "password_rejected.unknown": "The directory did not accept this password. Please choose another one.",
}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_formatter = Formatter()
_overrides: dict[str, str] = {}


def configure(texts: Mapping[str, str] | None) -> None:
    """Use these overrides (``settings.kiosk.texts``) from now on; None = none."""
    _overrides.clear()
    if texts:
        _overrides.update({str(k): str(v) for k, v in texts.items()})


def has(key: str) -> bool:
    return key in _overrides or key in DEFAULT_TEXTS


def text(key: str, /, **values: Any) -> str:
    """The message ``key`` with ``{name}`` fields filled; unknown keys show the key."""
    template = _overrides.get(key, DEFAULT_TEXTS.get(key, key))
    if not values:
        return template
    try:
        return _formatter.vformat(template, (), _Lenient(values))
    except (ValueError, IndexError, AttributeError):  # a broken override: show it as written
        return template


def error_text(exc: BaseException) -> str:
    """Plain words for an error; anything that is not a KioskError is 'something went wrong'."""
    code = getattr(exc, "code", None)
    if not isinstance(code, str) or not has(f"error.{code}"):
        return text("error.error")
    if code == "password_rejected":
        reason = getattr(exc, "reason", "unknown")
        key = f"password_rejected.{reason}"
        return text(key if has(key) else "password_rejected.unknown")
    if code == "throttled":
        seconds = float(getattr(exc, "retry_after", 60) or 60)
        return text("error.throttled", minutes=max(1, math.ceil(seconds / 60)))
    if code == "answer_rejected":
        return text("error.answer_rejected", reason=getattr(exc, "reason", ""))
    return text(f"error.{code}")
