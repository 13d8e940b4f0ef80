"""Helpdesk stories: an operator verifies a caller and acts for them, all audited."""

from __future__ import annotations

import dataclasses
import json
import string

import pytest

from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.errors import InvalidCredentials, NotAllowed, PasswordMustChange, Throttled, VerificationFailed
from kiosk.backend.helpdesk import temporary_password
from kiosk.backend.wiring import build_helpdesk
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from support import fast

OPERATORS = "CN=Domain Admins,CN=Users,DC=demo,DC=example"  # dana, in the demo
CAROL_ANSWERS = ("lyon", "misty", "oak lane")


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


# --- the card says what the operator may do (issue 13) -----------------------------------------


def offers(card) -> dict[str, bool]:
    return {offer.action: offer.enabled for offer in card.actions}


def test_the_card_says_which_actions_are_allowed_now(helpdesk, directory):
    carol = account(directory, "carol")
    card = helpdesk.card(carol)
    assert not card.verified
    assert offers(card) == {"verify": True, "unlock": False, "reset": False, "revoke": True}
    visit, _ = helpdesk.caller_questions(carol)
    helpdesk.verify_caller(visit, ["lyon", "misty", "oak lane"])
    card = helpdesk.card(carol)
    assert card.verified and card.allows("unlock") and card.allows("reset") and not card.allows("verify")
    helpdesk.unlock(carol)
    card = helpdesk.card(carol)  # one verification, one action
    assert not card.verified and not card.allows("reset")


def test_the_card_follows_the_configuration(settings, directory):
    from support import changed

    rules = changed(settings.helpdesk, unlock=False, reset=False, revoke=False, require_verification=False)
    seed_demo(build_service(settings, directory=directory), directory)
    desk = build_helpdesk(
        dataclasses.replace(settings, helpdesk=rules), operator="dana", terminal="t", directory=directory
    )
    desk.authorize("Demo!Dana44")
    assert offers(desk.card(account(directory, "bob"))) == {"verify": False}


# --- the answers and the last password change; revoking in the reset (issue 14, item 1) ----------


def test_a_reset_can_revoke_the_answers_in_the_same_step(helpdesk, directory, tmp_path):
    alice = account(directory, "alice")
    assert helpdesk.card(alice).enrolled_before_password_set is False  # enrolled with today's password
    visit, _ = helpdesk.caller_questions(alice)
    helpdesk.verify_caller(visit, ["paris", "rex", "hillside"])
    helpdesk.reset(alice, revoke_answers=True)
    assert helpdesk.card(alice).enrollment.state == "not_enrolled"
    events = [e for e in audit(tmp_path) if e["event"] in ("helpdesk_reset", "revoke")]
    assert [e["event"] for e in events] == ["helpdesk_reset", "revoke"]
    assert events[0]["fields"]["revoked_enrollment"] is True and events[1]["operator"] == "dana"


# --- clearing wrong answers (issue 14, item 8) ---------------------------------------------------------


def block(helpdesk, directory, sam: str) -> None:
    """Five wrong answers: the account is blocked (self-service and the caller check)."""
    for _ in range(5):
        visit, _ = helpdesk.caller_questions(account(directory, sam))
        with pytest.raises(VerificationFailed):
            helpdesk.verify_caller(visit, ["x", "y", "z"])


def test_a_blocked_caller_is_cleared_after_the_operator_confirms_another_route(helpdesk, directory, tmp_path):
    carol = account(directory, "carol")
    block(helpdesk, directory, "carol")
    card = helpdesk.card(carol)
    assert card.throttle.locked_until is not None
    assert offers(card) == {"clear": True, "unlock": False, "reset": False, "revoke": True}  # no verify: blocked
    visit, _ = helpdesk.caller_questions(carol)
    with pytest.raises(Throttled):
        helpdesk.verify_caller(visit, list(CAROL_ANSWERS))

    with pytest.raises(NotAllowed, match="verify the caller"):
        helpdesk.clear_attempts(carol)  # not without the operator's word
    assert helpdesk.clear_attempts(carol, verified_elsewhere=True) == 5
    card = helpdesk.card(carol)
    assert card.throttle.failures == 0 and card.throttle.locked_until is None
    assert "clear" not in offers(card) and offers(card)["verify"] is True
    events = [e for e in audit(tmp_path) if e["event"] == "helpdesk_clear_attempts"]
    assert [(e["outcome"], e["operator"]) for e in events] == [("refused", "dana"), ("success", "dana")]
    assert events[-1]["fields"] == {"verified_by": "operator_confirmed_other_route", "failures": 5}

    visit, _ = helpdesk.caller_questions(carol)  # the caller can answer again
    helpdesk.verify_caller(visit, list(CAROL_ANSWERS))


def test_while_the_questions_can_verify_the_operators_word_is_not_enough(helpdesk, directory):
    alice = account(directory, "alice")
    visit, _ = helpdesk.caller_questions(alice)
    with pytest.raises(VerificationFailed):
        helpdesk.verify_caller(visit, ["x", "y", "z"])
    card = helpdesk.card(alice)
    assert card.throttle.failures == 1 and "clear" not in offers(card)  # a right answer clears them
    with pytest.raises(NotAllowed):
        helpdesk.clear_attempts(alice, verified_elsewhere=True)
    assert helpdesk.card(alice).throttle.failures == 1


def test_clearing_is_refused_for_an_account_the_helpdesk_may_not_act_on(helpdesk, directory, tmp_path):
    dana = account(directory, "dana")  # Domain Admins: not eligible
    with pytest.raises(NotAllowed, match="not available"):
        helpdesk.clear_attempts(dana, verified_elsewhere=True)
    assert audit(tmp_path)[-1]["event"] == "helpdesk_clear_attempts"
