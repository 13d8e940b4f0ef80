"""Account activation in the kiosk UI, driven with Pilot against the REAL
backend (SelfService + Activation on one Backend) and the demo directory:
erin is new (never logged on, pwdLastSet=0, a password nobody knows); the demo
seeding issued her the activation code DEMO-E2001."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from textual.widgets import Input, OptionList, Select

from kiosk.app import KioskApp
from kiosk.backend.directory.demo import DEMO_USERS, DemoDirectory, DemoUser
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.errors import DirectoryUnavailable
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_service_factory, demo_settings
from kiosk.screens.activate_proof import ActivateProofScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.welcome import WelcomeScreen
from support import fast
from ui.helpers import screen_text, settle, type_text, wait_until
from ui.test_flows import choose, identify

SIZE = (80, 24)
#: fred: new, but the directory holds no employeeID for him
FRED = DemoUser("fred", "Fred", "Fresh", "", never_logged_on=True, attributes={"department": "Demo"})
ANSWERS = ((None, "Leeds"), ("first-pet", "Biscuit"), ("first-concert", "Pulp"))
PASSWORD = "Fresh#Start-2026"


class FailingMarker(DemoDirectory):
    """The DC goes away just before the marker is written (the last step)."""

    fail = True

    def update_attributes(self, account, changes):
        if self.fail:
            raise DirectoryUnavailable("injected: DC went away")
        super().update_attributes(account, changes)


def settings_for(tmp_path, **kiosk):
    return fast(demo_settings(tmp_path), kiosk={"theme": "default", "lockdown": True, **kiosk})


def factory(settings, directory: DemoDirectory) -> Callable[[], SelfService]:
    def build() -> SelfService:
        service = build_service(settings, directory=directory)
        seed_demo(service, directory)
        return service

    return build


@pytest.fixture
def demo_app(tmp_path) -> KioskApp:
    settings = settings_for(tmp_path)
    return KioskApp(settings, service_factory=demo_service_factory(settings))


def audit(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")


async def prove(pilot, name: str, *values: str) -> None:
    await choose(pilot, "activate")
    await identify(pilot, name)
    if not values:
        return
    assert isinstance(pilot.app.screen, ActivateProofScreen), screen_text(pilot.app)
    for value in values:
        await enter_text(pilot, value)
    await settle(pilot)


async def answer_questions(pilot) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, EnrollQuestionsScreen), screen_text(pilot.app)
    for pick, answer in ANSWERS:
        if pick:
            screen.query_one(Select).value = pick
            screen.set_focus(screen.query_one("#answer"))
        await enter_text(pilot, answer)
        await enter_text(pilot, answer)
    await settle(pilot)


async def choose_password(pilot, password: str = PASSWORD) -> None:
    assert isinstance(pilot.app.screen, NewPasswordScreen), screen_text(pilot.app)
    await enter_text(pilot, password)
    await enter_text(pilot, password)
    await settle(pilot)


async def done(pilot) -> None:
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, WelcomeScreen)


def erin(app: KioskApp):
    directory = app.service.backend.directory
    return next(e.account for e in directory._entries.values() if e.account.sam == "erin")


async def test_erin_activates_and_a_second_activation_fails_like_an_unknown_person(demo_app, tmp_path):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ids = [o.id for o in demo_app.screen.query_one(OptionList).options]
        assert "activate" in ids
        await prove(pilot, "erin", " demo e2001 ")  # capitals, spaces and dashes do not matter in a code
        await answer_questions(pilot)
        assert "Choose a new password" in screen_text(demo_app)
        await choose_password(pilot)
        assert isinstance(demo_app.screen, ResultScreen), screen_text(demo_app)
        assert "DEMO\\erin is ready: sign in with your new password" in screen_text(demo_app)
        directory = demo_app.service.backend.directory
        directory.verify_password(directory.refresh(erin(demo_app)), PASSWORD)  # the new password works
        assert directory.read_attributes(erin(demo_app), ["comment"]) == {"comment": ["kiosk-activated"]}
        await done(pilot)

        # Again: the same path and the same words as someone who does not exist.
        words = []
        for name in ("erin", "nobody-here"):
            await prove(pilot, name, "DEMO-E2001")
            assert isinstance(demo_app.screen, ResultScreen), screen_text(demo_app)
            words.append(demo_app.screen.query_one("#detail").render())
            await done(pilot)
        assert str(words[0]) == str(words[1])
        assert "No account could be activated with these details" in str(words[0])

        # Her answers were stored by the activation: she can unlock with them.
        await choose(pilot, "unlock")
        await identify(pilot, "erin")
        for answer in ("leeds", "biscuit", "pulp"):
            await enter_text(pilot, answer)
        await settle(pilot)
        assert "erin is unlocked" in screen_text(demo_app)
    assert "DEMO-E2001" not in (tmp_path / "audit.jsonl").read_text()


async def test_a_wrong_code_gets_the_generic_failure_and_writes_nothing(demo_app, tmp_path):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = erin(demo_app)
        await prove(pilot, "erin", "E2002")
        assert isinstance(demo_app.screen, ResultScreen)
        assert "No account could be activated with these details" in screen_text(demo_app)
        assert erin(demo_app) == before
        assert all(not i.value for s in demo_app.screen_stack for i in s.query(Input))
    failures = [e for e in audit(tmp_path) if e["event"] == "activate"]
    assert [(e["outcome"], e["reason"]) for e in failures] == [("failure", "wrong activation code")]


async def test_a_new_account_without_a_code_gets_the_generic_failure(tmp_path):
    """fred was issued no code: he is asked the same and told the same as a wrong code."""
    settings = settings_for(tmp_path)
    app = KioskApp(settings, service_factory=factory(settings, DemoDirectory((*DEMO_USERS, FRED))))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await prove(pilot, "fred", "DEMO-E2001")
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        assert "No account could be activated with these details" in screen_text(app)
    event = [e for e in audit(tmp_path) if e["event"] == "activate"][-1]
    assert (event["outcome"], event["reason"]) == ("failure", "no valid activation code")


async def test_a_failure_at_the_last_step_says_so_and_a_new_attempt_works(tmp_path):
    settings = settings_for(tmp_path)
    directory = FailingMarker()
    app = KioskApp(settings, service_factory=factory(settings, directory))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await prove(pilot, "erin", "DEMO-E2001")
        await answer_questions(pilot)
        await choose_password(pilot)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        words = screen_text(app)
        # The password written before the failure was withdrawn (pwdLastSet=0 again): not "may be set".
        assert "Your account is not activated yet." in words and "may already be set" not in words
        reference = next(e for e in audit(tmp_path) if e["outcome"] == "error")["reference"]
        assert f"contact the help desk with reference {reference}" in words
        await done(pilot)

        directory.fail = False  # the account stayed claimable: start again
        await prove(pilot, "erin", "DEMO-E2001")
        await answer_questions(pilot)
        await choose_password(pilot, "Second#Try-2026")
        assert "DEMO\\erin is ready" in screen_text(app)


async def test_the_password_screen_refuses_a_weak_password_and_back_asks_the_questions_again(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await prove(pilot, "erin", "DEMO-E2001")
        await answer_questions(pilot)
        await enter_text(pilot, "erin")
        await enter_text(pilot, "erin")
        assert "does not meet every rule" in screen_text(demo_app)
        assert isinstance(demo_app.screen, NewPasswordScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(demo_app.screen, EnrollQuestionsScreen)
        assert demo_app.flow is not None and demo_app.flow.answers is None  # type: ignore[attr-defined]
        assert demo_app.screen.answers_given() == []
        await answer_questions(pilot)
        await choose_password(pilot)
        assert "DEMO\\erin is ready" in screen_text(demo_app)


async def test_the_activation_limit_wipes_and_returns_to_welcome(demo_app, monkeypatch):
    from kiosk.backend.activation import Activation

    monkeypatch.setattr(Activation, "limit_seconds", 3.0)  # the 20-minute limit, compressed
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await prove(pilot, "erin", "DEMO-E2001")
        assert isinstance(demo_app.screen, EnrollQuestionsScreen)
        flow = demo_app.flow
        await type_text(pilot, "Leeds")
        await wait_until(pilot, lambda: isinstance(demo_app.screen, WelcomeScreen), timeout=10)
        await pilot.pause()
        assert len(demo_app.screen_stack) == 2 and demo_app.flow is None and flow.visit is None
        assert all(not i.value for s in demo_app.screen_stack for i in s.query(Input))
        assert flow.answers is None


async def test_identify_is_the_same_screen_as_for_the_other_choices(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await choose(pilot, "activate")
        assert isinstance(demo_app.screen, IdentifyScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(demo_app.screen, WelcomeScreen)


async def test_the_ui_calls_nothing_but_activation_and_complete_is_the_only_write():
    from kiosk.config import FeatureSettings
    from ui.conftest import make_settings
    from ui.fakes import FakeActivation, FakeService

    fake, activation = FakeService(features=FeatureSettings(activate=True)), FakeActivation()
    app = KioskApp(make_settings(), service=fake, activation=activation)
    async with app.run_test(size=SIZE) as pilot:
        await prove(pilot, "erin", "E2001")
        screen = app.screen
        for pick, answer in ((None, "Lyon"), ("first-pet", "Misty"), ("first-school", "Hillside")):
            if pick:
                screen.query_one(Select).value = pick
                screen.set_focus(screen.query_one("#answer"))
            await enter_text(pilot, answer)
            await enter_text(pilot, answer)
        await settle(pilot)
        await choose_password(pilot)
        assert "KIOSK\\erin is ready" in screen_text(app)
        await done(pilot)
    assert fake.calls == []  # SelfService: not one call (no enroll, no reset, no unlock)
    assert activation.names() == [
        "begin", "proof_labels", "prove", *["check_answer"] * 3, "password_rules", "complete", "end"
    ]
    assert activation.calls[-2] == ("complete", ("birth-city", "first-pet", "first-school"))
