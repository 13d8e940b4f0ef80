"""Every word a person reads, in one catalogue (English built in).

``text(key, **values)`` formats one message in the language of the visit;
``error_text(exc)`` turns a ``KioskError`` into plain words by its ``code``.
Deployments override any message with ``[kiosk.texts]`` in the configuration
(English; ``[kiosk.texts.fr]`` and so on per language), given by
``configure(texts, languages=..., default_language=...)``.

English is the source language (``DEFAULT_TEXTS``); the other languages are
gettext catalogues (``kiosk.i18n``), read the first time a text is wanted in
them. ``set_language(code)`` switches the visit's language (the welcome
screen's picker); ``reset_language()`` goes back to the terminal's default.

Adding a message: add its key and English text to ``DEFAULT_TEXTS``, then
``scripts/catalogues update`` (the new entry appears, empty, in every .po),
translate it in each ``kiosk/locale/<code>/LC_MESSAGES/kiosk.po``, and
``scripts/catalogues compile``. tests/unit/test_catalogues.py fails until
every language has it.

No Textual import here: the command line uses this module too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from string import Formatter
from typing import Any

from kiosk.i18n import LANGUAGES, SOURCE_LANGUAGE, catalogue, drawable

DEFAULT_TEXTS: dict[str, str] = {
    # --- welcome ------------------------------------------------------------
    # The defaults of kiosk.title and kiosk.help_text (translated while unchanged).
    "banner.title": "Password self-service",
    "welcome.help": "Forgot your password or locked out? Choose what you need below.",
    "welcome.choose": "What do you need?",
    "welcome.unlock": "Unlock my account",
    "welcome.reset": "Reset my password",
    "welcome.enroll": "Set up my security questions",
    "welcome.activate": "Activate my new account",
    "welcome.totp": "Set up an authenticator app",
    "welcome.change": "Change my password",
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
    "busy.sending": "Sending the code, please wait...",
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
    # an answer refused by the questionnaire's rules (kiosk.backend.questions)
    "answer.too_long": "Your answer is too long (at most {count} characters).",
    "answer.too_short_one": "Your answer must be at least 1 character.",
    "answer.too_short": "Your answer must be at least {count} characters.",
    "answer.guessable": "That answer is one anybody could guess. Please give the real answer, one only you would know.",
    "answer.repeats_question": "Your answer must not repeat the question.",
    "answer.user_name": "Your answer must not be your user name.",
    "answer.same_twice": "Use a different answer for each question.",
    "answer.choose_once": "Choose each question only once.",
    "answer.every_question": "Answer every question.",
    "answer.choose_one": "Choose one question from “{group}”.",
    "answer.choose_some": "Choose {count} questions from “{group}”.",
    "answer.exactly": "Answer exactly {count} questions.",
    "review.title": "Check your questions",
    "review.intro": "You will be asked these questions. Your answers are not shown.",
    "review.keys": "Enter: save   Esc: start the answers again",
    "enroll.done": "Your security questions are saved. You can now unlock your account or reset your password here.",
    # --- change (the current password known) ---------------------------------
    "change.title": "Change your password",
    "change.intro": "Type the current password of {name}, even if it has expired or is temporary.",
    "result.changed": "The password of {account} is changed. Use the new one from now on.",
    "result.changed_enroll": " Next: set up your security questions (\"Set up my security questions\" on the start screen), so you can unlock your account or reset your password here yourself.",
    # --- activation ---------------------------------------------------------
    "activate.proof.title": "Activate your new account",
    "activate.proof.intro": "Prove it is you: type these details as your organisation gave them to you.",
    "activate.proof.empty": "Please fill in every field.",
    # kiosk.backend.activation.CODE_LABEL, the first thing asked (label_text())
    "activate.code_label": "Activation code",
    "activate.failed": "No account could be activated with these details. Check them and start again, or contact the help desk.",
    "activate.incomplete": "Your account is not activated yet.{password_note} Please start again, or contact the help desk with reference {reference}.",
    "activate.password_may_be_set": " Your new password may already be set.",
    "result.activated": "{account} is ready: sign in with your new password.",
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
    # the new password's checklist: the backend's English labels (kiosk.backend.policy,
    # password_quality), matched by rule_text(); {fields} stand for the label's numbers
    "rule.at_least": "At least {count} characters",
    "rule.at_most": "At most {count} characters",
    "rule.complexity": "3 kinds of: capitals, small letters, digits, symbols",
    "rule.not_name": "Not your user name or part of your name",
    "rule.not_names": "Not your name or user name",
    "rule.not_names_organisation": "Not your name, user name or the organisation's name",
    "rule.not_common": "Not a common or breached password",
    "rule.common": "This password is on a list of common passwords",
    "rule.breached": "This password has appeared in a data breach",
    "rule.contains_name": "It contains your name",
    "rule.contains_account": "It contains your user name",
    "rule.contains_organisation": "It contains the organisation's name",
    "rule.contains_title": "It contains a word of this kiosk's name",
    "rule.contains_site": "It contains a word this site does not allow",
    "rule.strength_needed": "Hard to guess (strength {score} of 4 or more)",
    "rule.strength_ok": "Hard to guess: [{meter}] {score} of 4",
    "rule.strength_weak": "Too easy to guess: [{meter}] {score} of 4, add a word or two",
    "rule.match": "Both entries match",
    # --- results ------------------------------------------------------------
    "result.unlocked": "{account} is unlocked. Your password is unchanged: sign in with it as before.",
    "result.reset": "The password of {account} is changed. Use it the next time you sign in.",
    "result.activate_unavailable": "Account activation is not available at this terminal yet. Please contact the help desk.",
    "result.success": "Done",
    "result.failure": "Not done",
    "result.back_in": "Back to the start in {seconds} s.",
    # --- helpdesk (kiosk helpdesk: support staff over SSH) ----------------------
    "helpdesk.title": "Password helpdesk",
    "helpdesk.operator": "operator {operator}",
    "helpdesk.keys.signin": "Enter: sign in   Esc or F10: sign out",
    "helpdesk.keys.search": "Enter: search / open   Tab: results   Esc or F10: sign out",
    "helpdesk.keys.card": "Tab: next action   Enter: choose   Esc: back to search   F10: sign out",
    "helpdesk.keys.verify": "Enter: next / check   Tab: next field   Esc: back   F10: sign out",
    "helpdesk.keys.temporary": "Enter: done, hide it",
    "helpdesk.keys.confirm": "Tab or Left/Right: choose   Enter: confirm   Esc: cancel",
    "helpdesk.keys.confirm_option": "Tab: choose   Space: tick   Enter: confirm   Esc: cancel",
    "helpdesk.signin.title": "Helpdesk sign-in",
    "helpdesk.signin.intro": "You are connected as {operator}. Prove it is you: type your own directory password.",
    "helpdesk.signin.label": "Your password",
    "helpdesk.signin.empty": "Please type your password.",
    "helpdesk.signin.wrong": "That is not the password of {operator}. Please try again.",
    "helpdesk.signin.refused": "{operator} is not a helpdesk operator. Press F10 to sign out and ask an administrator.",
    "helpdesk.refused": "{operator} is not a helpdesk operator. Ask an administrator to add you to an operator group.",
    "helpdesk.search.title": "Find the caller's account",
    "helpdesk.search.label": "The start of a name, user name or UPN",
    "helpdesk.search.empty": "Please type the start of a name.",
    "helpdesk.search.none": "No account starts with \"{query}\".",
    "helpdesk.search.found": "{count} account(s). Up/Down: choose   Enter: open the account",
    "helpdesk.column.name": "User name",
    "helpdesk.column.display": "Display name",
    "helpdesk.column.upn": "UPN",
    "helpdesk.column.locked": "Locked",
    "helpdesk.column.enrolled": "Enrolled",
    "helpdesk.yes": "yes",
    "helpdesk.no": "no",
    "helpdesk.partly": "partly",
    "helpdesk.card.account": "Account",
    "helpdesk.card.enabled": "enabled",
    "helpdesk.card.disabled": "DISABLED",
    "helpdesk.card.expired": "EXPIRED",
    "helpdesk.card.locked": "Locked",
    "helpdesk.card.locked_since": "YES, since {since}",
    "helpdesk.card.locked_yes": "YES",
    "helpdesk.card.bad_passwords": "Bad passwords",
    "helpdesk.card.password": "Password",
    "helpdesk.card.password_set": "set {set}",
    "helpdesk.card.password_expires": "expires {expires}",
    "helpdesk.card.password_never_expires": "does not expire",
    "helpdesk.card.must_change": "must change at next logon",
    "helpdesk.card.enrolled": "Questions",
    "helpdesk.card.enrolled_yes": "set up {when}",
    "helpdesk.card.enrolled_partial": "the questions changed since: they should set them up again",
    "helpdesk.card.enrolled_no": "not set up: the caller cannot be verified by questions",
    "helpdesk.card.last_used": "last used {when}",
    "helpdesk.card.answers_before": "Answers set up before the last password change.",
    "helpdesk.card.answers_after": "Answers set up after the last password change.",
    "helpdesk.card.self_service": "Self-service",
    "helpdesk.card.allowed": "allowed",
    "helpdesk.card.not_allowed": "not allowed: {reason}",
    "helpdesk.card.throttle": "Wrong answers",
    "helpdesk.card.throttle_none": "none recently",
    "helpdesk.card.throttle_count": "{count} recently",
    "helpdesk.card.throttle_locked": "{count} recently; blocked until {until}",
    "helpdesk.card.caller": "Caller",
    "helpdesk.card.verified": "VERIFIED in this session",
    "helpdesk.card.not_verified": "not verified",
    "helpdesk.action.verify": "Verify caller",
    "helpdesk.action.unlock": "Unlock",
    "helpdesk.action.reset": "Reset password",
    "helpdesk.action.revoke": "Revoke questions",
    "helpdesk.action.clear": "Clear attempts",
    "helpdesk.action.verify_totp": "App code",
    "helpdesk.action.verify_email": "Mail code",
    "helpdesk.action.revoke_totp": "Remove app",
    "helpdesk.card.totp": "Authenticator",
    "helpdesk.card.totp_yes": "set up {when}",
    "helpdesk.card.totp_no": "none",
    "helpdesk.card.mail": "E-mail codes",
    "helpdesk.card.mail_to": "to {address}",
    "helpdesk.card.mail_none": "no address: the caller cannot get an e-mailed code",
    "helpdesk.card.caller_check": "needs {methods}",
    "helpdesk.card.passed": "passed: {methods}",
    "helpdesk.method.questions": "questions",
    "helpdesk.method.totp": "app code",
    "helpdesk.method.email": "mail code",
    "helpdesk.code.title.totp": "Verify the caller by their app: {account}",
    "helpdesk.code.title.email": "Verify the caller by e-mail: {account}",
    "helpdesk.code.intro.totp": "Ask the caller for the 6-digit code their authenticator app shows now (or one of their recovery codes) and type it.",
    "helpdesk.code.intro.email": "A code was sent to {address}. Ask the caller to read it from that mail and type it. It works once, for a few minutes.",
    "helpdesk.code.label": "Code",
    "helpdesk.method.question": "How will you verify the caller ({account})?",
    "helpdesk.method.choice.verify": "Ask their security questions",
    "helpdesk.method.choice.verify_totp": "The code their authenticator app shows",
    "helpdesk.method.choice.verify_email": "A code sent to {address}",
    "helpdesk.keys.method": "Up/Down: choose   Enter: continue   Esc: cancel",
    "helpdesk.code.empty": "Please type the code the caller reads out.",
    "helpdesk.code.failed": "NOT verified: the code does not match. Do not act for this caller.",
    "helpdesk.confirm.revoke_totp": "Remove the authenticator app of {account}?\nIts codes and recovery codes stop working at once; they can set up a new one at the kiosk.",
    "helpdesk.confirm.yes.revoke_totp": "Remove",
    "helpdesk.done.revoke_totp": "The authenticator app of {account} is removed.",
    "helpdesk.done.revoke_totp_none": "{account} had no authenticator app to remove.",
    "helpdesk.done.verified_code": "The code matches: the caller is verified.",
    "helpdesk.done.verified_part": "Passed. The caller check also needs: {methods}.",
    "helpdesk.no_code": "This caller cannot be checked that way ({account}): the method is not set up, or the policy does not use it.",
    "helpdesk.confirm.unlock": "Unlock {account}?\nThe account can sign in again at once.",
    "helpdesk.confirm.reset": "Reset the password of {account}?\nA temporary password is shown once; they must change it at their next logon.",
    "helpdesk.confirm.revoke": "Revoke the security questions of {account}?\nThey must set up new questions before self-service works for them again.",
    "helpdesk.confirm.reset_revoke": "Also revoke their security questions",
    "helpdesk.confirm.clear": "Clear the wrong answers of {account}?\nThey can try their questions again at once.",
    "helpdesk.confirm.clear_unverified": "Clear the wrong answers of {account}?\nThe questions cannot verify this caller now. Verify them another way first (call back on a number the organisation holds, or see their ID). Your name is recorded.",
    "helpdesk.confirm.clear_other_route": "I verified this caller another way.",
    "helpdesk.confirm.sign_out": "Sign out of the helpdesk?",
    "helpdesk.confirm.yes.unlock": "Unlock",
    "helpdesk.confirm.yes.reset": "Reset",
    "helpdesk.confirm.yes.revoke": "Revoke",
    "helpdesk.confirm.yes.clear": "Clear",
    "helpdesk.confirm.yes.sign_out": "Sign out",
    "helpdesk.cancel": "Cancel",
    "helpdesk.done.unlock": "{account} is unlocked.",
    "helpdesk.done.revoke": "The security questions of {account} are revoked.",
    "helpdesk.done.revoke_none": "{account} had no security questions to revoke.",
    "helpdesk.done.verified": "The caller answered correctly: verified.",
    "helpdesk.done.reset": "The temporary password was shown and is now hidden.",
    "helpdesk.done.reset_revoked": "The temporary password was shown and is now hidden. The security questions are revoked.",
    "helpdesk.done.clear": "The wrong answers of {account} are cleared: they can try again.",
    "helpdesk.not_enrolled": "{account} has no security questions, so the caller cannot be verified here.",
    "helpdesk.not_allowed": "The helpdesk may not do this for {account} now.",
    "helpdesk.throttled": "Too many wrong answers for this account. Verifying is blocked for {minutes} minute(s).",
    "helpdesk.throttled_until_cleared": "Too many wrong answers for this account. Verifying is blocked until its attempts are cleared.",
    "helpdesk.verify.title": "Verify the caller: {account}",
    "helpdesk.verify.intro": "Ask the caller these questions and type what they say. They are checked together.",
    "helpdesk.verify.empty": "Please type every answer.",
    "helpdesk.verify.failed": "NOT verified: the answers do not match. Do not act for this caller.",
    "helpdesk.temporary.title": "Temporary password for {account}",
    "helpdesk.temporary.intro": "Read it to the caller now. It is shown only this once.",
    "helpdesk.temporary.must_change": "They must change it at their next logon.",
    "helpdesk.temporary.done": "Done - hide it",
    "helpdesk.signed_out": "Helpdesk: signed out.",
    "helpdesk.idle_signed_out": "Helpdesk: signed out after {duration} without activity.",
    "busy.searching": "Searching, please wait...",
    # --- errors by code (KioskError.code) -----------------------------------
    "error.error": "Sorry - something went wrong. Please try again later or contact the help desk.",
    "error.directory_error": "The directory could not do this just now. Please try again later or contact the help desk.",
    "error.directory_unavailable": "The directory cannot be reached just now. Please try again later or contact the help desk.",
    "error.backend_unavailable": "The password service cannot be reached just now. Please try again in a minute or contact the help desk.",
    "error.backend_busy": "The password service is very busy just now. Please try again in a few minutes.",
    "error.directory_tls": "The directory cannot be reached safely just now. Please contact the help desk.",
    "error.insecure_connection": "The directory cannot be reached safely just now. Please contact the help desk.",
    "error.service_account": "This terminal cannot work just now. Please contact the help desk.",
    "error.insufficient_rights": "This terminal is not allowed to do that. Please contact the help desk.",
    "error.invalid_credentials": "That user name and password do not match. Please try again.",
    "error.account_locked": "Your account is locked. Choose \"Unlock my account\" on the start screen.",
    "error.account_disabled": "This account is disabled. Please contact the help desk.",
    "error.account_expired": "This account has expired. Please contact the help desk.",
    "error.password_expired": "Your password has expired. Choose \"Reset my password\" on the start screen.",
    "error.password_must_change": "Your password is temporary or has expired. Change it first when you next sign in to a computer, or ask the help desk; then set up your questions here.",
    "error.account_not_found": "That user name and password do not match. Please try again.",
    "error.password_rejected": "The directory did not accept this password. Please choose another one.",
    "error.store_unavailable": "Your security questions cannot be reached just now. Please try again later.",
    "error.throttled": "Too many attempts. Please try again in {minutes} minute(s) or contact the help desk.",
    "error.throttled_until_cleared": "Too many attempts. Please contact the help desk.",
    "error.answer_rejected": "{reason}",
    "error.verification_failed": "Those answers do not match our records. Please try again.",
    "error.second_factor_failed": "Those answers or that code do not match our records. Please try again.",
    "error.code_rejected": "That code is not right. Check the app's clock and type the code it shows now.",
    # TOTP: enrollment (an authenticator app) and the code step of unlock and reset.
    "totp.password_title": "Set up an authenticator app",
    "totp.setup_title": "Scan this with your authenticator app",
    "totp.setup_intro": "Or type this key into the app:",
    "totp.setup_code": "Then type the 6-digit code it shows:",
    "totp.setup_empty": "Please type the code the app shows.",
    "totp.setup_keys": "Enter: check   Esc: back",
    "totp.recovery_title": "Your recovery codes",
    "totp.recovery_intro": (
        "Write these down and keep them safe. Each one works once, in place of a code from the app, "
        "if you lose your phone. They are shown only now."
    ),
    "totp.recovery_keys": "Enter: I have written them down",
    "totp.done": "Your authenticator app is set up. The kiosk will ask for its code from now on.",
    "code.title": "Code from your authenticator app",
    "code.intro": "Type the 6-digit code your authenticator app shows now, or one of your recovery codes.",
    "code.label": "Code",
    "code.empty": "Please type the code.",
    "error.code_not_sent": "The code could not be sent just now. Please try again later or contact the help desk.",
    "error.too_many_codes": "Enough codes were sent for now. Please use the last one, try again later, or contact the help desk.",
    # The second factor: which way to prove it is you, and a code sent by e-mail.
    "factor.title": "How do you want to prove it is you?",
    "factor.intro": "Choose one. If you have not set it up, ask the help desk.",
    "factor.keys": "Up/Down: choose   Enter: continue   Esc: back",
    "factor.method.questions": "my security questions",
    "factor.method.totp": "a code from my authenticator app",
    "factor.method.email": "a code sent to my e-mail",
    "factor.join": " and ",
    "email_code.title": "Code sent by e-mail",
    "email_code.intro": "We sent a code to {address} (if that is your address). It works once, for {minutes} minutes.",
    "email_code.label": "Code from the e-mail",
    "email_code.empty": "Please type the code from the e-mail.",
    "email_code.keys": "Enter: continue   F5: send a new code   Esc: back",
    "email_code.resent": "A new code was sent. Only the newest one works.",
    "error.not_allowed": "Self-service is not available for this account. Please contact the help desk.",
    "error.config": "This terminal is not set up correctly. Please contact the help desk.",
    "error.activation_incomplete": "Your account is not activated yet. Please start again, or contact the help desk.",
    "error.proof_unavailable": "Your account cannot be activated here because some of your details are missing. Please contact the help desk.",
    # --- AD's refusal of a new password, by PasswordRejected.reason ---------
    "password_rejected.too_short": "The directory says this password is too short. Please choose a longer one.",
    "password_rejected.not_complex": "The directory says this password is too simple. Mix capitals, small letters, digits and symbols, and leave out your name.",
    "password_rejected.contains_name": "The password must not contain your user name or part of your name.",
    "password_rejected.in_history": "You have used this password before. Please choose one you have not used.",
    "password_rejected.too_young": "Your password was changed too recently to change it again. Please try again later or contact the help desk.",
    "password_rejected.wrong_old_password": "The directory did not accept this password change. Please contact the help desk.",
    "password_rejected.common": "This password is on a list of common passwords, so it is easy to guess. Please choose another: a few uncommon words together work well.",
    "password_rejected.breached": "This password has appeared in a data breach, so attackers try it. Please choose one you have never used anywhere.",
    "password_rejected.weak": "This password is too easy to guess. Please make it longer: add another uncommon word or two.",
    "password_rejected.context": "The password must not contain the organisation's name or words of this kiosk.",
    "password_rejected.too_long": "This password is too long. Please choose a shorter one.",
    "password_rejected.unknown": "The directory did not accept this password. Please choose another one.",
}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_formatter = Formatter()
#: Overrides by language: the flat form of ``[kiosk.texts]`` is English.
_overrides: dict[str, dict[str, str]] = {}
#: Configured labels' other languages (activation.proof's ``label.fr``), by their English.
_labels: dict[str, dict[str, str]] = {}
_offered: tuple[str, ...] = (SOURCE_LANGUAGE,)
_default = SOURCE_LANGUAGE
_language = SOURCE_LANGUAGE


def configure(
    texts: Mapping[str, Any] | None,
    *,
    languages: Sequence[str] | None = None,
    default_language: str | None = None,
    term: str | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Use these overrides (``settings.kiosk.texts``) from now on; None = none.

    A string value overrides an English text (today's form); a table of
    strings under a language code (``[kiosk.texts.fr]``) overrides that
    language's. ``languages``: what the picker offers (``kiosk.languages``;
    None: English alone), less those this ``term`` cannot draw;
    ``default_language``: where every visit starts (empty: the first offered);
    ``labels``: configured labels in other languages, by their English."""
    global _offered, _default
    _overrides.clear()
    _labels.clear()
    _labels.update({str(k): dict(v) for k, v in (labels or {}).items()})
    for key, value in (texts or {}).items():
        if isinstance(value, Mapping):
            _overrides.setdefault(str(key), {}).update({str(k): str(v) for k, v in value.items()})
        else:
            _overrides.setdefault(SOURCE_LANGUAGE, {})[str(key)] = str(value)
    offered = tuple(dict.fromkeys(c for c in (languages or ()) if c in LANGUAGES and drawable(c, term)))
    offered = offered or (SOURCE_LANGUAGE,)
    wanted = default_language or offered[0]
    default = wanted if wanted in offered else offered[0]
    if (offered, default) != (_offered, _default) or _language not in offered:
        # New choices: the visit starts over in the default. The same ones again (the
        # validated settings after the first frame's): a language just picked stays.
        _offered, _default = offered, default
        reset_language()


