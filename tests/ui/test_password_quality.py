"""The new-password screen says why a password is refused (the real SelfService
on the demo directory, so the checklist is the backend's own), and takes a paste."""

from __future__ import annotations

import pytest
from textual import events

from kiosk.app import KioskApp
from kiosk.cli import demo_service_factory, demo_settings
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from kiosk.widgets.secret_input import SecretInput
from support import fast
from ui.helpers import enroll_through_screens, screen_text, settle, type_text
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)


@pytest.fixture
def demo_app(tmp_path) -> KioskApp:
    settings = fast(
        demo_settings(tmp_path), kiosk={"theme": "default", "lockdown": True, "organisation": "Northwind Traders"}
    )
    return KioskApp(settings, service_factory=demo_service_factory(settings))


async def _to_new_password(pilot) -> NewPasswordScreen:
    app = pilot.app
    await settle(pilot)
    await enroll_through_screens(
        pilot, "bob", "Demo!Bob22", (("birth-city", "Leeds"), ("first-pet", "Biscuit"), ("first-concert", "Pulp"))
    )
    await choose(pilot, "reset")
    await identify(pilot, "bob")
    await answer_challenge(pilot, "leeds", "biscuit", "pulp")
    assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
    return app.screen


async def _try(pilot, screen: NewPasswordScreen, password: str) -> str:
    screen.wipe()
    screen.set_focus(screen.query_one("#new"))
    await type_text(pilot, password)
    await pilot.press("tab")
    await type_text(pilot, password)
    await pilot.pause()
    checklist = screen_text(pilot.app)
    await pilot.press("enter")
    await settle(pilot)
    return checklist


async def test_the_checklist_and_the_refusal_say_why(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = await _to_new_password(pilot)

        shown = await _try(pilot, screen, "Password123!")
        assert "[ ] This password is on a list of common passwords" in shown
        assert isinstance(demo_app.screen, NewPasswordScreen)
        assert "a few uncommon words together work well" in screen_text(demo_app)

        shown = await _try(pilot, screen, "Northwind#2026x")
        assert "[ ] It contains the organisation's name" in shown
        assert "must not contain the organisation's name" in screen_text(demo_app)

        shown = await _try(pilot, screen, "Bobby1987!x")
        assert "[ ] It contains your" in shown

        shown = await _try(pilot, screen, "Kestrel cobalt 9 lantern")
        assert "[x] Not a common or breached password" in shown
        assert "[x] Hard to guess: [####] 4 of 4" in shown
        assert isinstance(demo_app.screen, ResultScreen), screen_text(demo_app)


async def test_a_paste_is_taken_without_control_characters(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = await _to_new_password(pilot)
        field = screen.query_one("#new", SecretInput)
        screen.set_focus(field)
        await pilot.pause()
        field.post_message(events.Paste("Kestrel\x1b[2J cobalt\x07 9\x9b lantern\nsecond line"))
        await pilot.pause()
        assert field.value == "Kestrel[2J cobalt 9 lantern"
        assert "[x] Not a common or breached password" in screen_text(demo_app)
        field.wipe()
        await pilot.pause()
