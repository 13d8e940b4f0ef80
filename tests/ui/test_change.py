"""Change my password, driven with Pilot against the in-memory FakeService."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from kiosk.app import KioskApp
from kiosk.backend.errors import AccountLocked
from kiosk.config import FeatureSettings
from kiosk.screens.change import ChangeCurrentPasswordScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.welcome import WelcomeScreen
from ui.conftest import make_settings
from ui.fakes import FakeService
from ui.helpers import screen_text, settle, type_text
from ui.test_flows import choose, identify

SIZE = (80, 24)
NEW = "Brand-new#Pass9"


@pytest.fixture
def fake() -> FakeService:
    return FakeService(features=FeatureSettings(change=True))


@pytest.fixture
def app(fake: FakeService) -> KioskApp:
    return KioskApp(make_settings(), service=fake)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot)


async def to_current_password(pilot, name: str) -> None:
    await choose(pilot, "change")
    await identify(pilot, name)
    assert isinstance(pilot.app.screen, ChangeCurrentPasswordScreen), screen_text(pilot.app)


async def test_welcome_offers_it_only_when_switched_on():
    async with KioskApp(make_settings(), service=FakeService()).run_test(size=SIZE) as pilot:
        assert "change" not in [o.id for o in pilot.app.screen.query_one(OptionList).options]
    async with KioskApp(make_settings(), service=FakeService(features=FeatureSettings(change=True))).run_test(
        size=SIZE
    ) as pilot:
        ids = [o.id for o in pilot.app.screen.query_one(OptionList).options]
        assert ids == ["unlock", "reset", "change", "enroll"]
        options = pilot.app.screen.query_one(OptionList)
        assert "Change my password" in str(options.get_option("change").prompt)


async def test_change_then_the_result_suggests_questions_to_the_unenrolled(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await to_current_password(pilot, "bob")
        assert "Change your password" in screen_text(app)
        await enter_text(pilot, "Bob-pass1")
        assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
        await type_text(pilot, NEW)
        await pilot.press("enter")
        await enter_text(pilot, NEW)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        words = screen_text(app)
        assert "The password of KIOSK\\bob is changed" in words
        assert "security questions" in words
        assert fake.passwords["bob"] == NEW
        assert fake.names()[:3] == ["begin", "check_current_password", "change_password"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert "end" in fake.names()


async def test_the_enrolled_are_not_asked_to_enroll(app, fake):
    fake.passwords["alice"] = "Alice-pass1"
    async with app.run_test(size=SIZE) as pilot:
        await to_current_password(pilot, "alice")
        await enter_text(pilot, "Alice-pass1")
        await type_text(pilot, NEW)
        await pilot.press("enter")
        await enter_text(pilot, NEW)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        assert "security questions" not in screen_text(app)


async def refusal_text(app, pilot, name: str, password: str) -> str:
    await to_current_password(pilot, name)
    await enter_text(pilot, password)
    assert isinstance(app.screen, ChangeCurrentPasswordScreen), screen_text(app)
    words = screen_text(app).replace(name, "NAME")
    await pilot.press("escape")
    await settle(pilot)
    await pilot.press("escape")
    await settle(pilot)
    return words


async def test_wrong_password_and_unknown_name_look_the_same(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        wrong = await refusal_text(app, pilot, "bob", "not-his-1")
        unknown = await refusal_text(app, pilot, "zed", "not-his-1")
    assert "do not match" in wrong
    assert wrong == unknown


async def test_a_refused_new_password_is_said_and_another_can_be_tried(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await to_current_password(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await type_text(pilot, "Used-Before1")
        await pilot.press("enter")
        await enter_text(pilot, "Used-Before1")
        assert isinstance(app.screen, NewPasswordScreen)
        assert "used this password before" in screen_text(app)
        await type_text(pilot, NEW)
        await pilot.press("enter")
        await enter_text(pilot, NEW)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        assert fake.passwords["bob"] == NEW


async def test_a_locked_account_is_told_to_unlock_first(app, fake, monkeypatch):
    def locked(visit, password):
        raise AccountLocked("775")

    monkeypatch.setattr(fake, "check_current_password", locked)
    async with app.run_test(size=SIZE) as pilot:
        await to_current_password(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        assert isinstance(app.screen, ChangeCurrentPasswordScreen)
        assert "Unlock my account" in screen_text(app)


async def test_esc_from_the_new_password_forgets_the_current_one(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await to_current_password(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        flow = app.flow
        assert flow._old == "Bob-pass1"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChangeCurrentPasswordScreen)
        assert flow._old is None
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, IdentifyScreen)
