"""Administrative operations on enrollments and questions (the CLI puts a face on them)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


from kiosk.backend.audit import AuditLog
from kiosk.backend.errors import ConfigError, StoreError
from kiosk.backend.questions import Questionnaire
from kiosk.backend.store.base import EnrollmentStore
from kiosk.config import QuestionsSettings

__all__ = [
    "EnrollmentStatus",
    "enrollment_status",
    "export_questions",
    "import_questions",
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


# --- questions as TOML ---------------------------------------------------------------


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def export_questions(settings: QuestionsSettings) -> str:
    """The questions and questionnaire as a ``[questions]`` section of kiosk.toml."""
    lines = [
        "# Security questions for the kiosk: paste into kiosk.toml, or `kiosk questions import`.",
        "# A question's id is its identity: edit the text freely, but a new id is a new question.",
        "",
        "[questions]",
        f"min_remaining_to_verify = {settings.min_remaining_to_verify}",
    ]
    for q in settings.questions:
        lines += ["", "[[questions.questions]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in dataclasses.asdict(q).items()]
    for step in settings.questionnaire:
        lines += ["", "[[questions.questionnaire]]"]
        if step.question is not None:
            lines.append(f"question = {_toml_value(step.question)}")
        else:
            assert step.group is not None
            lines.append(f"group = {_toml_value(step.group)}")
            lines.append(f"pick = {step.pick}")
            lines.append(f"choose_from = {_toml_value(step.choose_from)}")
    return "\n".join(lines) + "\n"


def import_questions(text: str) -> QuestionsSettings:
    """Read questions exported by ``export_questions`` (a ``[questions]``
    section, or the same keys at the top level); ConfigError names any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"questions: not valid TOML: {exc}") from None
    section: Any = data
    if isinstance(data.get("questions"), Mapping):
        extra = sorted(set(data) - {"questions"})
        if extra:
            raise ConfigError(f"questions: unexpected top-level key(s) {', '.join(extra)}; only [questions]")
        section = data["questions"]
    from kiosk.config.validation import validate

    return validate(QuestionsSettings, section, "questions")
