"""Helpdesk stories: an operator verifies a caller and acts for them, all audited."""

from __future__ import annotations

import json
import string

import pytest

from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.errors import InvalidCredentials, NotAllowed, PasswordMustChange, VerificationFailed
from kiosk.backend.helpdesk import temporary_password
from kiosk.backend.wiring import build_helpdesk
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from support import fast

OPERATORS = "CN=Domain Admins,CN=Users,DC=demo,DC=example"  # dana, in the demo


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory()


@pytest.fixture
def settings(tmp_path):
    return fast(demo_settings(tmp_path), helpdesk={"operator_groups": [OPERATORS]})


@pytest.fixture
def helpdesk(settings, directory):
    seed_demo(build_service(settings, directory=directory), directory)
    desk = build_helpdesk(settings, operator="dana", terminal="ssh:192.0.2.7", directory=directory)
    desk.authorize("Demo!Dana44")
    return desk


def account(directory: DemoDirectory, sam: str):
    from kiosk.backend.model import Identity

    return directory.find_account(Identity(sam, "DEMO", sam=sam))


def audit(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_an_operator_must_prove_their_own_password(settings, directory):
    desk = build_helpdesk(settings, operator="dana", terminal="t", directory=directory)
    with pytest.raises(InvalidCredentials):
        desk.authorize("wrong")
    with pytest.raises(NotAllowed):
        desk.card(account(directory, "alice"))


def test_someone_outside_the_operator_groups_is_refused(settings, directory, tmp_path):
    desk = build_helpdesk(settings, operator="bob", terminal="t", directory=directory)
    with pytest.raises(NotAllowed):
        desk.authorize("Demo!Bob22")
    assert audit(tmp_path)[-1]["outcome"] == "refused"


def test_the_account_card_shows_state_and_enrollment_but_no_answers(helpdesk, directory):
    card = helpdesk.card(account(directory, "carol"))
    assert card.account.locked
    assert card.eligible
    assert card.enrollment.state == "enrolled"
    assert "What was the name of your first pet?" in card.enrolled_questions
    assert "Misty" not in repr(card)


def test_a_verified_caller_is_unlocked_and_the_operator_is_audited(helpdesk, directory, tmp_path):
    carol = account(directory, "carol")
    with pytest.raises(NotAllowed, match="verify the caller"):
        helpdesk.unlock(carol)
    visit, questions = helpdesk.caller_questions(carol)
    assert [q.id for q in questions] == ["birth-city", "first-pet", "childhood-street"]
    helpdesk.verify_caller(visit, ["lyon", "misty", "oak lane"])
    helpdesk.unlock(carol)
    assert not directory.refresh(carol).locked
    events = audit(tmp_path)
    assert [(e["event"], e["operator"]) for e in events[-2:]] == [("verify", "dana"), ("helpdesk_unlock", "dana")]


def test_wrong_answers_from_a_caller_are_throttled_and_audited_like_self_service(helpdesk, directory, tmp_path):
    visit, _ = helpdesk.caller_questions(account(directory, "alice"))
    with pytest.raises(VerificationFailed):
        helpdesk.verify_caller(visit, ["x", "y", "z"])
    assert helpdesk.card(account(directory, "alice")).throttle.failures == 1
    assert audit(tmp_path)[-1]["operator"] == "dana"


def test_a_reset_sets_a_temporary_password_shown_once(helpdesk, directory):
    alice = account(directory, "alice")
    visit, _ = helpdesk.caller_questions(alice)
    helpdesk.verify_caller(visit, ["paris", "rex", "hillside"])
    temporary = helpdesk.reset(alice)
    with pytest.raises(PasswordMustChange):  # right, and it must be changed at the first logon
        directory.verify_password(alice, temporary)
    with pytest.raises(NotAllowed):
        helpdesk.reset(alice)  # one verification, one action


def test_revoking_makes_the_caller_enroll_again(helpdesk, directory):
    alice = account(directory, "alice")
    assert helpdesk.revoke(alice) is True
    assert helpdesk.card(alice).enrollment.state == "not_enrolled"
    with pytest.raises(NotAllowed, match="not set up"):
        helpdesk.caller_questions(alice)


def test_temporary_passwords_meet_complexity_and_avoid_look_alikes():
    for _ in range(200):
        password = temporary_password(16)
        assert len(password) == 16
        assert any(c in string.ascii_uppercase for c in password)
        assert any(c in string.ascii_lowercase for c in password)
        assert any(c in string.digits for c in password)
        assert not set(password) & set("0O1lI")