def languages() -> tuple[str, ...]:
    """The languages a person may pick here (their codes, in the configured order)."""
    return _offered


def language() -> str:
    """The language of the visit in progress."""
    return _language


def default_language() -> str:
    return _default


def set_language(code: str) -> None:
    """The person picked ``code`` (one of ``languages()``): every text from now on is in it."""
    global _language
    if code in _offered:
        _language = code


def reset_language() -> None:
    """The visit is over: back to the terminal's default language."""
    global _language
    _language = _default


def language_name(code: str) -> str:
    """A language's name in that language ("Français")."""
    known = LANGUAGES.get(code)
    return known.name if known is not None else code


#: Texts only support staff read (``kiosk helpdesk`` over SSH): English, like
#: the audit log; the catalogues leave them out.
STAFF_PREFIXES = ("helpdesk.", "busy.searching")


def translatable(key: str) -> bool:
    """Is ``key`` in the catalogues (a text the public reads)?"""
    return not key.startswith(STAFF_PREFIXES)


def has(key: str) -> bool:
    return key in DEFAULT_TEXTS or any(key in texts for texts in _overrides.values())


def template(key: str, language: str | None = None) -> str:
    """The unformatted text of ``key`` in ``language`` (default: the visit's):
    the administrators' override, else the catalogue, else the English
    override, else the English text, else the key itself."""
    code = language or _language
    own = _overrides.get(code)
    if own and key in own:
        return own[key]
    source = DEFAULT_TEXTS.get(key)
    if code != SOURCE_LANGUAGE and source is not None:
        found = catalogue(code)
        if found is not None:
            translated = found.pgettext(key, source)
            if translated:
                return translated
    english = _overrides.get(SOURCE_LANGUAGE)
    if english and key in english:
        return english[key]
    return source if source is not None else key


