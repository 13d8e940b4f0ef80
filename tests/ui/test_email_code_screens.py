"""Reset with security questions + a code sent by e-mail, through the kiosk's
screens (Pilot, 80x24): the real use case on the demo directory, a real
SQLite store and a real SMTP relay on loopback (aiosmtpd, STARTTLS, a
certificate the fixture makes); the code typed is the one that arrived in the
mail. Unknown, unenrolled and address-less people read the same screens as a
real person, word for word, through the whole second-factor step."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import Static

from kiosk.app import KioskApp
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import open_backend
from kiosk.cli import demo_settings
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.code import EmailCodeScreen
from kiosk.screens.factor_choice import FactorChoiceScreen
from kiosk.screens.new_password import NewPasswordScreen
from smtp import SmtpServer
from support import fast
from ui.helpers import screen_text, settle, type_text
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)
NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)
USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob222", attributes={"mail": ""}),  # no address
    DemoUser("carol", "Carol", "Clark", "Demo!Carol3"),  # never enrolled
)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
REFUSED = "answers or that code do not match"


class Clock:
    now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tmp_path, relay, clock):
    settings = fast(
        demo_settings(tmp_path),
        kiosk={"theme": "default", "lockdown": False},
        mail=relay.mail_settings(),
        factors={"reset": [["questions", "totp"], ["questions", "email"]],
                 "totp_key_file": str(tmp_path / "kiosk_totp_key")},
    )
    service = SelfService(settings, open_backend(settings, directory=DemoDirectory(USERS)), clock=clock)
    for user, password in (("alice", "Demo!Alice1"), ("bob", "Demo!Bob222")):
        visit = service.begin(user, "setup")
        service.prove_password(visit, password)
        service.enroll(visit, ANSWERS)
    yield service
    service.close()


def code_mails(relay: SmtpServer, address: str | None = None) -> list:
    """The code mails that arrived (notices of changes arrive too: not these)."""
    mails = relay.received if address is None else relay.to(address)
    return [r for r in mails if r.message["Subject"] == "Your one-time code"]


def code_in(relay: SmtpServer, address: str) -> str:
    body = code_mails(relay, address)[-1].message.get_payload(decode=True).decode()
    found = re.search(r"^\s+(\d{6})\s*$", body, re.MULTILINE)
    assert found, body
    return found.group(1)


async def enter(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot, timeout=15.0)


async def to_email_code(app, pilot, name: str) -> list[str]:
    """Identify, pick questions + e-mailed code, answer; the texts read on the way."""
    await choose(pilot, "reset")
    await identify(pilot, name)
    assert isinstance(app.screen, FactorChoiceScreen), screen_text(app)
    from textual.widgets import OptionList

    options = app.screen.query_one(OptionList)
    shown = [screen_text(app) + "\n" + "\n".join(str(o.prompt) for o in options.options)]
    await pilot.press("down", "enter")
    await settle(pilot)
    assert isinstance(app.screen, ChallengeScreen), screen_text(app)
    shown.append(f"{len(app.screen.query('Input'))} questions")
    await answer_challenge(pilot, *(a for _, a in ANSWERS))
    await settle(pilot, timeout=15.0)
    assert isinstance(app.screen, EmailCodeScreen), screen_text(app)
    # The masked address starts with the typed name's (or address's) first letter.
    shown.append(re.sub(r"\b\w\*\*\*@", "?***@", screen_text(app)))
    return shown


def refusal(app) -> list[str]:
    return [screen_text(app).rpartition("\n")[0].rpartition("\n")[2],
            str(app.screen.query_one("#message", Static).render())]


async def test_reset_with_questions_and_an_emailed_code(service, relay, clock):
    app = KioskApp(service.__dict__["_settings"], service=service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = await to_email_code(app, pilot, "alice")
        assert "a***@demo.example" in screen_text(app) and "alice@demo.example" not in screen_text(app)
        assert "questions" in shown[0].lower() and "e-mail" in shown[0].lower()
        code = code_in(relay, "alice@demo.example")
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        await enter(pilot, wrong)
        assert isinstance(app.screen, ChallengeScreen) and REFUSED in screen_text(app), screen_text(app)
        throttle_key = f"account:{service.begin('alice', 't').account.guid}"
        assert service._throttle.status(throttle_key).failures == 1  # counted in the same throttle
        # Answer again: the same code still works (no new mail), once.
        await answer_challenge(pilot, *(a for _, a in ANSWERS))
        assert isinstance(app.screen, EmailCodeScreen)
        assert len(code_mails(relay, "alice@demo.example")) == 1
        await enter(pilot, code)
        assert isinstance(app.screen, NewPasswordScreen), screen_text(app)

        # F5 asks for a new code: a second mail; only the newest works.
        app.request_reset()
        await settle(pilot)
        await to_email_code(app, pilot, "alice")
        first = code_in(relay, "alice@demo.example")
        await pilot.press("f5")
        await settle(pilot, timeout=15.0)
        assert "A new code was sent" in screen_text(app)
        second = code_in(relay, "alice@demo.example")
        assert len(code_mails(relay, "alice@demo.example")) == 3
        if first != second:
            await enter(pilot, first)
            assert isinstance(app.screen, ChallengeScreen) and REFUSED in screen_text(app)
            await answer_challenge(pilot, *(a for _, a in ANSWERS))
        # Expired: valid 10 minutes.
        clock.now = NOW + timedelta(minutes=10, seconds=1)
        await enter(pilot, second)
        assert isinstance(app.screen, ChallengeScreen) and REFUSED in screen_text(app), screen_text(app)
    for received in relay.to("alice@demo.example"):
        for secret in ("Paris", "Rex", "Hillside", "Demo!Alice1"):
            assert secret.lower() not in received.text.lower()


async def test_unknown_unenrolled_and_addressless_people_see_the_same_screens(service, relay):
    """nobody (unknown), carol (no questions), bob (questions, no address) and
    alice (questions and address, a wrong code): the same screens, the same words."""
    app = KioskApp(service.__dict__["_settings"], service=service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = {}
        for name in ("nobody", "carol", "bob", "alice"):
            steps = await to_email_code(app, pilot, name)
            await enter(pilot, "000000" if name != "alice" else "999999x")
            assert isinstance(app.screen, ChallengeScreen), screen_text(app)
            seen[name] = steps + refusal(app)
            app.request_reset()
            await settle(pilot)
        assert seen["nobody"] == seen["carol"] == seen["bob"] == seen["alice"]
        assert "Code sent by e-mail" in seen["nobody"][2]
        assert "?***@demo.example" in seen["nobody"][2]
    # Only the people with an address got a mail (carol's says someone typed her name).
    assert [r.recipients for r in code_mails(relay)] == [["carol@demo.example"], ["alice@demo.example"]]


async def test_unlock_by_an_emailed_code_alone(tmp_path, relay):
    """unlock = any one of questions or an e-mailed code: the code alone, no questions asked."""
    from kiosk.screens.result import ResultScreen

    settings = fast(
        demo_settings(tmp_path),
        kiosk={"theme": "default", "lockdown": False},
        mail=relay.mail_settings(),
        factors={"unlock": [["questions"], ["email"]]},
    )
    service = SelfService(settings, open_backend(settings, directory=DemoDirectory(USERS)))
    app = KioskApp(settings, service=service)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await choose(pilot, "unlock")
            await identify(pilot, "carol")
            assert isinstance(app.screen, FactorChoiceScreen)
            await pilot.press("down", "enter")
            await settle(pilot, timeout=15.0)
            assert isinstance(app.screen, EmailCodeScreen), screen_text(app)
            await enter(pilot, "000000")
            assert isinstance(app.screen, EmailCodeScreen) and REFUSED in screen_text(app), screen_text(app)
            await enter(pilot, code_in(relay, "carol@demo.example"))
            assert isinstance(app.screen, ResultScreen), screen_text(app)
            assert "DEMO\\carol" in screen_text(app)
    finally:
        service.close()
