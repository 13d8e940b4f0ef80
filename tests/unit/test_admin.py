"""Admin operations: revoke, status reports, and questions in and out as TOML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.backend.admin import (
    EnrollmentStatus,
    enrollment_status,
    revoke,
)
from kiosk.backend.audit import AuditLog, read_events
from kiosk.config.questions_file import export_questions, import_questions
from kiosk.backend.errors import ConfigError, StoreError
from kiosk.backend.model import Enrollment, StoredAnswer
from kiosk.backend.questions import Questionnaire
from kiosk.backend.store.sqlite import SqliteStore
from kiosk.config import AuditSettings, QuestionnaireStep, QuestionSettings, QuestionsSettings

GUID = "0b6d1c5e-2f2a-4c3e-9a51-6f1d2f5d7e10"
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def enrollment(*ids: str) -> Enrollment:
    return Enrollment(GUID, "CORP\\ada", tuple(StoredAnswer(i, "text", "$argon2id$h") for i in ids), WHEN)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "kiosk.db")
    yield s
    s.close()


@pytest.fixture
def audit(tmp_path):
    return AuditLog(AuditSettings(file=tmp_path / "audit.jsonl"))


# --- revoke ----------------------------------------------------------------------------


def test_revoking_removes_the_enrollment_and_audits_who_did_it(store, audit):
    store.put(enrollment("birth-city", "first-pet", "first-school"))
    assert revoke(store, audit, GUID, "helpdesk:bob", "KIOSK\\alice") is True
    assert store.get(GUID) is None
    [event] = read_events(audit.path)
    assert (event["event"], event["outcome"], event["account"], event["operator"]) == (
        "revoke", "success", "KIOSK\\alice", "helpdesk:bob",
    )
    assert event["fields"]["guid"] == GUID


def test_revoking_someone_not_enrolled_says_so_and_is_audited(store, audit):
    assert revoke(store, audit, GUID, operator="root") is False
    assert [e["outcome"] for e in read_events(audit.path)] == ["not_enrolled"]


def test_a_store_failure_during_revoke_is_raised_and_audited(store, audit):
    store.close()
    with pytest.raises(StoreError):
        revoke(store, audit, GUID, operator="root")
    assert [e["outcome"] for e in read_events(audit.path)] == ["error"]


# --- status ----------------------------------------------------------------------------


def test_status_of_a_complete_enrollment(store):
    q = Questionnaire.from_settings(QuestionsSettings())
    store.put(enrollment("birth-city", "first-pet", "first-school"))
    store.mark_used(GUID, datetime(2024, 6, 1, tzinfo=UTC))
    status = enrollment_status(store, q, GUID)
    assert status == EnrollmentStatus(
        state="enrolled",
        enrolled_at=WHEN,
        last_used_at=datetime(2024, 6, 1, tzinfo=UTC),
        question_ids=("birth-city", "first-pet", "first-school"),
        account_name="CORP\\ada",
        can_verify=True,
    )


def test_status_of_someone_not_enrolled(store):
    q = Questionnaire.from_settings(QuestionsSettings())
    assert enrollment_status(store, q, GUID).state == "not_enrolled"


def test_status_is_partial_when_a_question_was_removed(store):
    defaults = QuestionsSettings()
    trimmed = QuestionsSettings(
        questions=[q for q in defaults.questions if q.id != "first-school"],
        questionnaire=[
            QuestionnaireStep(question="birth-city"),
            QuestionnaireStep(group="Memories", pick=2, choose_from=["first-pet", "childhood-street", "first-concert"]),
        ],
    )
    store.put(enrollment("birth-city", "first-pet", "first-school"))
    status = enrollment_status(store, Questionnaire.from_settings(trimmed), GUID)
    assert status.state == "partial"
    assert status.can_verify is False


# --- questions as TOML ------------------------------------------------------------------


def test_the_default_questions_survive_export_and_import():
    defaults = QuestionsSettings()
    text = export_questions(defaults)
    assert "[[questions.questions]]" in text
    assert import_questions(text) == defaults


def test_import_also_takes_the_keys_at_the_top_level():
    text = """
min_remaining_to_verify = 1
[[questions]]
id = "pet"
text = "Your first pet?"
[[questionnaire]]
question = "pet"
"""
    got = import_questions(text)
    assert [q.id for q in got.questions] == ["pet"]
    assert got.min_remaining_to_verify == 1


@pytest.mark.parametrize(
    "text, words",
    [
        ("[questions\n", "not valid TOML"),
        ('[[questions.questions]]\nid = "Bad Id"\ntext = "Hello?"\n[[questions.questionnaire]]\nquestion = "x"',
         "questions.0.id"),
        ('[[questions.questions]]\nid = "a"\ntext = "Hello?"\n[[questions.questionnaire]]\nquestion = "b"',
         "unknown question id(s): b"),
        ('[[questions.questions]]\nid = "a"\ntext = "Hello?"\ncolour = "red"\n'
         '[[questions.questionnaire]]\nquestion = "a"', "colour: unknown key"),
        ('[[questions.questions]]\nid = "a"\ntext = "Hello?"\n[[questions.questionnaire]]\n'
         'group = "G"\npick = 2\nchoose_from = ["a"]', "picks 2 but choose_from lists 1"),
        ('[questions]\n[kiosk]\ntitle = "x"', "unexpected top-level key(s) kiosk"),
    ],
)
def test_a_bad_questions_file_is_refused_naming_the_problem(text, words):
    with pytest.raises(ConfigError) as caught:
        import_questions(text)
    assert words in caught.value.detail


_texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=3, max_size=40
)


@given(texts=st.lists(_texts, min_size=1, max_size=4), case=st.booleans())
@settings(max_examples=60, deadline=None)
def test_any_question_text_survives_the_round_trip(texts, case):
    questions = [
        QuestionSettings(id=f"q{i}", text=t, case_sensitive=case, min_length=1, max_length=500)
        for i, t in enumerate(texts)
    ]
    original = QuestionsSettings(
        questions=questions,
        questionnaire=[QuestionnaireStep(group='G "quoted" \\ group', pick=1, choose_from=[q.id for q in questions])],
    )
    assert import_questions(export_questions(original)) == original
