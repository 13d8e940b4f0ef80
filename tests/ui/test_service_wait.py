"""The service is built after the first frame; a choice made before waits for it."""

from __future__ import annotations

import asyncio
import threading

from kiosk.app import KioskApp
from kiosk.screens.busy import BusyScreen
from kiosk.screens.challenge import ChallengeScreen
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
        burst(app, ["x", "y"])  # typed while busy: kept for the next screen, in no field yet
        await asyncio.sleep(0.1)
        assert isinstance(app.screen, BusyScreen)
        assert all("xy" not in f.value for s in app.screen_stack for f in s.query("Input"))
        fake.gate.set()
        await settle(pilot)
        assert isinstance(app.screen, ChallengeScreen)
        values = {f"{type(s).__name__}#{f.id}": f.value for s in app.screen_stack for f in s.query("Input")}
        assert values["IdentifyScreen#user"] == "alice"
        assert values["ChallengeScreen#answer-1"] == "xy"  # typeahead: the next screen's first field


async def test_the_first_frame_comes_before_validation_and_nobody_is_served_before_it():
    """kiosk starts on provisional settings; the backend is built only from the validated ones."""
    validated = threading.Event()
    built_from = []
    final = make_settings(help_text="Validated help.")

    def loader():
        validated.wait(10)
        return final

    app = KioskApp(make_settings(), settings_loader=loader)
    app._build_service = lambda: built_from.append(app.settings) or FakeService()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen) and app.service is None
        await pilot.press("enter")  # a choice before validation waits, as for the service
        await pilot.pause()
        assert isinstance(app.screen, BusyScreen)
        validated.set()
        await settle(pilot)
        assert built_from == [final]
        assert isinstance(app.screen, IdentifyScreen)


async def test_validated_settings_that_read_differently_are_shown():
    app = KioskApp(make_settings(help_text="Provisional help."), settings_loader=lambda: make_settings(help_text="Validated help."))
    app._build_service = FakeService
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "Validated help." in screen_text(app))
        assert isinstance(app.screen, WelcomeScreen)


async def test_a_refused_configuration_stops_the_kiosk_with_status_2():
    from kiosk.backend.errors import ConfigError

    def loader():
        raise ConfigError("kiosk.toml: invalid configuration\n  kiosk.idle_timeout_seconds = 2: too small")

    app = KioskApp(make_settings(), settings_loader=loader)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 2
    assert isinstance(app.startup_error, ConfigError)
