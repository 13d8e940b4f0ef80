"""The service is built after the first frame; a choice made before waits for it."""

from __future__ import annotations

import asyncio
import threading

from kiosk.app import KioskApp
from kiosk.screens.busy import BusyScreen
from kiosk.screens.error import ErrorScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.welcome import WelcomeScreen
from ui.conftest import make_settings
from ui.fakes import FakeService
from ui.helpers import burst, screen_text, settle, wait_until

SIZE = (80, 24)


async def test_welcome_first_then_service_then_identify():
    ready = threading.Event()
    fake = FakeService(is_demo=True, demo_hint="Try alice or bob.")

    def factory() -> FakeService:
        ready.wait(10)
        return fake

    app = KioskApp(make_settings(), service_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen) and app.service is None
        await pilot.press("enter")  # "Unlock my account" before the service exists
        await pilot.pause()
        assert isinstance(app.screen, BusyScreen)
        ready.set()
        await settle(pilot)
        assert isinstance(app.screen, IdentifyScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert "Try alice or bob." in screen_text(app)


async def test_service_that_cannot_start_shows_the_panel():
    def factory() -> FakeService:
        raise OSError("store is read-only")

    app = KioskApp(make_settings(), service_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "read-only" not in screen_text(app)


async def test_busy_screen_while_a_call_runs(app, fake):
    fake.gate = threading.Event()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        for key in "alice":
            await pilot.press(key)
        burst(app, ["enter"])
        await wait_until(pilot, lambda: isinstance(app.screen, BusyScreen))
        burst(app, ["x", "y"])  # typed while busy: dropped, never in a field
        await asyncio.sleep(0.1)
        assert isinstance(app.screen, BusyScreen)
        fake.gate.set()
        await settle(pilot)
        assert all("xy" not in f.value for s in app.screen_stack for f in s.query("Input"))
