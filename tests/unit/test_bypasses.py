"""The ways around the kiosk's own protections (issue 14), each closed: the
demo directory and a real SQLite store, as the use cases meet them.

1. a temporary password is no proof for enrollment; replacing answers is
   audited; the helpdesk card says whether answers predate the password
3. activation needs an issued, expiring, single-use code; only accounts with
   pwdLastSet=0; a missing attribute looks like a wrong value
6. the helpdesk checks eligibility on every action; a verification expires and
   is used up; operators' accounts must be enabled
7. no password oracle: eligibility before any bind
12. eligibility again right before the directory write
18. a helpdesk reset never hands out a temporary password that does not expire
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import (
    DirectoryError,
    InvalidCredentials,
    NotAllowed,
    PasswordMustChange,
    VerificationFailed,
)
from kiosk.backend.helpdesk import Helpdesk
from kiosk.backend.model import Identity
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from support import fast

ADMINS = "CN=Domain Admins,CN=Users,DC=demo,DC=example"
OPERATORS = "CN=Helpdesk,OU=Groups,DC=demo,DC=example"
USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44", groups=(ADMINS,)),
    DemoUser("olga", "Olga", "Operator", "Demo!Olga55", groups=(OPERATORS,)),
    DemoUser("otto", "Otto", "Offline", "Demo!Otto66", enabled=False, groups=(OPERATORS,)),
)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
SPOKEN = ["paris", "rex", "hillside"]


class ChangingDirectory(DemoDirectory):
    """The demo directory, where a test changes an account behind the kiosk's
    back (disabled, made an admin) and counts the binds."""

    def __init__(self, users=USERS) -> None:
        super().__init__(users)
        self.changes: dict[str, dict] = {}
        self.binds: list[str] = []
        self.nobody_binds = 0

    def change(self, sam: str, **fields) -> None:
        self.changes[sam] = fields

    def _current(self, entry):
        account = super()._current(entry)
        return replace(account, **self.changes.get(account.sam, {}))

    def verify_password(self, account, password):
        self.binds.append(account.sam)
        return super().verify_password(account, password)

    def bind_as_nobody(self, password):
        self.nobody_binds += 1
        return super().bind_as_nobody(password)


@pytest.fixture
def directory() -> ChangingDirectory:
    return ChangingDirectory()


@pytest.fixture
def settings(tmp_path):
    return fast(demo_settings(tmp_path))


@pytest.fixture
def service(settings, directory):
    return build_service(settings, directory=directory)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def helpdesk(settings, service, clock=None, *, operator="olga", password="Demo!Olga55", **rules):
    settings = fast(settings, helpdesk={"operator_groups": [OPERATORS], **rules})
    desk = Helpdesk(
        settings, service.backend, verification=service, operator=operator, terminal="ssh:192.0.2.7",
        monotonic=clock or Clock(),
    )
    desk.authorize(password)
    return desk


def account(directory, sam):
    return directory.find_account(Identity(sam, "DEMO", sam=sam))


def audit(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def enroll(service, name, password, answers=ANSWERS):
    visit = service.begin(name, "tty1")
    service.prove_password(visit, password)
    service.enroll(visit, answers)


def verified(service, name, answers=SPOKEN):
    visit = service.begin(name, "tty1")
    service.challenge(visit)
    service.verify(visit, answers)
    return visit


# --- 1. a temporary password is no lasting reset key ------------------------------------------


def test_a_temporary_password_cannot_enroll_answers(service, directory, tmp_path):
    directory.reset_password(account(directory, "bob"), "Temp#Pass42", must_change=True)
    visit = service.begin("bob", "tty1")
    with pytest.raises(PasswordMustChange):
        service.prove_password(visit, "Temp#Pass42")
    with pytest.raises(NotAllowed):
        service.enroll(visit, ANSWERS)
    assert service.backend.store.get(account(directory, "bob").guid) is None
    event = audit(tmp_path)[-1]
    assert (event["event"], event["outcome"]) == ("enroll", "refused")
    assert "must be changed" in event["reason"]


def test_the_must_change_message_says_what_to_do_instead():
    from kiosk.messages import error_text

    words = error_text(PasswordMustChange("773"))
    assert "help desk" in words and "Reset my password" not in words


def test_replacing_answers_is_audited_as_a_replacement(service, tmp_path):
    enroll(service, "alice", "Demo!Alice1")
    assert audit(tmp_path)[-1]["event"] == "enroll"
    enroll(service, "alice", "Demo!Alice1", [("birth-city", "Rome"), ("first-pet", "Tom"), ("first-school", "Elm")])
    event = audit(tmp_path)[-1]
    assert (event["event"], event["outcome"]) == ("enroll_replace", "success")
    assert event["fields"]["replaced_enrolled_at"]


def test_the_card_says_whether_answers_predate_the_last_password_set(settings, service, directory):
    enroll(service, "alice", "Demo!Alice1")
    desk = helpdesk(settings, service)
    alice = account(directory, "alice")
    assert desk.card(alice).enrolled_before_password_set is False  # enrolled after the password was set
    directory.reset_password(alice, "Fresh#Pass77")
    assert desk.card(alice).enrolled_before_password_set is True
    assert desk.card(account(directory, "bob")).enrolled_before_password_set is None  # not enrolled


def test_a_helpdesk_reset_can_revoke_the_answers_in_the_same_step(settings, service, directory, tmp_path):
    enroll(service, "alice", "Demo!Alice1")
    desk = helpdesk(settings, service)
    alice = account(directory, "alice")
    desk.verify_caller(desk.caller_questions(alice)[0], SPOKEN)
    desk.reset(alice, revoke_answers=True)
    assert service.backend.store.get(alice.guid) is None
    assert [e["event"] for e in audit(tmp_path)[-2:]] == ["helpdesk_reset", "revoke"]


# --- 7. no password oracle for privileged accounts -----------------------------------------------


def test_a_privileged_account_gets_the_wrong_password_answer_without_a_bind(service, directory, tmp_path):
    outcomes = []
    for password in ("Demo!Dana44", "not-it"):
        visit = service.begin("dana", "tty1")
        with pytest.raises(InvalidCredentials) as error:
            service.prove_password(visit, password)
        outcomes.append((type(error.value), str(error.value)))
    unknown = service.begin("nobody", "tty1")
    with pytest.raises(InvalidCredentials) as error:
        service.prove_password(unknown, "whatever")
    outcomes.append((type(error.value), str(error.value)))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert directory.binds == []  # no bind as dana: no lockout count, no oracle
    assert directory.nobody_binds == 3  # but the same directory work as a wrong password
    assert account(directory, "dana").bad_password_count == 0
    assert [e["outcome"] for e in audit(tmp_path)[-3:]] == ["failure", "failure", "failure"]
    assert service.backend.throttle.status(f"account:{account(directory, 'dana').guid}").failures == 2


def test_a_helpdesk_operator_is_refused_at_the_kiosk_like_a_wrong_password(settings, directory):
    """Issue 14 item 5: members of helpdesk.operator_groups count as privileged
    in every use case (the rule is applied in one place, UseCase._eligibility)."""
    kiosk = build_service(fast(settings, helpdesk={"operator_groups": [OPERATORS]}), directory=directory)
    visit = kiosk.begin("olga", "tty1")
    assert not visit.eligibility.allowed
    with pytest.raises(InvalidCredentials):
        kiosk.prove_password(visit, "Demo!Olga55")
    assert directory.binds == []


def test_a_disabled_account_is_refused_like_a_wrong_password(service, directory):
    directory.change("bob", enabled=False)
    visit = service.begin("bob", "tty1")
    with pytest.raises(InvalidCredentials):
        service.prove_password(visit, "Demo!Bob22")
    assert directory.binds == []


# --- 12. eligibility again right before the write --------------------------------------------------


@pytest.mark.parametrize("change", [{"enabled": False}, {"admin_count": True}, {"expired": True}])
@pytest.mark.parametrize("action", ["unlock", "reset"])
def test_an_account_changed_after_verification_is_not_written(service, directory, tmp_path, change, action):
    enroll(service, "alice", "Demo!Alice1")
    visit = verified(service, "alice")
    directory.change("alice", **change)
    with pytest.raises(NotAllowed):
        if action == "unlock":
            service.unlock(visit)
        else:
            service.reset_password(visit, "Brand#New2026")
    directory.changes.clear()
    directory.verify_password(account(directory, "alice"), "Demo!Alice1")  # the password is unchanged
    event = audit(tmp_path)[-1]
    assert (event["event"], event["outcome"]) == (action, "refused")
    assert not visit.verified


# --- 6. the helpdesk does not trust the caller check alone -------------------------------------------


@pytest.mark.parametrize("action", ["unlock", "reset"])
def test_without_verification_the_helpdesk_still_refuses_ineligible_accounts(
    settings, service, directory, tmp_path, action
):
    desk = helpdesk(settings, service, require_verification=False)
    for sam in ("dana",):
        with pytest.raises(NotAllowed):
            getattr(desk, action)(account(directory, sam))
    directory.change("bob", enabled=False)
    with pytest.raises(NotAllowed):
        getattr(desk, action)(account(directory, "bob"))
    directory.changes.clear()
    getattr(desk, action)(account(directory, "bob"))  # eligible: allowed without verification
    refused = [e for e in audit(tmp_path) if e["event"] == f"helpdesk_{action}" and e["outcome"] == "refused"]
    assert [e["account"] for e in refused] == ["DEMO\\dana", "DEMO\\bob"]


def test_one_verification_allows_one_action(settings, service, directory):
    enroll(service, "alice", "Demo!Alice1")
    desk = helpdesk(settings, service)
    alice = account(directory, "alice")
    desk.verify_caller(desk.caller_questions(alice)[0], SPOKEN)
    desk.unlock(alice)
    assert not desk.is_verified(alice)
    with pytest.raises(NotAllowed, match="verify the caller"):
        desk.unlock(alice)


def test_a_verification_expires(settings, service, directory):
    enroll(service, "alice", "Demo!Alice1")
    clock = Clock()
    desk = helpdesk(settings, service, clock, verification_seconds=120)
    alice = account(directory, "alice")
    desk.verify_caller(desk.caller_questions(alice)[0], SPOKEN)
    clock.now += 121
    assert not desk.is_verified(alice)
    with pytest.raises(NotAllowed, match="verify the caller"):
        desk.reset(alice)


def test_a_disabled_operator_is_refused_even_without_a_password(settings, service, directory, tmp_path):
    with pytest.raises(NotAllowed):
        helpdesk(settings, service, operator="otto", password=None, require_operator_password=False)
    assert (audit(tmp_path)[-1]["event"], audit(tmp_path)[-1]["outcome"]) == ("helpdesk_login", "refused")
    no_groups = fast(settings, helpdesk={"require_operator_password": False})
    desk = Helpdesk(no_groups, service.backend, verification=service, operator="otto", terminal="t")
    assert not desk.authorized
    with pytest.raises(NotAllowed):
        desk.authorize(None)


def test_an_operator_disabled_during_the_session_can_no_longer_act(settings, service, directory):
    desk = helpdesk(settings, service, require_verification=False)
    directory.change("olga", enabled=False)
    with pytest.raises(NotAllowed):
        desk.unlock(account(directory, "bob"))
    assert not desk.authorized


# --- 18. a temporary password always expires ------------------------------------------------------------


def test_a_helpdesk_reset_sets_password_and_must_change_together(settings, service, directory):
    desk = helpdesk(settings, service, require_verification=False)
    bob = account(directory, "bob")
    temporary = desk.reset(bob)
    with pytest.raises(PasswordMustChange):
        directory.verify_password(bob, temporary)
    assert directory.refresh(bob).must_change_password


class NoMustChange(ChangingDirectory):
    """A directory whose must-change write does not take (the second of two
    writes failed, or a DC ignores it)."""

    def reset_password(self, account, new_password, *, must_change=False):
        super().reset_password(account, new_password, must_change=False)


def test_a_temporary_password_that_would_not_expire_is_never_handed_out(settings, tmp_path):
    directory = NoMustChange()
    service = build_service(settings, directory=directory)
    desk = helpdesk(settings, service, require_verification=False)
    with pytest.raises(DirectoryError):
        desk.reset(account(directory, "bob"))
    event = audit(tmp_path)[-1]
    assert (event["event"], event["outcome"]) == ("helpdesk_reset", "error")
    assert "must-change" in event["reason"]


# --- 3. activation is not claimed by guessing ------------------------------------------------------------

NEWCOMERS = (
    DemoUser("erin", "Erin", "Early", "", never_logged_on=True, attributes={"employeeID": "E2001"}),
    DemoUser("fred", "Fred", "Fresh", "", never_logged_on=True),  # no employeeID
)


@pytest.fixture
def activation(tmp_path):
    from kiosk.backend.wiring import build_activation

    settings = fast(demo_settings(tmp_path), features={"activate": True})
    return build_activation(settings, directory=ChangingDirectory(NEWCOMERS))


def newcomer(activation, sam):
    return activation.backend.directory.find_account(Identity(sam, "DEMO", sam=sam))


def test_the_employee_id_alone_no_longer_activates(activation):
    visit = activation.begin("erin", "tty1")
    assert activation.proof_labels(visit) == ("Activation code",)
    for guess in ("E2001", "E2000", "E2002"):
        with pytest.raises(VerificationFailed):
            activation.prove(visit, [guess])


def test_an_issued_code_activates_once_and_is_stored_only_as_a_digest(activation, tmp_path):
    erin = newcomer(activation, "erin")
    code, expires_at = activation.issue_code(erin, "root")
    assert len(code.replace("-", "")) == 16
    digest, kept_until, issued_by = activation.backend.store.activation_code(erin.guid)
    assert code.encode() not in digest and kept_until == expires_at and issued_by == "root"
    assert code not in (tmp_path / "audit.jsonl").read_text()
    visit = activation.begin("erin", "tty1")
    activation.prove(visit, [code.lower()])
    activation.complete(visit, ANSWERS, "Fresh#Start-2026")
    assert activation.backend.store.activation_code(erin.guid) is None  # used up
    again = activation.begin("erin", "tty1")
    with pytest.raises(VerificationFailed):
        activation.prove(again, [code])


def test_a_code_expires(activation, tmp_path):
    from datetime import timedelta

    erin = newcomer(activation, "erin")
    code, expires_at = activation.issue_code(erin, "root")
    activation._clock = lambda: expires_at + timedelta(seconds=1)
    with pytest.raises(VerificationFailed):
        activation.prove(activation.begin("erin", "tty1"), [code])
    assert audit(tmp_path)[-1]["reason"] == "no valid activation code"


def test_one_code_cannot_complete_two_visits(activation):
    erin = newcomer(activation, "erin")
    code, _ = activation.issue_code(erin, "root")
    first, second = activation.begin("erin", "tty1"), activation.begin("erin", "tty2")
    activation.prove(first, [code])
    activation.prove(second, [code])
    activation.backend.store.take_activation_code(erin.guid, first.code[0], first.code[1] - timedelta_s(1))
    with pytest.raises(NotAllowed):
        activation.complete(second, ANSWERS, "Fresh#Start-2026")
    directory = activation.backend.directory
    assert directory.refresh(erin).must_change_password  # nothing written


def timedelta_s(seconds):
    from datetime import timedelta

    return timedelta(seconds=seconds)


def test_a_password_someone_set_ends_claimability(activation):
    erin = newcomer(activation, "erin")
    code, _ = activation.issue_code(erin, "root")
    activation.backend.directory.reset_password(erin, "Known#Pass-2026")  # pwdLastSet is no longer 0
    with pytest.raises(VerificationFailed):
        activation.prove(activation.begin("erin", "tty1"), [code])
    with pytest.raises(NotAllowed):
        activation.issue_code(erin, "root")


def test_a_missing_attribute_and_a_wrong_value_look_the_same(tmp_path):
    from kiosk.backend.wiring import build_activation

    settings = fast(
        demo_settings(tmp_path), features={"activate": True},
        activation={"proof": [{"attribute": "employeeID", "label": "Employee ID"}]},
    )
    directory = ChangingDirectory(NEWCOMERS)
    activation = build_activation(settings, directory=directory)
    outcomes = []
    for sam, value in (("fred", "E2001"), ("erin", "E9999")):
        code, _ = activation.issue_code(newcomer(activation, sam), "root")
        visit = activation.begin(sam, "tty1")
        labels = activation.proof_labels(visit)  # no ProofUnavailable for fred
        with pytest.raises(VerificationFailed) as failure:
            activation.prove(visit, [code, value])
        outcomes.append((labels, type(failure.value), str(failure.value)))
    assert outcomes[0] == outcomes[1]


def test_kiosk_activation_issue_prints_a_code_once(tmp_path, capsys):
    from kiosk.cli import main

    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[directory]
kind = "demo"
domains = [{{ netbios = "DEMO", dns = "demo.example", base_dn = "DC=demo,DC=example" }}]
default_domain = "DEMO"
[features]
activate = true
[store]
url = "sqlite://{tmp_path}/kiosk.db"
[audit]
file = "{tmp_path}/audit.jsonl"
[kiosk]
log_file = "{tmp_path}/kiosk.log"
"""
    )
    assert main(["--config", str(config), "activation", "issue", "erin", "--json"]) == 0
    issued = json.loads(capsys.readouterr().out)
    assert issued["issued"] and len(issued["code"]) == 19
    assert issued["code"] not in (tmp_path / "audit.jsonl").read_text()
    assert main(["--config", str(config), "activation", "issue", "alice"]) == 1  # has logged on: refused
    assert "cannot activate" in capsys.readouterr().out
    events = [(e["event"], e["outcome"]) for e in audit(tmp_path)]
    assert events[-2:] == [("activation_code", "issued"), ("activation_code", "refused")]
