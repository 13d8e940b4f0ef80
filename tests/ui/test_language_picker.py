"""The language picker on Welcome (F2), and the way back to the default language."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Static

from kiosk import messages
from kiosk.app import KioskApp
from kiosk.screens.welcome import WelcomeScreen
from ui.conftest import make_settings
from ui.fakes import FakeService
from ui.helpers import screen_text, settle
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)
ALL = ["en", "fr", "de", "zh_Hans"]


@pytest.fixture(autouse=True)
def english_after():
    yield
    messages.configure(None)


def kiosk(term: str = "xterm-256color", **settings: object) -> KioskApp:
    return KioskApp(make_settings(**settings), service=FakeService(), environ={"TERM": term}, result_tick=0)


async def test_one_language_shows_no_picker_and_f2_does_nothing():
    app = kiosk()
    async with app.run_test(size=SIZE) as pilot:
        assert not app.screen.query("#languages")
        await pilot.press("f2")
        await pilot.pause()
        assert messages.language() == "en" and "What do you need?" in screen_text(app)


async def test_f2_goes_through_every_language_in_its_own_name():
    app = kiosk(languages=ALL)
    async with app.run_test(size=SIZE) as pilot:
        assert "F2: [English] · Français · Deutsch · 简体中文" in screen_text(app)
        seen = []
        for _ in ALL:
            await pilot.press("f2")
            await pilot.pause()
            seen.append(str(app.screen.query_one("#title", Static).render()))
        assert seen == ["Que souhaitez-vous faire\u00a0?", "Was möchten Sie tun?", "您需要办理什么？", "What do you need?"]
        assert app.focused is app.screen.query_one("#choices")


async def test_the_linux_console_is_offered_only_what_it_can_draw():
    app = kiosk(term="linux", languages=ALL, default_language="zh_Hans")
    async with app.run_test(size=SIZE) as pilot:
        words = screen_text(app)
        assert "F2: [English] · Français · Deutsch" in words and "简体中文" not in words
        for _ in range(3):
            await pilot.press("f2")
            await pilot.pause()
        assert messages.language() == "en"


async def test_the_visit_ends_in_the_default_language_again():
    """... and the visit began in the language picked: its mails are in it."""
    app = kiosk(languages=ALL, default_language="de")
    fake = app.service
    assert isinstance(fake, FakeService)
    async with app.run_test(size=SIZE) as pilot:
        assert messages.language() == "de"
        await pilot.press("f2")  # to Chinese
        await pilot.pause()
        assert messages.language() == "zh_Hans"
        await choose(pilot, "unlock")
        assert "请问您是哪位？" in screen_text(app)
        await identify(pilot, "alice")
        await answer_challenge(pilot, "paris", "rex", "elm street")
        assert "已解锁" in screen_text(app)
        assert fake.languages == ["zh_Hans"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert messages.language() == "de" and "Was möchten Sie tun?" in screen_text(app)


async def test_a_picked_language_on_welcome_times_out_too():
    app = kiosk(languages=ALL, idle_timeout_seconds=5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert messages.language() == "fr"
        app._last_activity -= 6
        await asyncio.sleep(0.6)
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert messages.language() == "en" and "What do you need?" in screen_text(app)


def test_the_helpdesk_for_staff_stays_english():
    from kiosk.helpdesk_app import HelpdeskApp

    HelpdeskApp(make_settings(languages=["fr", "en"], default_language="fr"), operator="op", environ={})
    assert messages.languages() == ("en",) and messages.text("busy.default") == "Please wait..."
