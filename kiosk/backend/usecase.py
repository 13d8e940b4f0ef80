"""What the use cases share: their collaborators, a visit, and the common rules.

``SelfService`` (service.py), ``Activation`` (activation.py) and ``Helpdesk``
(helpdesk.py) each subclass ``UseCase``: the collaborators of a ``Backend``,
the configured domains and questionnaire, the answer rules, ``_require`` and
``_record`` (an audit entry for a visit). Nothing here opens anything:
``kiosk.backend.wiring`` builds the Backend and the use cases.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kiosk.backend.audit import new_reference
from kiosk.backend.errors import NotAllowed
from kiosk.backend.identity import parse_identity
from kiosk.backend.model import Account, Eligibility, Enrollment, Identity, Question
from kiosk.backend.questions import Questionnaire, check_answer

if TYPE_CHECKING:
    from kiosk.backend.answers import AnswerHasher
    from kiosk.backend.audit import AuditLog
    from kiosk.backend.directory.base import Directory
    from kiosk.backend.store.base import EnrollmentStore
    from kiosk.backend.throttle import Throttle
    from kiosk.config import Settings

#: The checklist's failed check (``policy.evaluate``) -> PasswordRejected's reason.
#: Samba does not enforce AD's "no account name in the password" rule; we do.
REJECTION_BY_CHECK = {"length": "too_short", "complexity": "not_complex", "name": "contains_name"}


@dataclass(frozen=True)
class Backend:
    """The collaborators every use case works with (``wiring.open_backend`` opens them)."""

    directory: Directory
    store: EnrollmentStore
    hasher: AnswerHasher
    throttle: Throttle
    audit: AuditLog

    def close(self) -> None:
        self.directory.close()
        self.store.close()


@dataclass(eq=False)
class Visit:
    """One person's pass through the kiosk. Opaque to the screens: they hand it
    back to the use case. It holds no secret; its fields say what was proven."""

    typed_name: str
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

    @property
    def throttle_key(self) -> str:
        if self.account is not None:
            return f"account:{self.account.guid}"
        return f"name:{name_key(self.typed_name)}"

    @property
    def audit_name(self) -> str:
        # People type passwords into the user-name field: never log unknown
        # names in clear, only a digest that still correlates repeated tries.
        if self.account is not None:
            return self.account.qualified_name
        digest = hashlib.sha256(self.typed_name.strip().casefold().encode()).hexdigest()[:12]
        return f"unknown:{digest}"


def name_key(typed: str) -> str:
    """The same key for 'zed', 'DOMAIN\\zed' and 'zed@domain' (decoys, throttle)."""
    text = typed.strip().casefold()
    text = text.rpartition("\\")[2]
    return text.partition("@")[0] if "@" in text else text


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

    def check_answer(
        self, visit: Visit, question_id: str, answer: str, earlier_answers: Sequence[str] = ()
    ) -> None:
        """One answer against the enrollment rules (AnswerRejected says why)."""
        question = self.questionnaire.questions[question_id]
        names = visit.account.name_parts() if visit.account else ()
        typed = name_key(visit.typed_name)
        check_answer(
            question,
            answer,
            earlier_answers=earlier_answers,
            account_names=tuple(dict.fromkeys((*names, typed))),
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

    def close(self) -> None:
        self._backend.close()
