"""Reminders by mail (``kiosk remind``, run by a systemd timer): people who
should come to the kiosk are told so, through the notices' outbox.

Three kinds, each at most once per person per interval (``[reminders]``):

- ``enroll``: an eligible person who has not set up security questions, or
  whose enrollment no longer fits the questionnaire (``admin.enrollment_status``
  says "partial"), every ``enroll_every_days``. Not someone who must change a
  password first (a new account: the kiosk cannot take their password as proof;
  activation is for them). When the person's ``[factors]`` policy also needs an
  authenticator app they have not set up, the one mail asks for both.
- ``factor``: an eligible person whose ``[factors]`` policy for reset or unlock
  (their group's, if it has one) needs an authenticator app (TOTP) they have
  not set up, while nothing they already have would do, every
  ``enroll_every_days`` too. Only a method the kiosk can set up is asked for:
  TOTP with ``features.totp`` on (an e-mailed code needs no setting up; a
  person without an address gets no mail anyway). ``kiosk check`` says when a
  policy needs what nobody can set up.
- ``expiry``: an eligible person whose password expires within
  ``expiry_within_days`` (``Account.password_expires``: AD's constructed
  msDS-UserPasswordExpiryTimeComputed), every ``expiry_every_days``.

Who is eligible is the one rule every use case applies
(``UseCase._account_eligibility``); accounts come from the directory's paged
listing (``Directory.accounts``). The store decides who is due:
``claim_reminder`` moves the person's "last sent" forward and queues the mail
in one transaction, exactly once however many hosts run at the same moment.
The mail itself goes out as every notice does (``Notices.flush``: retried,
audited); the reminder's words are ``notice_texts.REMINDER_EVENTS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from typing import TYPE_CHECKING

from kiosk.backend.admin import enrollment_status
from kiosk.backend.audit import new_reference
from kiosk.backend.dn import dn_key
from kiosk.backend.model import Account, OutboxNotice
from kiosk.backend.notice_texts import compose_reminder, setting_in
from kiosk.backend.usecase import UseCase

if TYPE_CHECKING:
    from kiosk.backend.usecase import Backend
    from kiosk.config import Settings

__all__ = ["KINDS", "Reminder", "RemindResult", "Reminders"]

#: The kinds of reminder, as the store's ``reminder`` table keys them.
KINDS = ("enroll", "expiry", "factor")
#: The actions whose policy a ``factor`` reminder is about (the helpdesk's caller
#: check is not the person's own doing at the kiosk).
SELF_SERVICE_ACTIONS = ("reset", "unlock")
DAY = 86400


@dataclass(frozen=True)
class Reminder:
    """One reminder due to one person."""

    account: str  # DOMAIN\sam
    guid: str
    kind: str  # one of KINDS
    event: str  # notice_texts.REMINDER_EVENTS key
    recipient: str
    expires: datetime | None = None


@dataclass
class RemindResult:
    #: Queued (or, in a dry run, that would be).
    due: list[Reminder] = field(default_factory=list)
    #: Eligible accounts looked at.
    checked: int = 0
    #: Due but already sent within the interval (by this host or another).
    recent: int = 0
    #: Should be reminded but have no mail address.
    no_address: int = 0
    #: Due but over ``max_per_run``: left for the next run.
    held_back: int = 0
    dry_run: bool = False


class Reminders(UseCase):
    def __init__(
        self, settings: Settings, backend: Backend, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(settings, backend, clock=clock if clock is not None else self._shared_now)
        self._config = settings.reminders
        self._mail = settings.mail

    def _shared_now(self) -> datetime:
        """Now by the clock every host sharing the store reads (as the outbox does)."""
        shared = self._store.shared_time()
        return datetime.now(UTC) if shared is None else datetime.fromtimestamp(shared, UTC)

    def every_seconds(self, kind: str) -> float:
        days = self._config.enroll_every_days if kind in ("enroll", "factor") else self._config.expiry_every_days
        return float(days * DAY)

    # --- who -----------------------------------------------------------------------------------

    def to_set_up(self, account: Account, *, questions: bool) -> set[str]:
        """The methods ``account`` should set up at the kiosk so that its policy
        for every self-service action that is on (reset, unlock) is met: for each
        action not met by what the person has (``questions``: enrolled; an
        authenticator in the store; a mail address), the alternative needing the
        fewest methods the kiosk can set up (the first such, in the policy's
        order). An action whose every alternative needs something the kiosk
        cannot set up (an e-mailed code for someone without an address) adds
        nothing: a reminder could not help."""
        have = {"questions"} if questions else set()
        if account.mail:
            have.add("email")
        if self._store.totp(account.guid) is not None:
            have.add("totp")
        features = self._settings.features
        settable = {"questions"} | ({"totp"} if features.totp else set())
        groups = {dn_key(group) for group in account.groups}
        needed: set[str] = set()
        for action in SELF_SERVICE_ACTIONS:
            if not getattr(features, action):
                continue
            alternatives = [set(a) for a in self._settings.factors.alternatives(action, lambda dn: dn_key(dn) in groups)]
            if any(alternative <= have for alternative in alternatives):
                continue
            options = [alternative - have for alternative in alternatives if alternative - have <= settable]
            if options:
                needed |= min(options, key=len)
        return needed

    def wanted(self, account: Account, now: datetime) -> Iterator[Reminder]:
        """The reminders an eligible ``account`` should have now, whenever it last had them."""
        if self._config.enroll_every_days and not account.must_change_password:
            state = enrollment_status(self._store, self.questionnaire, account.guid).state
            # Only an authenticator adds to what today's enroll reminder asks for:
            # no policy naming one, or none to set up, costs no lookup.
            asks_totp = self._settings.features.totp and "totp" in self._settings.factors.methods
            missing = self.to_set_up(account, questions=state == "enrolled") if asks_totp else set()
            if state != "enrolled":
                event = "reminder_enroll" if state == "not_enrolled" else "reminder_reenroll"
                if state == "not_enrolled" and "totp" in missing:
                    event = "reminder_enroll_totp"  # one mail for both
                yield Reminder(account.qualified_name, account.guid, "enroll", event, account.mail)
            if "totp" in missing and state != "not_enrolled":
                yield Reminder(account.qualified_name, account.guid, "factor", "reminder_totp", account.mail)
        expires = account.password_expires
        within = timedelta(days=self._config.expiry_within_days)
        if within and expires is not None and now < expires <= now + within:
            yield Reminder(account.qualified_name, account.guid, "expiry", "reminder_expiry", account.mail, expires)

    # --- one run -------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False, accounts: Iterator[Account] | None = None) -> RemindResult:
        """Queue every reminder due now (at most ``max_per_run``); with
        ``dry_run``, only say which would be, changing nothing."""
        result = RemindResult(dry_run=dry_run)
        now = self._clock()  # one moment for the whole run (and one read of the shared clock)
        for account in accounts if accounts is not None else self._directory.accounts():
            if not self._account_eligibility(account).allowed:
                continue
            result.checked += 1
            for reminder in self.wanted(account, now):
                if not reminder.recipient:
                    result.no_address += 1
                elif dry_run:
                    last = self._store.reminder_sent(reminder.guid, reminder.kind)
                    if last is not None and now - last < timedelta(seconds=self.every_seconds(reminder.kind)):
                        result.recent += 1
                    else:
                        result.due.append(reminder)
                elif len(result.due) >= self._config.max_per_run:
                    result.held_back += 1
                elif self._store.claim_reminder(
                    reminder.guid, reminder.kind, now, self.every_seconds(reminder.kind),
                    [self._reminder_notice(reminder, account, now)],
                ):
                    result.due.append(reminder)
                else:
                    result.recent += 1
        if not dry_run:
            self._audit.record(
                "remind", outcome="success", operator=None,
                queued=len(result.due), recent=result.recent, no_address=result.no_address,
                held_back=result.held_back, checked=result.checked,
                enroll=sum(1 for r in result.due if r.kind == "enroll"),
                expiry=sum(1 for r in result.due if r.kind == "expiry"),
                factor=sum(1 for r in result.due if r.kind == "factor"),
            )
        return result

    def _reminder_notice(self, reminder: Reminder, account: Account, now: datetime) -> OutboxNotice:
        # No visit of the person's asked for it: their directory's language, else the terminals' default.
        language = account.mail_language(self._settings.kiosk.starting_language)
        subject, body = compose_reminder(
            reminder.event, account=account.qualified_name, name=account.display_name or account.given_name,
            where=setting_in(self._config.kiosk_location, "mail.kiosk_location", language),
            contact=setting_in(self._mail.contact, "mail.contact", language), expires=reminder.expires,
            title=setting_in(self._settings.kiosk.title, "mail.title", language), language=language,
        )
        domain = self._mail.from_address.rpartition("@")[2] or None
        return OutboxNotice(
            id=0, event=reminder.event, account=account.qualified_name, reference=new_reference(),
            recipient=reminder.recipient, message_id=make_msgid("kiosk", domain=domain),
            subject=subject, body=body, created_at=now,
        )
