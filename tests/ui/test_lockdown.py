"""Lockdown stories: the kiosk cannot be left, leaks nothing, and forgets people."""

from __future__ import annotations

import asyncio
import logging

from textual.widgets import Input

from kiosk.app import KioskApp, resolve_theme
from kiosk.screens.base import KioskScreen
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.widgets.secret_input import SecretInput
from ui.conftest import make_settings
from ui.helpers import burst, field_values, screen_text, settle, type_text
from ui.test_flows import choose, identify

SIZE = (80, 24)


async def test_lockdown_keys_do_nothing(app):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await type_text(pilot, "alice")
        for key in ("ctrl+c", "ctrl+q", "ctrl+z", "ctrl+backslash", "ctrl+p", "ctrl+s"):
            await pilot.press(key)
        assert app.is_running and app.return_code is None
        assert isinstance(app.screen, IdentifyScreen)
        assert app.screen.query_one(Input).value == "alice"
        assert app.ENABLE_COMMAND_PALETTE is False and app.ALLOW_SELECT is False
        assert app._clipboard == ""


async def test_secret_input_cannot_copy_or_cut(app):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        field = app.screen.query_one(SecretInput)
        await type_text(pilot, "hunter2")
        field.action_copy()
        field.action_cut()
        await pilot.press("ctrl+x", "ctrl+c")
        assert app._clipboard == ""
        assert field.value == "hunter2"
        assert field.password and not field.select_on_focus and field.max_length == 256


async def test_key_burst_puts_nothing_in_the_wrong_field(app, fake):
    """notes §3.4: keys that arrive in one read() follow the focus synchronously."""
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        assert isinstance(app.screen, ChallengeScreen)
        burst(app, [*"paris", "tab", *"rex", "enter", *"elm"])
        await pilot.pause()
        values = [f.value for f in app.screen.query(SecretInput)]
        assert values == ["paris", "rex", "elm"]


async def test_key_burst_ending_in_enter_submits_everything_typed(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        burst(app, [*"paris", "tab", *"rex", "enter", *"elm street", "enter", *"typed-ahead"])
        await settle(pilot)
        assert fake.secrets_seen == ["paris", "rex", "elm street"]
        assert ("unlock",) in fake.calls
        assert all("typed-ahead" not in v for v in field_values(app).values())


async def test_key_burst_after_enter_never_lands_in_the_name_field(app, fake):
    """Typed ahead after Enter: into the next screen's (masked) field, never the name field."""
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "enroll")
        burst(app, [*"bob", "enter", *"secret"])
        await settle(pilot)
        assert ("begin", "bob") in fake.calls
        values = field_values(app)
        assert values["IdentifyScreen#user"] == "bob"
        assert values["CurrentPasswordScreen#password"] == "secret"
        assert app.screen.query_one("#password", SecretInput).password
        assert "secret" not in screen_text(app)


async def test_key_burst_user_tab_secret_on_enrollment(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        assert isinstance(app.screen, CurrentPasswordScreen)
        burst(app, [*"alice", "tab", *"secret"])
        await pilot.pause()
        names = [v for k, v in field_values(app).items() if k.startswith("IdentifyScreen")]
        assert names == ["bob"]  # nothing typed here reached the name field
        assert "secret" not in screen_text(app)


async def test_idle_timeout_returns_to_a_fresh_welcome(fake):
    app = KioskApp(make_settings(idle_timeout_seconds=5), service=fake)
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        await type_text(pilot, "paris")
        old_screens = list(app.screen_stack)
        app._clipboard = "something"
        app.notify("left over")
        app._last_activity -= 4.0  # not yet: 4 s of 5
        await asyncio.sleep(0.6)
        assert isinstance(app.screen, ChallengeScreen)
        app._last_activity -= 1.5
        await asyncio.sleep(0.6)
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert len(app.screen_stack) == 2
        assert not any(s in old_screens for s in app.screen_stack[1:])
        assert all(not f.value for s in old_screens for f in s.query(Input))
        assert app._clipboard == "" and not app._notifications
        assert app.flow is None
        assert "end" in fake.names()


async def test_idle_timeout_counts_from_the_last_key(fake):
    app = KioskApp(make_settings(idle_timeout_seconds=5), service=fake)
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        app._last_activity -= 4.8
        await pilot.press("a")  # a key resets the count exactly
        await asyncio.sleep(0.6)
        assert isinstance(app.screen, IdentifyScreen)


async def test_terminal_too_small_and_back(app):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        screen = app.screen
        assert isinstance(screen, KioskScreen)
        too_small = screen.query_one("#too-small")
        assert not too_small.display or too_small.styles.display == "none"
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert screen.has_class("-too-narrow") and screen.has_class("-too-short")
        assert too_small.styles.display == "block"
        assert screen.query_one("#body").styles.display == "none"
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert too_small.styles.display == "none"
        assert screen.query_one("#body").styles.display == "block"


async def test_a_reset_while_the_terminal_is_too_small_still_leaves_welcome_focused(app):
    """Found by the key fuzzer: the fresh Welcome was mounted with its form
    hidden, got no focus, and the next person's arrow keys went nowhere."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(30, 8)
        await pilot.pause()
        app.request_reset()
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert app.focused is app.screen.query_one("#choices")


async def test_crash_shows_no_traceback_and_no_locals(app, caplog, capsys, monkeypatch):
    caplog.set_level(logging.ERROR, logger="kiosk")

    def explode(self) -> None:
        new_password = "hunter2"  # noqa: F841 - a local the stock traceback would print
        raise ConnectionError("boom")

    monkeypatch.setattr(IdentifyScreen, "submit", explode)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await choose(pilot, "unlock")
            await type_text(pilot, "alice")
            await pilot.press("enter")
            await pilot.pause()
    except ConnectionError:
        pass
    captured = capsys.readouterr()
    shown = (captured.out + captured.err).strip()
    assert shown.startswith("Sorry - something went wrong") and "Reference: K-" in shown
    assert "hunter2" not in shown and "Traceback" not in shown
    assert "ConnectionError" in caplog.text and "hunter2" not in caplog.text


async def test_graceful_exit_wipes(app):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        await type_text(pilot, "hunter2")
        screen = app.screen
        app.graceful_exit()
        assert all(not f.value for f in screen.query(Input))
    assert app.return_code == 0


def test_theme_choice():
    assert resolve_theme("auto", {"TERM": "linux"}) == "vt"
    assert resolve_theme("auto", {"TERM": "vt100"}) == "vt"
    assert resolve_theme("auto", {"TERM": "xterm-256color"}) == "default"
    assert resolve_theme("high-contrast", {"TERM": "linux"}) == "high-contrast"
    vt = KioskApp(make_settings(theme="auto"), environ={"TERM": "linux"})
    assert vt.theme == "ansi-dark" and vt.css_path[0].name == "vt.tcss" and vt.css_path[0].exists()
    hc = KioskApp(make_settings(theme="high-contrast"))
    assert hc.theme == "kiosk-high-contrast" and hc.css_path[0].exists()
