"""Enumeration: what the screens receive is the same for an unknown person, an
unenrolled one, an ineligible one and an enrolled one with wrong answers, up to
the final result. (Timing: bench/enumeration.py; no timing asserts here.)"""

from __future__ import annotations

import pytest

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import KioskError, VerificationFailed
from kiosk.backend.questions import GroupStep, SingleStep
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.messages import error_text
from support import fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),  # enrolled
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),  # not enrolled
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44", groups=("CN=Domain Admins,CN=Users,DC=demo,DC=example",)),
    DemoUser("dave", "Dave", "Off", "Demo!Dave55", enabled=False),
)
PEOPLE = {"unknown": "zed", "unenrolled": "bob", "ineligible (admin)": "dana", "ineligible (disabled)": "dave",
          "enrolled, wrong answers": "alice"}


@pytest.fixture
def service(tmp_path):
    service = build_service(fast(demo_settings(tmp_path)), directory=DemoDirectory(USERS))
    visit = service.begin("alice", "setup")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")])
    yield service
    service.close()


def _shape(service, questions) -> list[tuple]:
    """Per question: which step it belongs to and what the answer field allows."""
    step_of = {}
    for index, step in enumerate(service.questionnaire.steps):
        for q in (step.question,) if isinstance(step, SingleStep) else step.choices:
            step_of[q.id] = (index, "single" if isinstance(step, SingleStep) else "group")
    assert all(isinstance(s, (SingleStep, GroupStep)) for s in service.questionnaire.steps)
    return [(step_of[q.id], q.min_length, q.max_length, q.case_sensitive) for q in questions]


def test_every_kind_of_person_sees_the_same_screens_and_the_same_refusal(service):
    seen = {}
    for kind, name in PEOPLE.items():
        visit = service.begin(name, "tty1")
        questions = service.challenge(visit)
        assert len({q.id for q in questions}) == len(questions) == service.questionnaire.answers_needed
        with pytest.raises(KioskError) as refusal:
            service.verify(visit, ["Atlantis", "Nobody", "Nowhere Lane"])
        error = refusal.value
        seen[kind] = (_shape(service, questions), type(error), error.code, str(error), error_text(error))
    first = next(iter(seen.values()))
    assert all(value == first for value in seen.values()), seen
    assert first[1] is VerificationFailed


def test_the_same_name_gets_the_same_questions_every_time(service):
    for name in PEOPLE.values():
        asked = {tuple(q.id for q in service.challenge(service.begin(name, "tty1"))) for _ in range(3)}
        assert len(asked) == 1, name


def test_the_audit_log_tells_them_apart_but_the_person_cannot(service, tmp_path):
    from kiosk.backend.audit import read_events

    for name in PEOPLE.values():
        visit = service.begin(name, "tty1")
        service.challenge(visit)
        with pytest.raises(VerificationFailed):
            service.verify(visit, ["a", "b", "c"])
    reasons = [e["reason"] for e in read_events(tmp_path / "audit.jsonl") if e["event"] == "verify"]
    assert reasons[0] == "unknown user" and reasons[1] == "not enrolled"
    assert reasons[2].startswith("ineligible") and reasons[3].startswith("ineligible")
    assert reasons[4] == "wrong answers"
