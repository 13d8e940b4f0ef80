"""The words of every mail the kiosk sends (``kiosk.backend.notices``,
``email_codes``, ``reminders``, the alerts after failed attempts), in the
person's language.

One entry per audited change event: its subject and the sentence that says
what happened. A notice never holds a password, a code or an answer: it is
made from the event, the time, the terminal, the operator and the reference
alone (``compose`` takes nothing else). Plain text, kept here rather than in
``kiosk.messages`` because the backend imports no UI module.

The English texts below are the source of the same catalogues as the
screens' (``MAIL_TEXTS``: each key is a ``msgctxt``, scripts/catalogues puts
them in ``kiosk/locale``), read with ``kiosk.i18n.catalogue``. A mail is in
the language of the visit that caused it (the one picked on the welcome
screen); a helpdesk action's notice and a reminder, which no visit of the
person's caused, are in the terminals' default language (``kiosk.default_language``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from kiosk.i18n import SOURCE_LANGUAGE, catalogue

#: event (``event:step`` for a visit of several audited steps) -> (subject,
#: what happened). Only these events send a notice, and only when they succeeded.
_NOTICES: dict[str, tuple[str, str]] = {
    "enroll": (
        "Your security questions were set up",
        "Security questions were set up for your account {account}.",
    ),
    "enroll_replace": (
        "Your security questions were changed",
        "The security questions of your account {account} were replaced with new ones.",
    ),
    "unlock": (
        "Your account was unlocked",
        "Your account {account} was unlocked at the self-service kiosk.",
    ),
    "reset": (
        "Your password was reset",
        "The password of your account {account} was reset at the self-service kiosk.",
    ),
    "change": (
        "Your password was changed",
        "The password of your account {account} was changed at the self-service kiosk.",
    ),
    "totp_enroll": (
        "An authenticator app was set up for your account",
        "An authenticator app was set up for your account {account} at the self-service kiosk.",
    ),
    "totp_replace": (
        "Your authenticator app was replaced",
        "The authenticator app of your account {account} was replaced by a new one at the self-service kiosk.",
    ),
    "totp_recovery_code": (
        "A recovery code of your account was used",
        "One of the recovery codes of your account {account} was used instead of your authenticator app.",
    ),
    "activate:complete": (
        "Your account was activated",
        "Your account {account} was activated and given its first password at the self-service kiosk.",
    ),
    "helpdesk_unlock": (
        "Your account was unlocked by the helpdesk",
        "Your account {account} was unlocked by the helpdesk ({operator}).",
    ),
    "helpdesk_reset": (
        "Your password was reset by the helpdesk",
        "The password of your account {account} was reset by the helpdesk ({operator}). "
        "The temporary password must be changed at the next sign-in.",
    ),
    "helpdesk_revoke": (
        "Your security questions were removed by the helpdesk",
        "The security questions of your account {account} were removed by the helpdesk ({operator}). "
        "Set them up again at the kiosk.",
    ),
    "helpdesk_revoke_totp": (
        "Your authenticator app was removed by the helpdesk",
        "The authenticator app of your account {account} was removed by the helpdesk ({operator}): "
        "its codes and recovery codes no longer work. Set one up again at the kiosk.",
    ),
    "helpdesk_clear_attempts": (
        "The helpdesk cleared your account's wrong attempts",
        "The wrong answers recorded against your account {account} were cleared by the helpdesk ({operator}), "
        "so it can be verified again.",
    ),
}

_BODY = """Hello {name},

{what}

When:      {when}
Where:     terminal {terminal}
Reference: {reference}

If this was you, there is nothing more to do.
If it was not you, {contact}, and quote the reference above.

This message was sent automatically; replies are not read.
It never contains a password, a code or an answer, and nobody will ever ask you for one by mail.
"""


def compose(
    event: str, *, account: str, name: str, when: datetime, terminal: str, operator: str | None,
    reference: str, contact: str, language: str = SOURCE_LANGUAGE,
) -> tuple[str, str]:
    """(subject, body) of the notice for ``event`` (one of ``NOTICE_EVENTS``) in ``language``."""
    what = mail_text(f"mail.notice.{event}.what", language).format(
        account=account, operator=operator or mail_text("mail.notice.operator", language)
    )
    body = mail_text("mail.notice.body", language).format(
        name=name or account,
        what=what,
        when=_shown_time(when),
        terminal=terminal or mail_text("mail.terminal_unknown", language),
        reference=reference or "-",
        contact=contact,
    )
    return mail_text(f"mail.notice.{event}.subject", language), body


# --- e-mailed one-time codes (kiosk.backend.email_codes) -----------------------------------------

#: Not a notice: the one mail that holds a code, sent right away while the
#: person waits at the kiosk (or is on the phone to the helpdesk).
_CODE_SUBJECT = "Your one-time code"
_CODE_BODY = """Hello {name},