def text(key: str, /, **values: Any) -> str:
    """The message ``key`` with ``{name}`` fields filled; unknown keys show the key."""
    template_ = template(key)
    if not values:
        return template_
    try:
        return _formatter.vformat(template_, (), _Lenient(values))
    except (ValueError, IndexError, AttributeError):  # a broken override: show it as written
        return template_


def setting_text(key: str, value: str) -> str:
    """A text the configuration sets (``kiosk.title`` as ``banner.title``,
    ``kiosk.help_text`` as ``welcome.help``): an override of ``key`` in the
    visit's language first; then the setting as written, unless it is still
    the built-in default (the English text of ``key``), which is translated."""
    own = _overrides.get(_language)
    if own and key in own:
        return own[key]
    if value == DEFAULT_TEXTS.get(key):
        return text(key)
    return value


def translated(default: str, translations: Any = ()) -> str:
    """A configured text in the visit's language: its own translation in
    ``translations`` ((language, text) pairs or a mapping), else ``default``."""
    found = dict(translations or ()).get(_language)
    return found if found else default


def label_text(label: str) -> str:
    """A field's label the backend gives in English (the activation code's, a
    configured proof's) in the visit's language."""
    if label == DEFAULT_TEXTS["activate.code_label"]:
        return text("activate.code_label")
    return translated(label, _labels.get(label))


