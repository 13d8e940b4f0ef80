"""The words of the notices sent after a change to an account (``kiosk.backend.notices``).

One entry per audited change event: its subject and the sentence that says
what happened. A notice never holds a password, a code or an answer: it is
made from the event, the time, the terminal, the operator and the reference
alone (``compose`` takes nothing else). Plain text, one language, kept here
rather than in ``kiosk.messages`` because the backend imports no UI module.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: event (``event:step`` for a visit of several audited steps) -> (subject,
#: what happened). Only these events send a notice, and only when they succeeded.
NOTICE_EVENTS: dict[str, tuple[str, str]] = {
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
    reference: str, contact: str,
) -> tuple[str, str]:
    """(subject, body) of the notice for ``event`` (one of ``NOTICE_EVENTS``)."""
    subject, what = NOTICE_EVENTS[event]
    shown_when = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = _BODY.format(
        name=name or account,
        what=what.format(account=account, operator=operator or "an operator"),
        when=shown_when,
        terminal=terminal or "unknown",
        reference=reference or "-",
        contact=contact,
    )
    return subject, body
