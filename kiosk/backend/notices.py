"""Notices: a mail to the person after every change to their account.

``Notices.after`` is called from the one place each use case records an
event (``UseCase._notice``, from ``UseCase._record`` and the helpdesk's
record of its actions). For a successful change event (``notice_texts.
NOTICE_EVENTS``) of an account that has an address, it writes the whole
mail to the store's outbox right then (and a copy for ``mail.security_copy``)
and starts one attempt to send it in a background thread: the visit never
waits for the relay, and never fails because of it. No address: nothing.

``Notices.flush`` (also ``kiosk notify flush``, run by a systemd timer)
claims due notices (a lease in the store: several hosts flushing at once get
disjoint sets), sends them, deletes each one the relay accepted, and gives
the others back for a retry later (the wait doubling from
``mail.retry_seconds``, at most ``MAX_RETRY_SECONDS``). A notice still
unsent ``mail.give_up_days`` after it was written is given up; both are
audited. A sender that dies after the relay accepted a notice but before it
was deleted sends it again once its lease ran out (same Message-ID).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.backend.model import Account, OutboxNotice
from kiosk.backend.notice_texts import ALERT_EVENTS, NOTICE_EVENTS, compose, compose_alert, setting_in
from kiosk.i18n import SOURCE_LANGUAGE

if TYPE_CHECKING:
    from email.message import EmailMessage

    from kiosk.backend.audit import AuditLog
    from kiosk.backend.mail import MailError
    from kiosk.backend.store.base import EnrollmentStore
    from kiosk.config import MailSettings

__all__ = ["FlushResult", "Notices"]

log = logging.getLogger("kiosk.notices")

#: How long a claim holds a batch, beyond the relay's timeout for each of its
#: notices (``Notices.lease_seconds``): a sender still at work keeps it.
LEASE_SECONDS = 120.0
#: The longest wait between two attempts.
MAX_RETRY_SECONDS = 6 * 3600
#: Notices claimed (and sent over one connection) at a time.
BATCH = 50
#: The least time between two alerts of one kind to one person.
ALERT_EVERY_SECONDS = 86400


class Mailer(Protocol):
    def send(self, messages: list[EmailMessage]) -> list[MailError | None]: ...


@dataclass(frozen=True)
class FlushResult:
    sent: int = 0
    retried: int = 0
    given_up: int = 0

    def __add__(self, other: FlushResult) -> FlushResult:
        return FlushResult(self.sent + other.sent, self.retried + other.retried, self.given_up + other.given_up)


class Notices:
    def __init__(
        self,
        settings: MailSettings,
        store: EnrollmentStore,
        audit: AuditLog,
        *,
        mailer: Mailer | None = None,
        clock: Callable[[], datetime] | None = None,
        send_at_once: bool = True,
    ) -> None:
        self.settings = settings
        self._store = store
        self._audit = audit
        self._clock = clock if clock is not None else self._shared_now
        self._send_at_once = send_at_once
        if mailer is None:
            from kiosk.backend.mail import SmtpMailer

            mailer = SmtpMailer(settings)
        self._mailer = mailer
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _shared_now(self) -> datetime:
        """Now by the clock every host sharing the store reads (PostgreSQL's),
        so that due times and claims agree across hosts; else this host's."""
        shared = self._store.shared_time()
        return datetime.now(UTC) if shared is None else datetime.fromtimestamp(shared, UTC)

    @property
    def lease_seconds(self) -> float:
        """How long a claim holds a batch: longer than sending it can take."""
        return LEASE_SECONDS + self.settings.timeout_seconds * (BATCH + 2)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    # --- queueing: at the moment the change is recorded ---------------------------------------

    def after(
        self, event: str, outcome: str, account: Account | None, *, terminal: str | None,
        operator: str | None, reference: str | None, language: str = SOURCE_LANGUAGE,
    ) -> bool:
        """Queue the notice of a change, if it is one and the person has an
        address, in ``language``; True if queued. Never raises: the change is done already."""
        if not self.enabled or outcome != "success" or event not in NOTICE_EVENTS or account is None:
            return False
        if not account.mail:
            return False
        try:
            when = self._clock()
            subject, body = compose(
                event, account=account.qualified_name, name=account.display_name or account.given_name,
                when=when, terminal=terminal or "", operator=operator, reference=reference or "",
                contact=setting_in(self.settings.contact, "mail.contact", language), language=language,
            )
            for notice in self._outbox(event, account, reference, subject, body, when):
                self._store.queue_notice(notice)
        except Exception as exc:  # noqa: BLE001 - a notice must never fail the change it is about
            log.exception("notices: could not queue the notice of %s", event)
            self._audit.record(
                "notice", outcome="error", account=account.qualified_name, terminal=terminal,
                operator=operator, reference=reference, reason=f"not queued: {type(exc).__name__}: {exc}",
                notice_event=event,
            )
            return False
        if self._send_at_once:
            self._send_soon()
        return True

    def alert(
        self, event: str, account: Account, *, terminal: str, reference: str, failures: int,
        until: datetime | None, language: str = SOURCE_LANGUAGE,
    ) -> bool:
        """Tell the person that failed attempts stopped the kiosk verifying
        them (``notice_texts.ALERT_EVENTS``), at most once per ``ALERT_EVERY_SECONDS``
        per kind across hosts (so nobody can fill a mailbox by failing on
        purpose); True if queued. Never raises: the refusal stands either way."""
        if not self.enabled or event not in ALERT_EVENTS or not account.mail:
            return False
        try:
            when = self._clock()
            subject, body = compose_alert(
                event, account=account.qualified_name, name=account.display_name or account.given_name,
                when=when, terminal=terminal, failures=failures, until=until, reference=reference,
                contact=setting_in(self.settings.contact, "mail.contact", language), language=language,
            )
            queued = self._store.claim_reminder(
                account.guid, event, when, ALERT_EVERY_SECONDS,
                self._outbox(event, account, reference, subject, body, when),
            )
        except Exception as exc:  # noqa: BLE001 - an alert must never change the refusal it is about
            log.exception("notices: could not queue the alert %s", event)
            self._audit.record(
                "notice", outcome="error", account=account.qualified_name, terminal=terminal,
                reference=reference, reason=f"not queued: {type(exc).__name__}: {exc}", notice_event=event,
            )
            return False
        if queued and self._send_at_once:
            self._send_soon()
        return queued

    def _outbox(
        self, event: str, account: Account, reference: str | None, subject: str, body: str, when: datetime
    ) -> list[OutboxNotice]:
        """The mail to the person, and its copy for ``mail.security_copy``."""
        domain = self.settings.from_address.rpartition("@")[2] or None
        recipients = [account.mail]
        if self.settings.security_copy and self.settings.security_copy.lower() != account.mail.lower():
            recipients.append(self.settings.security_copy)
        return [
            OutboxNotice(
                id=0, event=event, account=account.qualified_name, reference=reference or "",
                recipient=recipient, message_id=make_msgid("kiosk", domain=domain),
                subject=subject, body=body, created_at=when,
            )
            for recipient in recipients
        ]

    def _send_soon(self) -> None:
        """One flush in a background thread (daemon: a kiosk that exits leaves
        what is unsent to the timer)."""
        thread = threading.Thread(target=self._flush_quietly, name="kiosk-notices", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - the timer will try again
            log.exception("notices: sending right away failed; the timer will try again")

    def wait(self, timeout: float = 30.0) -> None:
        """Wait for the background attempts started so far (tests, a command's end)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    # --- sending: afterwards, with retries ---------------------------------------------------------

    def flush(self, *, limit: int | None = None) -> FlushResult:
        """Send every due notice this sender can claim (at most ``limit``)."""
        total = FlushResult()
        while limit is None or total.sent + total.retried + total.given_up < limit:
            batch = BATCH if limit is None else min(BATCH, limit - (total.sent + total.retried + total.given_up))
            claim = secrets.token_hex(16)
            claimed = self._store.claim_notices(claim, self._clock(), self.lease_seconds, batch)
            if not claimed:
                break
            total = total + self._send(claim, claimed)
        return total

    def _send(self, claim: str, claimed: list[OutboxNotice]) -> FlushResult:
        from kiosk.backend.mail import MailError, message_of

        messages = [message_of(notice, self.settings.from_address) for notice in claimed]
        try:
            results: list[MailError | None] = list(self._mailer.send(messages))
        except MailError as exc:
            results = [exc] * len(claimed)
        sent = retried = given_up = 0
        for notice, error in zip(claimed, results, strict=True):
            if error is None:
                self._store.notice_done(notice.id, claim)
                self._record(notice, "success", recipient=self._role(notice), attempts=notice.attempts + 1)
                sent += 1
                continue
            now = self._clock()
            if now - notice.created_at >= timedelta(days=self.settings.give_up_days):
                self._store.notice_done(notice.id, claim)
                self._record(
                    notice, "given_up", reason=error.detail, recipient=self._role(notice), attempts=notice.attempts + 1
                )
                given_up += 1
                continue
            wait = min(self.settings.retry_seconds * 2 ** min(notice.attempts, 20), MAX_RETRY_SECONDS)
            self._store.notice_failed(notice.id, claim, now + timedelta(seconds=wait), error.detail)
            if notice.attempts == 0:  # the first failure is audited; the last one is (given up)
                self._record(notice, "retry", reason=error.detail, recipient=self._role(notice), retry_in_seconds=wait)
            retried += 1
        return FlushResult(sent, retried, given_up)

    def _role(self, notice: OutboxNotice) -> str:
        """Who a notice went to, for the audit, without the address itself."""
        copy = self.settings.security_copy
        return "security copy" if copy and notice.recipient.lower() == copy.lower() else "person"

    def _record(self, notice: OutboxNotice, outcome: str, *, reason: str = "", **fields: Any) -> None:
        self._audit.record(
            "notice", outcome=outcome, account=notice.account, reference=notice.reference, reason=reason,
            notice_event=notice.event, **fields,
        )