Your one-time code for the account {account} is:

    {code}

Type it at the kiosk now (or read it to the helpdesk if you called them).
It works once, for the next {minutes} minutes, and only on the screen that asked for it.

When:      {when}
Where:     terminal {terminal}

If you did not ask for a code, someone typed your name at the kiosk: do not tell anyone
this code. Nothing changes unless the code is typed; if it happens again, {contact}.

This message was sent automatically; replies are not read.
"""


def compose_code(
    *, code: str, account: str, name: str, when: datetime, terminal: str, minutes: int, contact: str,
    language: str = SOURCE_LANGUAGE,
) -> tuple[str, str]:
    """(subject, body) of the mail carrying a one-time code, in ``language``."""
    body = mail_text("mail.code.body", language).format(
        name=name or account, account=account, code=code, minutes=minutes, when=_shown_time(when),
        terminal=terminal or mail_text("mail.terminal_unknown", language), contact=contact,
    )
    return mail_text("mail.code.subject", language), body


# --- reminders (kiosk.backend.reminders) --------------------------------------------------------

#: reminder event -> (subject, what to do). Sent by ``kiosk remind``, not after
#: a change: they ask the person to come to the kiosk, and never hold a link
#: (a mail that asks to click a link to a password page is what phishing looks like).
_REMINDERS: dict[str, tuple[str, str]] = {
    "reminder_enroll": (
        "Set up your security questions at the password kiosk",
        "Your account {account} has no security questions yet. With them, you can unlock your "
        "account or reset a forgotten password yourself at the password kiosk, at any hour, "
        "without calling anyone.\n\n"
        "To set them up, go to the password kiosk ({where}), choose \"Set up my security questions\", "
        "sign in with your user name and password and answer a few questions. It takes about two minutes.",
    ),
    "reminder_reenroll": (
        "Set up your security questions again at the password kiosk",
        "The security questions of your account {account} have changed since you set yours up, "
        "so they need to be set up again before the kiosk can rely on them.\n\n"
        "Go to the password kiosk ({where}), choose \"Set up my security questions\", sign in "
        "with your user name and password and answer the questions. It takes about two minutes.",
    ),
    "reminder_totp": (
        "Set up an authenticator app at the password kiosk",
        "To unlock your account {account} or reset its password yourself, the password kiosk now "
        "asks for a code from an authenticator app on your phone as well, and your account has none "
        "set up yet.\n\n"
        "To set one up, install an authenticator app on your phone (your IT department can tell you "
        "which), then go to the password kiosk \"{title}\" ({where}), choose \"Set up an authenticator "
        "app\", sign in with your user name and password and scan the code the screen shows. "
        "Keep the recovery codes it gives you somewhere safe. It takes about two minutes.",
    ),
    "reminder_enroll_totp": (
        "Set up your security questions and an authenticator app",
        "Your account {account} has no security questions yet, and no authenticator app. With both, "
        "you can unlock your account or reset a forgotten password yourself at the password kiosk, "
        "at any hour, without calling anyone.\n\n"
        "Go to the password kiosk \"{title}\" ({where}). Choose \"Set up my security questions\", sign in "
        "with your user name and password and answer a few questions; then choose \"Set up an "
        "authenticator app\", sign in again and scan the code the screen shows with an authenticator "
        "app on your phone. Keep the recovery codes it gives you somewhere safe. It takes about five minutes.",
    ),
    "reminder_expiry": (
        "Your password expires on {expires_date}",
        "The password of your account {account} expires on {expires}. After that you cannot "
        "sign in until it is changed.\n\n"
        "Change it before then as you usually do when you sign in, or at the password kiosk ({where}): "
        "choose \"Reset my password\" and answer your security questions. It takes about two minutes.",
    ),
}

_REMINDER_BODY = """Hello {name},

{what}

You will never be asked for your password, a code or an answer by mail, and this
message holds no link to click: go to the kiosk itself.
If you have a question, {contact}.

