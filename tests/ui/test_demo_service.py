"""The same stories against the real SelfService and the demo directory
(``build_service`` with directory.kind = "demo", a temp SQLite store)."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from kiosk.app import KioskApp
from kiosk.cli import demo_service_factory, demo_settings
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from support import fast
from ui.helpers import enroll_through_screens, screen_text, settle, type_text
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)


@pytest.fixture
def demo_app(tmp_path) -> KioskApp:
    settings = fast(demo_settings(tmp_path), kiosk={"theme": "default", "lockdown": True})
    return KioskApp(settings, service_factory=demo_service_factory(settings))


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")


async def test_demo_unlock_alice(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "DEMO" in screen_text(demo_app)  # the demo banner, with its hint
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        assert isinstance(demo_app.screen, ChallengeScreen)
        await answer_challenge(pilot, "paris", "rex", "hillside")
        assert isinstance(demo_app.screen, ResultScreen), screen_text(demo_app)
        assert "alice is unlocked" in screen_text(demo_app)


async def test_demo_enroll_then_reset_with_a_weak_then_good_password(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await enroll_through_screens(
            pilot, "bob", "Demo!Bob22", (("birth-city", "Leeds"), ("first-pet", "Biscuit"), ("first-concert", "Pulp"))
        )

        await choose(pilot, "reset")
        await identify(pilot, "bob")
        await answer_challenge(pilot, "leeds", "biscuit", "pulp")
        assert isinstance(demo_app.screen, NewPasswordScreen), screen_text(demo_app)
        await enter_text(pilot, "bob")
        await enter_text(pilot, "bob")
        assert "does not meet every rule" in screen_text(demo_app)
        demo_app.screen.wipe()
        demo_app.screen.set_focus(demo_app.screen.query_one("#new"))
        await enter_text(pilot, "Fresh!Start99")
        await enter_text(pilot, "Fresh!Start99")
        await settle(pilot)
        assert isinstance(demo_app.screen, ResultScreen), screen_text(demo_app)
        assert "is changed" in screen_text(demo_app)


async def test_demo_unknown_user_walks_the_same_path(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await choose(pilot, "unlock")
        await identify(pilot, "nobody-here")
        assert isinstance(demo_app.screen, ChallengeScreen)
        assert len(demo_app.screen.query(Input)) == 3
        await answer_challenge(pilot, "one", "two", "three")
        assert isinstance(demo_app.screen, ChallengeScreen)
        assert "do not match our records" in screen_text(demo_app)