def question_text(question: Any) -> str:
    """A security question's wording in the visit's language (its
    ``translations``), else as configured (``text``)."""
    return translated(str(getattr(question, "text", "")), getattr(question, "translations", ()))


def group_title(step: Any) -> str:
    """A questionnaire group's title in the visit's language."""
    return translated(str(getattr(step, "title", "")), getattr(step, "translations", ()))


_rule_patterns: list[tuple[str, re.Pattern[str]]] = []


def rule_text(label: str) -> str:
    """A password rule's label (the backend's English) in the visit's
    language: the ``rule.*`` message it was made from, with its numbers."""
    if _language == SOURCE_LANGUAGE and not _overrides:
        return label
    if not _rule_patterns:
        for key, english in DEFAULT_TEXTS.items():
            if key.startswith("rule."):
                parts = re.split(r"\{(\w+)\}", english)
                source = "".join(
                    re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
                )
                _rule_patterns.append((key, re.compile(source)))
    for rule, pattern in _rule_patterns:
        found = pattern.fullmatch(label)
        if found:
            return text(rule, **found.groupdict())
    return label


def duration(seconds: float) -> str:
    """Seconds in words, as exact as the setting: "30 seconds", "1 minute",
    "1 minute 30 seconds", "2 hours"."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if count
    ]
    return " ".join(parts) or "0 seconds"


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
        if not math.isfinite(seconds):  # held past the consecutive-failure cap: no end time
            return text("error.throttled_until_cleared")
        return text("error.throttled", minutes=max(1, math.ceil(seconds / 60)))
    if code == "answer_rejected":
        # The questionnaire's rules say why in a message of their own
        # (``message_key``, ``values``); the English ``reason`` otherwise.
        own = getattr(exc, "message_key", None)
        if isinstance(own, str) and own in DEFAULT_TEXTS:
            return text(own, **dict(getattr(exc, "values", {}) or {}))
        return text("error.answer_rejected", reason=getattr(exc, "reason", ""))
    return text(f"error.{code}")
