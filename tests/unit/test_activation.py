"""Account activation as people meet it, on the demo directory (erin is new:
never logged on, pwdLastSet=0, employeeID E2001, random password nobody knows).

The proof is an issued activation code plus, here, the employeeID as the
optional additional proof; tests/unit/test_bypasses.py has the code's own story."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kiosk.backend.activation import Activation, ActivationVisit, normalise_proof
from kiosk.backend.wiring import build_activation
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import (
    ActivationIncomplete,
    AnswerRejected,
    DirectoryUnavailable,
    NotAllowed,
    PasswordRejected,
    StoreError,
    Throttled,
    VerificationFailed,
)
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.config import ActivationSettings
from kiosk.config.validation import validate
from support import fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1", attributes={"employeeID": "E1"}),
    DemoUser("erin", "Erin", "Early", "", never_logged_on=True,
             attributes={"employeeID": "E2001", "department": "Demo"}),
    DemoUser("fred", "Fred", "Fresh", "", never_logged_on=True),  # no employeeID
    DemoUser("gail", "Gail", "Gone", "", never_logged_on=True, enabled=False, attributes={"employeeID": "E3"}),
    DemoUser("hank", "Hank", "Admin", "", never_logged_on=True, attributes={"employeeID": "E4"},
             groups=("CN=Domain Admins,CN=Users,DC=demo,DC=example",)),
)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
NEW_PASSWORD = "Fresh#Start-2026"


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory(USERS)


#: The optional additional proof these stories use beside the code.
EMPLOYEE_ID = {"proof": [{"attribute": "employeeID", "label": "Employee ID"}]}
LABELS = ("Activation code", "Employee ID")


def settings_for(workdir: Path, **activation):
    activation = {**EMPLOYEE_ID, **activation}
    sections = {"features": {"activate": True}}
    settings = fast(demo_settings(workdir), **sections)
    if activation:
        validated = validate(ActivationSettings, activation, "test")  # unknown keys refused, defaults filled
        settings = dataclasses.replace(settings, activation=validated)
    return settings


@pytest.fixture
def activation(tmp_path, directory) -> Activation:
    return build_activation(settings_for(tmp_path), directory=directory)


def snapshot(directory: DemoDirectory, sam: str):
    entry = next(e for e in directory._entries.values() if e.account.sam == sam)
    return (entry.account, dict(entry.account.attributes), list(entry.digests), entry.failures, entry.locked_at)


def audit(workdir: Path) -> list[dict]:
    path = workdir / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def issue(activation: Activation, name: str = "erin") -> str:
    from kiosk.backend.model import Identity

    account = activation.backend.directory.find_account(Identity(name, "DEMO", sam=name))
    return activation.issue_code(account, "admin")[0]


def proven(activation: Activation, name: str = "erin", values=("E2001",), code: str | None = None) -> ActivationVisit:
    code = code or issue(activation, name)
    visit = activation.begin(name, "tty1")
    assert activation.proof_labels(visit) == LABELS
    activation.prove(visit, [code, *values])
    return visit


def test_erin_activates_then_signs_in_and_unlocks_with_her_answers(tmp_path, activation, directory):
    visit = proven(activation, "erin", [" e 2001 "])  # casefold_nospace by default
    rules = activation.password_rules(visit)
    assert rules.policy.min_length == 8
    assert activation.complete(visit, ANSWERS, NEW_PASSWORD) == "DEMO\\erin"

    erin = directory.refresh(visit.account)
    directory.verify_password(erin, NEW_PASSWORD)  # the password she chose works
    assert directory.read_attributes(erin, ["comment"]) == {"comment": ["kiosk-activated"]}
    service = build_service(settings_for(tmp_path), directory=directory)
    again = service.begin("erin", "tty1")
    service.challenge(again)
    service.verify(again, ["paris", "rex", "hillside"])  # enrolled by the activation
    events = [(e["event"], e["outcome"], e["fields"].get("step")) for e in audit(tmp_path)]
    assert events[-1][:2] == ("verify", "success")
    assert ("activate", "success", "complete") in events


def test_a_second_activation_is_refused_like_an_unknown_name(activation):
    activation.complete(proven(activation), ANSWERS, NEW_PASSWORD)
    for name in ("erin", "nobody"):
        visit = activation.begin(name, "tty2")
        assert activation.proof_labels(visit) == LABELS
        with pytest.raises(VerificationFailed):
            activation.prove(visit, ["ABCD-EFGH-JKLM-NPQR", "E2001"])


def test_everyone_who_may_not_activate_gets_the_same_question_and_the_same_failure(tmp_path, activation):
    # alice has logged on; gail is disabled; hank is privileged; zed does not exist.
    for name, value in (("alice", "E1"), ("gail", "E3"), ("hank", "E4"), ("zed", "E5")):
        visit = activation.begin(name, "tty1")
        assert activation.proof_labels(visit) == LABELS
        with pytest.raises(VerificationFailed) as failure:
            activation.prove(visit, ["ABCD-EFGH-JKLM-NPQR", value])
        assert str(failure.value) == "verification_failed"
    reasons = [e["reason"] for e in audit(tmp_path) if e["outcome"] == "failure"]
    assert reasons[0].startswith("ineligible: outside the activation filter")
    assert reasons[1] == "ineligible: account is disabled"
    assert reasons[2].startswith("ineligible: privileged")
    assert reasons[3] == "unknown user"


def test_wrong_values_fail_and_count_like_wrong_answers(tmp_path, directory):
    activation = build_activation(settings_for(tmp_path), directory=directory)
    code = issue(activation)
    before = snapshot(directory, "erin")
    for _ in range(5):
        visit = activation.begin("erin", "tty1")
        activation.proof_labels(visit)
        with pytest.raises(VerificationFailed):
            activation.prove(visit, [code, "E2002"])
    with pytest.raises(Throttled):
        activation.prove(activation.begin("erin", "tty1"), [code, "E2001"])  # even the right values now
    assert snapshot(directory, "erin") == before  # no bad-password bump, nothing written


def test_a_missing_proof_attribute_fails_like_a_wrong_value(tmp_path, activation, directory):
    code = issue(activation, "fred")
    before = snapshot(directory, "fred")
    visit = activation.begin("fred", "tty1")
    assert activation.proof_labels(visit) == LABELS  # no ProofUnavailable: the same question as anyone
    for typed in ("", "E2001"):
        with pytest.raises(VerificationFailed):
            activation.prove(visit, [code, typed])
    event = audit(tmp_path)[-1]
    assert (event["event"], event["outcome"]) == ("activate", "failure")
    assert "employeeID" in event["reason"]
    assert snapshot(directory, "fred") == before


def test_several_proofs_and_exact_matching(tmp_path, directory):
    activation = build_activation(
        settings_for(
            tmp_path,
            proof=[
                {"attribute": "employeeID", "label": "Employee ID", "match": "exact"},
                {"attribute": "department", "label": "Department", "match": "casefold"},
            ],
        ),
        directory=directory,
    )
    code = issue(activation)
    visit = activation.begin("erin", "tty1")
    assert activation.proof_labels(visit) == ("Activation code", "Employee ID", "Department")
    for values in (["e2001", "demo"], ["E2001"], ["E2001", "De mo"], ["E2001 ", "demo"]):
        with pytest.raises(VerificationFailed):
            activation.prove(visit, [code, *values])
    activation.prove(visit, [code.lower().replace("-", " "), "E2001", "  DEMO "])
    assert visit.proven


def test_abandoning_at_any_step_changes_nothing_and_a_new_attempt_works(activation, directory):
    before = snapshot(directory, "erin")
    activation.begin("erin", "tty1")  # after the name
    visit = proven(activation)  # after the identity step
    activation.check_answer(visit, "birth-city", "Paris")  # during the questions
    activation.password_rules(visit)  # at the password screen
    with pytest.raises(PasswordRejected):  # a refused password: nothing written either
        activation.complete(visit, ANSWERS, "short")
    with pytest.raises(AnswerRejected):
        activation.complete(visit, [("birth-city", "erin"), *ANSWERS[1:]], NEW_PASSWORD)
    assert snapshot(directory, "erin") == before
    assert activation.complete(proven(activation), ANSWERS, NEW_PASSWORD) == "DEMO\\erin"


def test_steps_need_the_proof_and_the_time_limit(activation):
    visit = activation.begin("erin", "tty1")
    with pytest.raises(NotAllowed):
        activation.password_rules(visit)
    with pytest.raises(NotAllowed):
        activation.complete(visit, ANSWERS, NEW_PASSWORD)
    visit = proven(activation)
    visit.started_at -= activation.limit_seconds + 1
    with pytest.raises(NotAllowed):
        activation.complete(visit, ANSWERS, NEW_PASSWORD)
    late = activation.begin("erin", "tty1")
    late.started_at -= activation.limit_seconds + 1
    with pytest.raises(NotAllowed):
        activation.prove(late, ["E2001"])


def test_activation_switched_off_is_not_allowed(tmp_path, directory):
    settings = fast(demo_settings(tmp_path), features={"activate": False})
    with pytest.raises(NotAllowed):
        build_activation(settings, directory=directory).begin("erin", "tty1")


def test_activated_meanwhile_elsewhere_is_refused_before_any_write(activation, directory):
    code = issue(activation)
    visit = proven(activation, code=code)
    other = proven(activation, code=code)
    activation.complete(other, ANSWERS, NEW_PASSWORD)
    with pytest.raises(NotAllowed):
        activation.complete(visit, ANSWERS, "Other#Start-2026")
    directory.verify_password(directory.refresh(visit.account), NEW_PASSWORD)  # the first one stands


class Failing(DemoDirectory):
    def __init__(self, *args, fail: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail = fail

    def update_attributes(self, account, changes):
        if self.fail == "marker":
            raise DirectoryUnavailable("injected: DC went away")
        super().update_attributes(account, changes)

    def reset_password(self, account, new_password, *, must_change=False):
        if self.fail == "password":
            raise DirectoryUnavailable("injected: DC went away")
        super().reset_password(account, new_password, must_change=must_change)


@pytest.mark.parametrize("step", ["password", "marker"])
def test_a_failure_at_the_final_step_leaves_the_account_claimable(tmp_path, step):
    directory = Failing(USERS, fail=step)
    activation = build_activation(settings_for(tmp_path), directory=directory)
    code = issue(activation)
    with pytest.raises(ActivationIncomplete) as error:
        activation.complete(proven(activation, code=code), ANSWERS, NEW_PASSWORD)
    # A password written before the failure is replaced by a random one with must-change.
    assert error.value.step == step and error.value.password_set is False
    event = audit(tmp_path)[-1]
    assert (event["outcome"], event["fields"]["step"], event["fields"]["claimable"]) == ("error", step, True)
    assert event["fields"]["code_returned"] is True
    directory.fail = ""
    retry = proven(activation, code=code)  # the same code: it was given back
    if step == "marker":  # the password was set: with history enforced, choosing it again is refused
        with pytest.raises(PasswordRejected):
            activation.complete(retry, ANSWERS, NEW_PASSWORD)
    assert activation.complete(retry, ANSWERS, "Second#Try-2026") == "DEMO\\erin"


def test_a_store_failure_leaves_the_account_claimable(tmp_path, directory, monkeypatch):
    activation = build_activation(settings_for(tmp_path), directory=directory)
    visit = proven(activation)

    def broken(enrollment):
        raise StoreError("injected: disk full")

    monkeypatch.setattr(activation._store, "put", broken)
    with pytest.raises(ActivationIncomplete) as error:
        activation.complete(visit, ANSWERS, NEW_PASSWORD)
    assert error.value.step == "enrollment"
    assert "comment" not in directory.read_attributes(visit.account, ["comment"])
    monkeypatch.undo()
    activation.complete(proven(activation), ANSWERS, "Second#Try-2026")
    assert directory.refresh(visit.account).must_change_password is False


def test_a_locked_account_is_unlocked_by_activation(activation, directory):
    directory.lock_out("erin")
    visit = proven(activation)
    activation.complete(visit, ANSWERS, NEW_PASSWORD)
    assert not directory.refresh(visit.account).locked


def test_extra_updates_are_written_with_the_marker(tmp_path, directory):
    activation = build_activation(
        settings_for(tmp_path, extra_updates={"department": "", "info": "claimed at kiosk"}),
        directory=directory,
    )
    visit = proven(activation)
    activation.complete(visit, ANSWERS, NEW_PASSWORD)
    assert directory.read_attributes(visit.account, ["department", "info", "comment"]) == {
        "info": ["claimed at kiosk"],
        "comment": ["kiosk-activated"],
    }


@pytest.mark.parametrize(
    ("typed", "match", "same"),
    [("AB 1", "exact", "AB 1"), ("ab 1", "casefold", "  AB   1 "), ("ab1", "casefold_nospace", "A B 1")],
)
def test_normalise_proof(typed, match, same):
    assert normalise_proof(typed, match) == normalise_proof(same, match)
