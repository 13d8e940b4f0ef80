"""What the use cases share: their collaborators, a visit, and the common rules.

``SelfService`` (service.py), ``Activation`` (activation.py) and ``Helpdesk``
(helpdesk.py) each subclass ``UseCase``: the collaborators of a ``Backend``,
the configured domains and questionnaire, the answer rules, ``_require`` and
``_record`` (an audit entry for a visit). Nothing here opens anything:
``kiosk.backend.wiring`` builds the Backend and the use cases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from kiosk.backend.audit import new_reference
from kiosk.backend.eligibility import check_eligibility
from kiosk.backend.errors import NotAllowed
from kiosk.backend.identity import name_key, parse_identity
from kiosk.backend.model import Account, Eligibility, Enrollment, Identity, Question
from kiosk.backend.questions import Questionnaire, check_answer
from kiosk.i18n import LANGUAGES, SOURCE_LANGUAGE

if TYPE_CHECKING:
    from kiosk.backend.answers import AnswerHasher
    from kiosk.backend.audit import AuditLog
    from kiosk.backend.directory.base import Directory
    from kiosk.backend.notices import Notices
    from kiosk.backend.store.base import EnrollmentStore
    from kiosk.backend.throttle import Attempt, Throttle
    from kiosk.config import Settings

#: The checklist's failed check (``policy.evaluate``) -> PasswordRejected's reason.
#: Samba does not enforce AD's "no account name in the password" rule; we do.
REJECTION_BY_CHECK = {"length": "too_short", "complexity": "not_complex", "name": "contains_name"}

#: The site secret that keys decoy questions and everything derived from a typed name.
DECOY_SECRET = "decoy-questions"


@dataclass(frozen=True)
class Backend:
    """The collaborators every use case works with (``wiring.open_backend`` opens them)."""

    directory: Directory
    store: EnrollmentStore
    hasher: AnswerHasher
    throttle: Throttle
    audit: AuditLog
    #: Mail to the person after each change to their account (None: mail is off).
    notices: Notices | None = None

    def close(self) -> None:
        self.directory.close()
        self.store.close()


@dataclass(eq=False)
class Visit:
    """One person's pass through the kiosk. Opaque to the screens: they hand it
    back to the use case. Its fields say what was proven. What was typed as the
    name (people type passwords there) stays out of its repr, and every key
    and log line made from it goes through ``identity.name_key``."""

    typed_name: str = field(repr=False)
    terminal: str
    #: The helpdesk operator acting for the person, if any (audited).
    operator: str | None = None
    reference: str = field(default_factory=new_reference)
    started_at: float = field(default_factory=time.monotonic)
    account: Account | None = field(default=None, repr=False)
    eligibility: Eligibility = field(default_factory=lambda: Eligibility.refused("unknown user"))
    password_proven: bool = False
    verified: bool = False
    questions: tuple[Question, ...] | None = field(default=None, repr=False)
    enrollment: Enrollment | None = field(default=None, repr=False)
    #: ``identity.name_key`` of the typed name (HMAC under the site secret);
    #: "" until the use case's ``begin`` made it (``UseCase.name_key``).
    name_key: str = field(default="", repr=False)
    #: The language the person reads (picked on the welcome screen): their mails are in it.
    language: str = SOURCE_LANGUAGE

    @property
    def subject(self) -> str:
        """Who the decoys and the throttle are about: the account's objectGUID,
        else the keyed name (never the typed text)."""
        if self.account is not None:
            return self.account.guid
        return self.name_key or "unkeyed"

    @property
    def throttle_key(self) -> str:
        if self.account is not None:
            return f"account:{self.account.guid}"
        return f"name:{self.subject}"

    @property
    def audit_name(self) -> str:
        # People type passwords into the user-name field: unknown names are
        # logged only as their keyed digest, which still correlates repeated tries.
        if self.account is not None:
            return self.account.qualified_name
        return f"unknown:{self.subject[:16]}"


class UseCase:
    """The base of the three use cases: collaborators, domains, questionnaire,
    answer rules, ``_require`` and ``_record``."""

    def __init__(
        self, settings: Settings, backend: Backend, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._settings = settings
        self._backend = backend
        self._directory = backend.directory
        self._store = backend.store
        self._hasher = backend.hasher
        self._throttle = backend.throttle
        self._audit = backend.audit
        self._clock = clock
        self._domains = tuple((d.netbios, d.dns) for d in settings.directory.domains)
        self.default_domain = settings.directory.effective_default_domain
        self.questionnaire = Questionnaire.from_settings(settings.questions)

    @property
    def backend(self) -> Backend:
        """The collaborators, for use cases that share them (``Activation``)."""
        return self._backend

    def _identity(self, typed_name: str) -> Identity | None:
        """Who ``typed_name`` names in the configured domains (None: nobody it could be)."""
        return parse_identity(typed_name, self._domains, self.default_domain)

    def name_key(self, typed_name: str) -> str:
        """The keyed form of a typed name (``identity.name_key`` under the
        site secret ``DECOY_SECRET``): what a Visit's ``name_key`` holds."""
        secret = self._store.site_secret(DECOY_SECRET)
        return name_key(secret, typed_name, self._domains, self.default_domain)

    def check_answer(
        self, visit: Visit, question_id: str, answer: str, earlier_answers: Sequence[str] = ()
    ) -> None:
        """One answer against the enrollment rules (AnswerRejected says why)."""
        question = self.questionnaire.questions[question_id]
        names = visit.account.name_parts() if visit.account else ()
        check_answer(
            question,
            answer,
            earlier_answers=earlier_answers,
            account_names=tuple(dict.fromkeys((*names, visit.typed_name))),
        )

    def _account_eligibility(self, account: Account) -> Eligibility:
        """The one eligibility rule every use case applies: the configured rules,
        with the helpdesk's operators counted as privileged."""
        return check_eligibility(
            account, self._settings.eligibility, operator_groups=self._settings.helpdesk.operator_groups
        )

    @staticmethod
    def _require(condition: bool, reason: str) -> None:
        if not condition:
            raise NotAllowed(reason)

    def _record(self, event: str, outcome: str, visit: Visit, *, reason: str = "", **fields) -> None:
        self._audit.record(
            event,
            outcome=outcome,
            account=visit.audit_name,
            terminal=visit.terminal,
            operator=visit.operator,
            reason=reason,
            reference=visit.reference,
            **fields,
        )
        # A visit of several audited steps (activation) notifies on the step that changed something.
        step = fields.get("step")
        self._notice(f"{event}:{step}" if step else event, outcome, visit.account, terminal=visit.terminal,
                     operator=visit.operator, reference=visit.reference, language=visit.language)

    def _notice(
        self, event: str, outcome: str, account: Account | None, *, terminal: str | None,
        operator: str | None, reference: str | None, language: str | None = None,
    ) -> None:
        """The one place changes become notices (``notices.Notices.after``
        picks the successful change events): called by ``_record`` and by the
        helpdesk's record of its actions. ``language``: the visit's; None (a
        helpdesk action) = the terminals' default."""
        notices = self._backend.notices
        if notices is not None:
            notices.after(
                event, outcome, account, terminal=terminal, operator=operator, reference=reference,
                language=language or self._person_language(account),
            )

    def _failed(self, visit: Visit, attempt: Attempt) -> None:
        """A failed attempt: the throttle's pause. The attempt that locked the
        account (or held it until cleared) also tells its owner by mail, once a
        day at most, before the pause: the pause is counted from the attempt's
        start, so every name, real or not, still answers after the same time."""
        account = visit.account
        if account is not None and (attempt.locks_account or attempt.holds_account):
            notices = self._backend.notices
            if notices is not None:
                throttle = self._settings.throttle
                held = attempt.holds_account
                notices.alert(
                    "alert_held" if held else "alert_locked", account, terminal=visit.terminal,
                    reference=visit.reference,
                    failures=throttle.lifetime_max_failures if held else throttle.account_max_failures,
                    until=None if held else self._clock() + timedelta(seconds=throttle.lock_seconds),
                    language=self._person_language(account),
                )
        self._throttle.failed(attempt)

    def _person_language(self, account: Account | None) -> str:
        """The language of a mail no visit of the person's chose (a helpdesk
        action): the directory's ``preferredLanguage`` if it is shipped, else
        the terminals' default."""
        default = self._settings.kiosk.starting_language
        return account.mail_language(default) if account is not None else default

    @staticmethod
    def _visit_language(language: str) -> str:
        """A language the client names, if it is a shipped one (else English)."""
        return language if language in LANGUAGES else SOURCE_LANGUAGE

    def close(self) -> None:
        self._backend.close()