This message was sent automatically; replies are not read.
"""


def compose_reminder(
    event: str, *, account: str, name: str, where: str, contact: str, expires: datetime | None = None,
    title: str = "", language: str = SOURCE_LANGUAGE,
) -> tuple[str, str]:
    """(subject, body) of the reminder ``event`` (one of ``REMINDER_EVENTS``) in ``language``."""
    soon = mail_text("mail.reminder.soon", language)
    shown_expires = _shown_time(expires) if expires is not None else soon
    fill = {
        "account": account, "where": where, "expires": shown_expires,
        "expires_date": shown_expires[:10] if expires is not None else soon,
        "title": title or mail_text("mail.title", language),
    }
    what = mail_text(f"mail.reminder.{event}.what", language).format(**fill)
    body = mail_text("mail.reminder.body", language).format(name=name or account, what=what, contact=contact)
    return mail_text(f"mail.reminder.{event}.subject", language).format(**fill), body


# --- alerts: failed attempts (kiosk.backend.notices.Notices.alert) -----------------------------

#: Not a change: someone failed to prove they are the person often enough that
#: the kiosk stopped verifying the account. Sent at most once a day per kind.
_ALERTS: dict[str, tuple[str, str]] = {
    "alert_locked": (
        "Failed attempts to verify as you at the password kiosk",
        "Someone failed {failures} times to prove they are you ({account}) at the self-service kiosk, "
        "so it stops verifying your account until {until}. If it was you, try again after that, "
        "or call the helpdesk.",
    ),
    "alert_held": (
        "The password kiosk stopped verifying your account",
        "Someone failed {failures} times in a row to prove they are you ({account}) at the self-service "
        "kiosk, so it no longer verifies your account until the helpdesk clears it. If it was you, "
        "call the helpdesk.",
    ),
}

_ALERT_BODY = """Hello {name},

{what}

When:      {when}
Where:     terminal {terminal}
Reference: {reference}

Nothing was changed on your account.
If it was not you, someone who knows your user name tried to answer for you: {contact},
and quote the reference above.

This message was sent automatically; replies are not read.
It never contains a password, a code or an answer, and nobody will ever ask you for one by mail.
"""


def compose_alert(
    event: str, *, account: str, name: str, when: datetime, terminal: str, failures: int,
    until: datetime | None, reference: str, contact: str, language: str = SOURCE_LANGUAGE,
) -> tuple[str, str]:
    """(subject, body) of the alert ``event`` (one of ``ALERT_EVENTS``) in ``language``."""
    what = mail_text(f"mail.alert.{event}.what", language).format(
        account=account, failures=failures, until=_shown_time(until) if until is not None else "",
    )
    body = mail_text("mail.alert.body", language).format(
        name=name or account, what=what, when=_shown_time(when),
        terminal=terminal or mail_text("mail.terminal_unknown", language), reference=reference or "-",
        contact=contact,
    )
    return mail_text(f"mail.alert.{event}.subject", language), body


# --- the catalogue's entries --------------------------------------------------------------------

#: The events that send a notice (only when they succeeded), and the reminders.
NOTICE_EVENTS: frozenset[str] = frozenset(_NOTICES)
REMINDER_EVENTS: frozenset[str] = frozenset(_REMINDERS)
ALERT_EVENTS: frozenset[str] = frozenset(_ALERTS)

#: The settings a mail quotes whose built-in English default is translated
#: like the mail's own words (``mail.contact``, ``reminders.kiosk_location``,
#: ``kiosk.title``): a changed one is sent as written, a table by language
#: (``contact.fr = "…"``) in the mail's language.
SETTING_DEFAULTS: dict[str, str] = {
    "mail.contact": "contact the IT helpdesk right away",
    "mail.kiosk_location": "ask the IT helpdesk where to find it",
    "mail.title": "Password self-service",
}

#: Every mail text by its catalogue key (``msgctxt``), in English.
MAIL_TEXTS: dict[str, str] = {
    **{f"mail.notice.{event}.{part}": text for event, pair in _NOTICES.items() for part, text in zip(("subject", "what"), pair, strict=True)},
    "mail.notice.body": _BODY,
    "mail.notice.operator": "an operator",
    "mail.terminal_unknown": "unknown",
    "mail.code.subject": _CODE_SUBJECT,
    "mail.code.body": _CODE_BODY,
    **{f"mail.reminder.{event}.{part}": text for event, pair in _REMINDERS.items() for part, text in zip(("subject", "what"), pair, strict=True)},
    "mail.reminder.body": _REMINDER_BODY,
    "mail.reminder.soon": "soon",
    **{f"mail.alert.{event}.{part}": text for event, pair in _ALERTS.items() for part, text in zip(("subject", "what"), pair, strict=True)},
    "mail.alert.body": _ALERT_BODY,
    **SETTING_DEFAULTS,
}


def mail_text(key: str, language: str = SOURCE_LANGUAGE) -> str:
    """The mail text ``key`` in ``language``: its translation, else English."""
    english = MAIL_TEXTS[key]
    found = catalogue(language)
    if found is None:
        return english
    return found.pgettext(key, english) or english


def setting_in(value: str | dict[str, str], key: str, language: str) -> str:
    """A setting a mail quotes (``mail.contact``, ``reminders.kiosk_location``)
    in ``language``: from its table by language; else as written, unless it is
    still the built-in default (``SETTING_DEFAULTS[key]``), which is translated."""
    if isinstance(value, dict):
        return value.get(language) or value.get(SOURCE_LANGUAGE) or next(iter(value.values()), "")
    return mail_text(key, language) if value == SETTING_DEFAULTS[key] else value


def _shown_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
