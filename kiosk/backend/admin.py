"""Administrative operations on enrollments and questions (the CLI puts a face on them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


from kiosk.backend.audit import AuditLog
from kiosk.backend.errors import StoreError
from kiosk.backend.questions import Questionnaire
from kiosk.backend.store.base import EnrollmentStore
from kiosk.config import QuestionsSettings

__all__ = [
    "EnrollmentStatus",
    "enrollment_status",
    "revoke",
]

State = Literal["enrolled", "partial", "not_enrolled"]


@dataclass(frozen=True)
class EnrollmentStatus:
    """``partial``: enrolled, but questions were removed or the questionnaire
    changed shape since; the person should enroll again (``can_verify`` says
    whether they still can verify with what remains)."""

    state: State
    enrolled_at: datetime | None = None
    last_used_at: datetime | None = None
    question_ids: tuple[str, ...] = ()
    account_name: str = ""
    can_verify: bool = False


def revoke(
    store: EnrollmentStore, audit: AuditLog, account_guid: str, operator: str, account_name: str = ""
) -> bool:
    """Remove a person's enrollment; True if there was one. Always audited."""
    who = account_name or account_guid
    try:
        removed = store.delete(account_guid)
    except StoreError as exc:
        audit.record("revoke", outcome="error", account=who, operator=operator, reason=exc.detail)
        raise
    audit.record(
        "revoke",
        outcome="success" if removed else "not_enrolled",
        account=who,
        operator=operator,
        guid=account_guid,
    )
    return removed


def enrollment_status(store: EnrollmentStore, questionnaire: Questionnaire, guid: str) -> EnrollmentStatus:
    enrollment = store.get(guid)
    if enrollment is None:
        return EnrollmentStatus("not_enrolled")
    partial = questionnaire.needs_reenrollment(enrollment)
    return EnrollmentStatus(
        state="partial" if partial else "enrolled",
        enrolled_at=enrollment.enrolled_at,
        last_used_at=enrollment.last_used_at,
        question_ids=tuple(a.question_id for a in enrollment.answers),
        account_name=enrollment.account_name,
        can_verify=questionnaire.challenge_for(enrollment) is not None,
    )
