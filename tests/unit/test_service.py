"""SelfService: the rules of a visit, as people meet them (demo directory, real store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import (
    AnswerRejected,
    InvalidCredentials,
    NotAllowed,
    PasswordRejected,
    Throttled,
    VerificationFailed,
)
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from support import fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("carol", "Carol", "Clark", "Demo!Carol3"),
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44", groups=("CN=Domain Admins,CN=Users,DC=demo,DC=example",)),
)
ALICE_ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory(USERS)


@pytest.fixture
def service(workdir, directory) -> SelfService:
    return build_service(fast(demo_settings(workdir)), directory=directory)


def enroll(service: SelfService, name: str, password: str, answers=ALICE_ANSWERS) -> None:
    visit = service.begin(name, "tty1")
    service.prove_password(visit, password)
    service.enroll(visit, answers)


def audit_events(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "audit.jsonl").read_text().splitlines()]


def test_an_enrolled_person_answers_and_unlocks(service, directory):
    enroll(service, "alice", "Demo!Alice1")
    directory.lock_out("alice")
    visit = service.begin("DEMO\\alice", "tty1")
    questions = service.challenge(visit)
    assert [q.id for q in questions] == ["birth-city", "first-pet", "first-school"]
    service.verify(visit, ["  paris ", "REX", "hillside"])
    assert service.unlock(visit) == "DEMO\\alice"
    assert not directory.refresh(visit.account).locked


def test_wrong_answers_say_nothing_about_which_was_wrong(service):
    enroll(service, "alice", "Demo!Alice1")
    visit = service.begin("alice", "tty1")
    service.challenge(visit)
    with pytest.raises(VerificationFailed) as failure:
        service.verify(visit, ["Paris", "Rex", "wrong"])
    assert str(failure.value) == "verification_failed"
    with pytest.raises(NotAllowed):
        service.unlock(visit)


def test_unknown_unenrolled_and_privileged_people_get_decoys_of_the_same_shape(service):
    enroll(service, "alice", "Demo!Alice1")
    shapes = {}
    for name in ("alice", "nobody", "carol", "dana"):
        visit = service.begin(name, "tty1")
        shapes[name] = [type(q).__name__ for q in service.challenge(visit)]
        with pytest.raises(VerificationFailed):
            service.verify(visit, ["a", "b", "c"])
    assert len({len(s) for s in shapes.values()}) == 1


def test_decoys_are_stable_for_a_name_however_it_is_typed(service):
    asked = {
        tuple(q.id for q in service.challenge(service.begin(typed, "tty1")))
        for typed in ("zed", "ZED", "DEMO\\zed", "zed@demo.example")
    }
    assert len(asked) == 1


def test_the_same_number_of_answers_is_hashed_for_everyone(service, monkeypatch):
    enroll(service, "alice", "Demo!Alice1")
    calls = []
    hasher = service._hasher
    monkeypatch.setattr(hasher, "verify", lambda *a: calls.append("real") or False)
    monkeypatch.setattr(hasher, "decoy_verify", lambda *a: calls.append("decoy") or False)
    for name in ("alice", "nobody"):
        calls.clear()
        visit = service.begin(name, "tty1")
        service.challenge(visit)
        with pytest.raises(VerificationFailed):
            service.verify(visit, ["x"])  # too few answers: still every question is hashed
        assert len(calls) == 3


def test_enrollment_needs_the_current_password(service):
    visit = service.begin("alice", "tty1")
    with pytest.raises(InvalidCredentials):
        service.prove_password(visit, "not-it")
    with pytest.raises(NotAllowed):
        service.enroll(visit, ALICE_ANSWERS)


def test_an_unknown_person_gets_the_same_refusal_as_a_wrong_password(service):
    visit = service.begin("nobody", "tty1")
    with pytest.raises(InvalidCredentials):
        service.prove_password(visit, "whatever")


def test_a_privileged_account_cannot_enroll_even_with_its_password(service):
    # The same answer as a wrong password (no oracle, no bind): test_bypasses.py.
    visit = service.begin("dana", "tty1")
    with pytest.raises(InvalidCredentials):
        service.prove_password(visit, "Demo!Dana44")


def test_enrollment_rules_are_explained(service):
    visit = service.begin("alice", "tty1")
    service.prove_password(visit, "Demo!Alice1")
    with pytest.raises(AnswerRejected):
        service.check_answer(visit, "first-pet", "alice")
    with pytest.raises(AnswerRejected):
        service.enroll(visit, [("birth-city", "Paris"), ("first-pet", "Paris"), ("first-school", "Hill")])


def test_re_enrolling_replaces_the_answers(service):
    enroll(service, "alice", "Demo!Alice1")
    enroll(service, "alice", "Demo!Alice1", [("birth-city", "Rome"), ("first-pet", "Tom"), ("childhood-street", "Elm")])
    visit = service.begin("alice", "tty1")
    assert [q.id for q in service.challenge(visit)] == ["birth-city", "first-pet", "childhood-street"]
    service.verify(visit, ["rome", "tom", "elm"])


def test_reset_sets_a_new_password_and_clears_a_lockout(service, directory):
    enroll(service, "alice", "Demo!Alice1")
    directory.lock_out("alice")
    visit = service.begin("alice", "tty1")
    service.challenge(visit)
    service.verify(visit, ["Paris", "Rex", "Hillside"])
    rules = service.password_rules(visit)
    assert rules.policy.min_length == 8
    assert service.reset_password(visit, "Fresh#Start42") == "DEMO\\alice"
    account = directory.refresh(visit.account)
    assert not account.locked
    directory.verify_password(account, "Fresh#Start42")


def test_a_policy_violating_password_is_explained_and_nothing_changes(service, directory):
    enroll(service, "alice", "Demo!Alice1")
    visit = service.begin("alice", "tty1")
    service.challenge(visit)
    service.verify(visit, ["Paris", "Rex", "Hillside"])
    for weak, reason in (("short1!", "too_short"), ("alllowercase", "not_complex"), ("Alice#2026x", "contains_name")):
        with pytest.raises(PasswordRejected) as rejected:
            service.reset_password(visit, weak)
        assert rejected.value.reason == reason
    directory.verify_password(visit.account, "Demo!Alice1")


def test_one_verification_allows_one_action(service):
    enroll(service, "alice", "Demo!Alice1")
    visit = service.begin("alice", "tty1")
    service.challenge(visit)
    service.verify(visit, ["Paris", "Rex", "Hillside"])
    service.unlock(visit)
    with pytest.raises(NotAllowed):
        service.reset_password(visit, "Fresh#Start42")


def test_guessing_is_throttled_per_account(workdir, directory):
    service = build_service(fast(demo_settings(workdir), throttle={"account_max_failures": 3}), directory=directory)
    enroll(service, "alice", "Demo!Alice1")
    for _ in range(3):
        visit = service.begin("alice", "tty1")
        service.challenge(visit)
        with pytest.raises(VerificationFailed):
            service.verify(visit, ["no", "no", "no"])
    visit = service.begin("alice", "tty1")
    service.challenge(visit)
    with pytest.raises(Throttled):
        service.verify(visit, ["Paris", "Rex", "Hillside"])


def test_unknown_names_are_throttled_like_real_ones(workdir, directory):
    service = build_service(fast(demo_settings(workdir), throttle={"account_max_failures": 2}), directory=directory)
    for _ in range(2):
        visit = service.begin("nobody", "tty1")
        service.challenge(visit)
        with pytest.raises(VerificationFailed):
            service.verify(visit, ["a", "b", "c"])
    visit = service.begin("DEMO\\Nobody", "tty1")
    service.challenge(visit)
    with pytest.raises(Throttled):
        service.verify(visit, ["a", "b", "c"])


def test_the_audit_log_records_outcomes_but_no_secrets_or_unknown_names(service, workdir):
    enroll(service, "alice", "Demo!Alice1")
    visit = service.begin("hunter2-typed-as-name", "tty1")
    service.challenge(visit)
    with pytest.raises(VerificationFailed):
        service.verify(visit, ["Paris", "Rex", "Hillside"])
    text = (workdir / "audit.jsonl").read_text()
    for secret in ("Demo!Alice1", "Paris", "paris", "Hillside", "hunter2"):
        assert secret not in text
    events = audit_events(workdir)
    assert [(e["event"], e["outcome"]) for e in events] == [("enroll", "success"), ("verify", "failure")]
    assert events[1]["account"].startswith("unknown:")
    assert events[1]["reason"] == "unknown user"
