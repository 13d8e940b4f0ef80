"""The [factors] policy per action and per group, with the real use cases on
the demo directory, a real SQLite store and a real SMTP relay (aiosmtpd):
"any one" for unlock, a group that needs more than everyone else (refused like
a wrong answer, never told why), the default unchanged, and the helpdesk's
caller check made of two methods."""

from __future__ import annotations

import re
import time

import pytest

import totp_reference as ref
from kiosk.backend.directory.demo import DEMO_BASE_DN, DemoDirectory, DemoUser
from kiosk.backend.errors import NotAllowed, SecondFactorFailed
from kiosk.backend.helpdesk import Helpdesk
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import open_backend
from kiosk.cli import demo_settings
from smtp import SmtpServer
from support import fast

FINANCE = f"CN=Finance,OU=Groups,{DEMO_BASE_DN}"
USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("fred", "Fred", "Figures", "Demo!Fred11", groups=(FINANCE,)),
)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
WORDS = [a for _, a in ANSWERS]


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


def build(tmp_path, relay, **factors):
    settings = fast(
        demo_settings(tmp_path),
        mail=relay.mail_settings(),
        factors={"totp_key_file": str(tmp_path / "totp_key"), **factors},
        eligibility={"allow_privileged": True},  # the demo counts any group as administrative
        features={"totp": True},
    )
    directory = DemoDirectory(USERS)
    service = SelfService(settings, open_backend(settings, directory=directory))
    for user, password in (("alice", "Demo!Alice1"), ("fred", "Demo!Fred11")):
        visit = service.begin(user, "setup")
        service.prove_password(visit, password)
        service.enroll(visit, ANSWERS)
    return settings, service


def code_for(relay, address: str) -> str:
    mail = [r for r in relay.to(address) if r.message["Subject"] == "Your one-time code"][-1]
    return re.search(r"^\s+(\d{6})\s*$", mail.message.get_payload(decode=True).decode(), re.MULTILINE).group(1)


def test_unlock_by_any_one_method_and_a_group_that_needs_two(tmp_path, relay):
    settings, service = build(
        tmp_path, relay,
        unlock=[["questions"], ["email"]],
        groups=[{"group": FINANCE, "unlock": [["questions", "email"]]}],
    )
    try:
        assert service.factor_choices("unlock") == (("questions",), ("email",), ("questions", "email"))
        assert service.factor_choices("reset") == (("questions",),)  # the default: today's behaviour
        # alice: the e-mailed code alone unlocks her.
        visit = service.begin("alice", "t")
        service.challenge(visit)
        service.send_code(visit)
        service.verify_factors(visit, "unlock", ("email",), (), code_for(relay, "alice@demo.example"))
        assert service.unlock(visit) == "DEMO\\alice"
        # fred (Finance): questions alone are not enough -- the same refusal as wrong answers.
        visit = service.begin("fred", "t")
        service.challenge(visit)
        with pytest.raises(SecondFactorFailed):
            service.verify_factors(visit, "unlock", ("questions",), WORDS, "")
        # ... questions and his e-mailed code are.
        service.send_code(visit)
        service.verify_factors(visit, "unlock", ("questions", "email"), WORDS, code_for(relay, "fred@demo.example"))
        assert service.unlock(visit) == "DEMO\\fred"
        # An alternative the policy does not offer is not a choice at all.
        visit = service.begin("alice", "t")
        service.challenge(visit)
        with pytest.raises(NotAllowed):
            service.verify_factors(visit, "unlock", ("totp",), (), "123456")
        # The questions alone (verify) do not open an action a group needs more for.
        visit = service.begin("fred", "t")
        service.challenge(visit)
        service.verify(visit, WORDS)
        with pytest.raises(NotAllowed):
            service.unlock(visit)
    finally:
        service.close()


def test_the_helpdesk_caller_check_of_questions_and_an_emailed_code(tmp_path, relay):
    settings, service = build(tmp_path, relay, helpdesk=[["questions", "email"], ["totp"]])
    desk = Helpdesk(settings, service.backend, verification=service, operator="dana", terminal="t")
    desk.authorized = True  # the operator's sign-in is test_helpdesk's
    try:
        alice = desk.search("alice")[0]
        card = desk.card(alice)
        assert card.caller_check == (("questions", "email"), ("totp",))
        assert dict(card.actions)["verify_totp"] is False  # no app
        visit, questions = desk.caller_questions(alice)
        desk.verify_caller(visit, WORDS)
        card = desk.card(alice)
        assert not card.verified and card.passed == ("questions",)
        assert not dict(card.actions)["unlock"]
        visit, shown = desk.caller_code(alice, "email")
        assert shown == "a***@demo.example"
        with pytest.raises(SecondFactorFailed):
            desk.verify_caller_code(visit, "000000")
        desk.verify_caller_code(visit, code_for(relay, "alice@demo.example"))
        card = desk.card(alice)
        assert card.verified and dict(card.actions)["unlock"]
        desk.unlock(alice)
        assert not desk.card(alice).verified  # one verification, one action
        with pytest.raises(NotAllowed):
            desk.caller_code(alice, "totp")  # no app to ask a code of
        # With an app (set up at the kiosk): its code alone verifies.
        visit = service.begin("alice", "kiosk")
        service.prove_password(visit, "Demo!Alice1")
        setup = service.totp_begin(visit)
        service.totp_confirm(visit, ref.code(setup.secret, time.time()))
        visit, shown = desk.caller_code(alice, "totp")
        assert shown == ""
        desk.verify_caller_code(visit, ref.code(setup.secret, time.time() + 30))
        assert desk.card(alice).verified
        assert desk.revoke(alice, "totp") and desk.backend.store.totp(alice.guid) is None
    finally:
        service.close()
