"""Helpdesk stories, driven with Pilot against the REAL Helpdesk on the demo
directory (build_helpdesk + seed_demo, a temp SQLite store and audit log).

dana (Demo!Dana44) is in Domain Admins, the operator group here; bob is not.
carol is locked and enrolled (Lyon / Misty / Oak Lane).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

import pytest
from textual.widgets import Button, DataTable, Input

from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.errors import PasswordMustChange
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.wiring import build_helpdesk
from kiosk.backend.model import Identity
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings, main
from kiosk.helpdesk_app import HelpdeskApp
from kiosk.screens.busy import BusyScreen
from kiosk.screens.error import ErrorScreen
from kiosk.screens.helpdesk.account import HelpdeskAccountScreen
from kiosk.screens.helpdesk.confirm import HelpdeskConfirmScreen
from kiosk.screens.helpdesk.search import HelpdeskSearchScreen
from kiosk.screens.helpdesk.signin import HelpdeskSignInScreen
from kiosk.screens.helpdesk.temporary_password import HelpdeskTemporaryPasswordScreen, spaced
from kiosk.screens.helpdesk.verify import HelpdeskVerifyScreen
from kiosk.widgets.secret_input import SecretInput
from support import fast
from ui.helpers import burst, field_values, screen_text, settle, type_text, wait_until

SIZE = (80, 24)
OPERATORS = "CN=Domain Admins,CN=Users,DC=demo,DC=example"  # dana, in the demo
CAROL_ANSWERS = ("lyon", "misty", "oak lane")


def helpdesk_settings(tmp_path, **helpdesk):
    return fast(
        demo_settings(tmp_path),
        helpdesk={"operator_groups": [OPERATORS], **helpdesk},
        kiosk={"theme": "default", "lockdown": True},
    )


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory()


@pytest.fixture
def make_app(tmp_path, directory):
    made = []

    def make(operator: str = "dana", *, lazy: bool = False, **helpdesk) -> HelpdeskApp:
        settings = helpdesk_settings(tmp_path, **helpdesk)
        if not made:
            seed_demo(build_service(settings, directory=directory), directory)

        made.append(None)

        def build():
            desk = build_helpdesk(settings, operator=operator, terminal="t", directory=directory)
            made.append(desk)
            return desk

        if lazy:
            return HelpdeskApp(settings, helpdesk_factory=build, operator=operator)
        return HelpdeskApp(settings, helpdesk=build(), operator=operator)

    yield make
    for desk in made:
        if desk is not None:
            desk.close()


def account(directory: DemoDirectory, sam: str):
    return directory.find_account(Identity(sam, "DEMO", sam=sam))


def audit(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot)


async def sign_in(pilot, password: str = "Demo!Dana44") -> None:
    assert isinstance(pilot.app.screen, HelpdeskSignInScreen)
    await enter_text(pilot, password)


async def search(pilot, query: str) -> None:
    assert isinstance(pilot.app.screen, HelpdeskSearchScreen)
    await enter_text(pilot, query)


async def open_account(pilot, query: str) -> HelpdeskAccountScreen:
    await search(pilot, query)
    await pilot.press("enter")  # the first row has the focus
    await settle(pilot)
    assert isinstance(pilot.app.screen, HelpdeskAccountScreen), screen_text(pilot.app)
    return pilot.app.screen


def buttons(app) -> dict[str, bool]:
    """Action buttons offered on the card -> enabled."""
    return {b.id.removeprefix("action-"): not b.disabled for b in app.screen.query("#actions Button").results(Button)}


async def act(pilot, action: str, *, confirm: bool = True) -> None:
    screen = pilot.app.screen
    screen.set_focus(screen.query_one(f"#action-{action}", Button))
    await pilot.press("enter")
    await settle(pilot)
    if action == "verify":
        return
    assert isinstance(pilot.app.screen, HelpdeskConfirmScreen)
    assert pilot.app.focused.id == "no"  # Cancel first: a double Enter confirms nothing
    if confirm:
        await pilot.press("tab", "enter")
    else:
        await pilot.press("enter")
    await settle(pilot)


async def verify(pilot, *answers: str) -> None:
    await act(pilot, "verify")
    assert isinstance(pilot.app.screen, HelpdeskVerifyScreen), screen_text(pilot.app)
    for answer in answers:
        await type_text(pilot, answer)
        await pilot.press("enter")
    await settle(pilot)


# --- signing in ------------------------------------------------------------------------------


async def test_sign_in_refuses_a_wrong_password_then_lets_the_operator_in(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "operator dana" in screen_text(app)
        await sign_in(pilot, "wrong-one")
        assert isinstance(app.screen, HelpdeskSignInScreen)
        assert "That is not the password of dana" in screen_text(app)
        assert app.screen.query_one(SecretInput).value == ""
        assert app.focused is app.screen.query_one(SecretInput)
        await sign_in(pilot)
        assert isinstance(app.screen, HelpdeskSearchScreen)
        assert len(app.screen_stack) == 2  # sign-in is gone: Esc cannot go back to it
    outcomes = [(e["event"], e["outcome"], e["operator"]) for e in audit(tmp_path) if e["event"] == "helpdesk_login"]
    assert outcomes == [("helpdesk_login", "failure", "dana"), ("helpdesk_login", "success", "dana")]


async def test_someone_outside_the_operator_groups_is_refused(make_app, tmp_path):
    app = make_app("bob")
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "Demo!Bob22")
        assert isinstance(app.screen, HelpdeskSignInScreen)
        assert "bob is not a helpdesk operator" in screen_text(app)
        await pilot.press("f10")
        await pilot.pause()
    assert app.return_code == 0
    assert audit(tmp_path)[-1]["outcome"] == "refused"


async def test_without_a_password_the_group_still_decides(make_app):
    app = make_app("bob", require_operator_password=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "bob is not a helpdesk operator" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_code == 0

    app = make_app("dana", require_operator_password=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HelpdeskSearchScreen)


async def test_the_password_typed_before_the_helpdesk_is_ready_waits_for_it(make_app):
    app = make_app(lazy=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HelpdeskSignInScreen)
        await sign_in(pilot)
        assert isinstance(app.screen, HelpdeskSearchScreen)


# --- finding and acting -------------------------------------------------------------------------


async def test_search_finds_carol_and_her_card_shows_locked_and_enrolled(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await search(pilot, "car")
        table = app.screen.query_one(DataTable)
        assert app.focused is table
        assert table.row_count == 1
        assert [str(c) for c in table.get_row_at(0)] == ["carol", "Carol Clark", "carol@demo.example", "yes", "yes"]
        await pilot.press("enter")
        await settle(pilot)
        words = screen_text(app)
        assert "Carol Clark (DEMO\\carol)" in words
        assert "Locked         YES" in words
        assert "Questions      set up" in words
        assert "What was the name of your first pet?" in words
        assert "Misty" not in words
        assert "Caller         not verified" in words
        assert buttons(app) == {"verify": True, "unlock": False, "reset": False, "revoke": True}


async def test_search_with_no_match_says_so(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await search(pilot, "zzz")
        assert 'No account starts with "zzz"' in screen_text(app)
        assert app.focused is app.screen.query_one("#query", Input)


async def test_a_verified_caller_is_unlocked_after_a_confirmation(make_app, directory, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        await verify(pilot, *CAROL_ANSWERS)
        assert isinstance(app.screen, HelpdeskAccountScreen)
        assert "verified" in screen_text(app) and "VERIFIED in this session" in screen_text(app)
        assert buttons(app) == {"verify": False, "unlock": True, "reset": True, "revoke": True}

        await act(pilot, "unlock", confirm=False)  # Cancel: nothing happens
        assert account(directory, "carol").locked
        await act(pilot, "unlock")
        assert not account(directory, "carol").locked
        words = screen_text(app)
        assert "DEMO\\carol is unlocked." in words and "Locked         no" in words

        await pilot.press("escape")  # back to the search: the row follows
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[3]) == "no"
    events = [(e["event"], e["outcome"], e.get("operator")) for e in audit(tmp_path)]
    assert ("verify", "success", "dana") in events and ("helpdesk_unlock", "success", "dana") in events


async def test_wrong_answers_say_not_verified_and_never_which(make_app, directory):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        await verify(pilot, "lyon", "misty", "elm street")
        assert isinstance(app.screen, HelpdeskVerifyScreen)
        words = screen_text(app)
        assert "NOT verified" in words
        assert "question 3" not in words.lower() and "third" not in words.lower()
        assert all(f.value == "" for f in app.screen.query(SecretInput))
        await pilot.press("escape")
        await settle(pilot)
        assert buttons(app)["unlock"] is False
        assert "Wrong answers  1 recently" in screen_text(app)


async def test_reset_shows_a_temporary_password_once_and_it_works(make_app, directory, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        await verify(pilot, *CAROL_ANSWERS)
        await act(pilot, "reset")
        screen = app.screen
        assert isinstance(screen, HelpdeskTemporaryPasswordScreen)
        shown = str(screen.query_one("#password").render())
        password = shown.replace(" ", "")
        assert len(password) >= 16 and shown == spaced(password)
        assert "must change it at their next logon" in screen_text(app)
        with pytest.raises(PasswordMustChange):  # it really is the password, and it must be changed
            directory.verify_password(account(directory, "carol"), password)
        assert not app._notifications

        await pilot.press("enter")  # Done - hide it
        await settle(pilot)
        assert isinstance(app.screen, HelpdeskAccountScreen)
        assert not screen.shown
        assert password not in screen_text(app) and spaced(password) not in screen_text(app)
        assert "was shown and is now hidden" in screen_text(app)
        assert buttons(app)["reset"] is False  # one verification, one action
        assert not any(isinstance(s, HelpdeskTemporaryPasswordScreen) for s in app.screen_stack)
    assert password not in (tmp_path / "audit.jsonl").read_text()
    assert password not in caplog.text
    assert any(e["event"] == "helpdesk_reset" and e["fields"].get("must_change") for e in audit(tmp_path))


async def test_revoke_makes_the_caller_not_enrolled(make_app, directory):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "ali")
        await act(pilot, "revoke")
        words = screen_text(app)
        assert "security questions of DEMO\\alice are revoked" in words
        assert "Questions      not set up" in words
        assert buttons(app) == {"verify": False, "unlock": False, "reset": False, "revoke": False}
        await pilot.press("escape")
        await settle(pilot)
        assert str(app.screen.query_one(DataTable).get_row_at(0)[4]) == "no"


async def test_actions_switched_off_are_not_offered(make_app):
    app = make_app(unlock=False, reset=False, revoke=False)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        assert buttons(app) == {"verify": True}
        await verify(pilot, *CAROL_ANSWERS)
        assert buttons(app) == {"verify": False}


async def test_without_required_verification_actions_are_enabled_at_once(make_app, directory):
    app = make_app(require_verification=False)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        assert buttons(app) == {"verify": True, "unlock": True, "reset": True, "revoke": True}
        await act(pilot, "unlock")
        assert not account(directory, "carol").locked


async def test_a_caller_without_questions_cannot_be_verified(make_app):
    app = make_app(require_verification=False)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "bob")
        assert buttons(app)["verify"] is False
        assert "Questions      not set up" in screen_text(app)
        app.flow.choose("verify")  # even if asked anyway, the backend says no, in words for staff
        await settle(pilot)
        assert "has no security questions" in screen_text(app)


# --- the answers and the last password change; Clear attempts (issue 14, items 1 and 8) -------------


async def test_the_card_says_when_the_answers_were_set_up_and_a_reset_can_revoke_them(make_app, directory, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        assert "Answers set up after the last password change." in screen_text(app)  # seeded with today's password
        await verify(pilot, *CAROL_ANSWERS)
        await act(pilot, "reset", confirm=False)  # Cancel: nothing happens, nothing revoked
        await act(pilot, "unlock", confirm=False)
        screen = app.screen
        screen.set_focus(screen.query_one("#action-reset", Button))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HelpdeskConfirmScreen)
        words = screen_text(app)
        assert "Answers set up after the last password change." in words
        assert "Also revoke their security questions" in words
        await pilot.press("shift+tab", "space", "tab", "tab", "enter")  # Cancel -> the tick box -> Cancel -> Reset
        await settle(pilot)
        assert isinstance(app.screen, HelpdeskTemporaryPasswordScreen), screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        words = screen_text(app)
        assert "The security questions are revoked." in words and "Questions      not set up" in words
        assert "Answers set up" not in words
    events = [e for e in audit(tmp_path) if e["event"] in ("helpdesk_reset", "revoke")]
    assert [(e["event"], e["operator"]) for e in events] == [("helpdesk_reset", "dana"), ("revoke", "dana")]
    assert events[0]["fields"]["revoked_enrollment"] is True


async def test_a_blocked_caller_is_cleared_once_the_operator_vouches_for_another_route(make_app, directory, tmp_path):
    from kiosk.backend.errors import VerificationFailed

    app = make_app()
    kiosk = build_service(helpdesk_settings(tmp_path), directory=directory)
    for _ in range(5):  # five wrong answers at a kiosk: carol is blocked, at the kiosk and the helpdesk
        visit = kiosk.begin("carol", "kiosk-1")
        kiosk.challenge(visit)
        with pytest.raises(VerificationFailed):
            kiosk.verify(visit, ["x", "y", "z"])
    kiosk.close()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        assert "Wrong answers  5 recently; blocked until" in screen_text(app)
        assert buttons(app) == {"clear": True, "unlock": False, "reset": False, "revoke": True}

        screen = app.screen
        screen.set_focus(screen.query_one("#action-clear", Button))
        await pilot.press("enter")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, HelpdeskConfirmScreen)
        assert "Verify them another way first" in screen_text(app)
        assert confirm.query_one("#yes", Button).disabled  # not without the operator's word
        await pilot.press("tab", "enter")  # Tab cannot reach Clear: it is disabled; Enter on the tick box ticks
        await settle(pilot)
        assert app.screen is confirm and not confirm.query_one("#yes", Button).disabled
        await pilot.press("tab", "tab", "enter")  # Cancel -> Clear
        await settle(pilot)
        assert isinstance(app.screen, HelpdeskAccountScreen)
        words = screen_text(app)
        assert "The wrong answers of DEMO\\carol are cleared" in words and "Wrong answers  none recently" in words
        assert buttons(app) == {"verify": True, "unlock": False, "reset": False, "revoke": True}

        await verify(pilot, *CAROL_ANSWERS)  # the caller can answer again; actions still need that
        assert "VERIFIED in this session" in screen_text(app)
    cleared = [e for e in audit(tmp_path) if e["event"] == "helpdesk_clear_attempts"]
    assert [(e["outcome"], e["operator"]) for e in cleared] == [("success", "dana")]
    assert cleared[0]["fields"] == {"verified_by": "operator_confirmed_other_route", "failures": 5}


# --- lockdown, idle, signing out ----------------------------------------------------------------


async def test_lockdown_keys_do_nothing(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_text(pilot, "car")
        for key in ("ctrl+c", "ctrl+q", "ctrl+z", "ctrl+backslash", "ctrl+p", "ctrl+s"):
            await pilot.press(key)
        assert app.is_running and app.return_code is None
        assert isinstance(app.screen, HelpdeskSearchScreen)
        assert app.screen.query_one("#query", Input).value == "car"
        assert app.ENABLE_COMMAND_PALETTE is False and app.ALLOW_SELECT is False
        assert app._clipboard == ""


async def test_esc_asks_before_signing_out_and_f10_signs_out(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("escape")
        assert isinstance(app.screen, HelpdeskConfirmScreen)
        await pilot.press("enter")  # Cancel has the focus
        await pilot.pause()
        assert isinstance(app.screen, HelpdeskSearchScreen) and app.is_running
        await open_account(pilot, "car")
        await pilot.press("f10")
        await pilot.pause()
    assert app.return_code == 0


async def test_idle_signs_out_and_wipes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        await act(pilot, "verify")
        await type_text(pilot, "lyon")
        fields = list(app.screen.query(SecretInput))
        app._last_activity -= app.settings.helpdesk.idle_timeout_seconds - 2  # not yet
        await asyncio.sleep(0.6)
        assert app.is_running
        app._last_activity -= 3
        await wait_until(pilot, lambda: not app.is_running or app._exit_renderables)
    assert app.return_code == 0
    assert all(f.value == "" for f in fields)


async def test_a_key_burst_follows_the_focus_on_the_verify_screen(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "car")
        await act(pilot, "verify")
        burst(app, [*"lyon", "tab", *"misty", "enter", *"oak"])
        await pilot.pause()
        assert [f.value for f in app.screen.query(SecretInput)] == ["lyon", "misty", "oak"]


async def test_a_key_burst_after_the_password_never_lands_in_the_search(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, [*"Demo!Dana44", "enter", *"typed-ahead"])
        await settle(pilot)
        assert isinstance(app.screen, HelpdeskSearchScreen)
        assert all("typed-ahead" not in v and "Dana44" not in v for v in field_values(app).values())


async def test_crash_shows_no_traceback_and_no_locals(make_app, caplog, capsys, monkeypatch):
    caplog.set_level(logging.ERROR, logger="kiosk")

    def explode(self) -> None:
        temporary_password = "Kx7#mP2q"  # noqa: F841 - a local the stock traceback would print
        raise ConnectionError("boom")

    monkeypatch.setattr(HelpdeskSearchScreen, "submit", explode)
    app = make_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot)
            await type_text(pilot, "car")
            await pilot.press("enter")
            await pilot.pause()
    except ConnectionError:
        pass
    captured = capsys.readouterr()
    shown = (captured.out + captured.err).strip()
    assert shown.startswith("Sorry - something went wrong") and "Reference: K-" in shown
    assert "Kx7#mP2q" not in shown and "Traceback" not in shown
    assert "ConnectionError" in caplog.text and "Kx7#mP2q" not in caplog.text


async def test_a_directory_outage_is_said_in_plain_words_with_a_reference(make_app, directory, monkeypatch):
    from kiosk.backend.errors import DirectoryUnavailable

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)

        def down(*args, **kwargs):
            raise DirectoryUnavailable("all DCs down")

        monkeypatch.setattr(directory, "search_accounts", down)
        await search(pilot, "car")
        assert isinstance(app.screen, ErrorScreen)
        words = screen_text(app)
        assert "cannot be reached just now" in words and "Reference: K-" in words
        assert "all DCs down" not in words
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HelpdeskSearchScreen) and not isinstance(app.screen, BusyScreen)


def test_kiosk_helpdesk_refuses_to_run_without_a_terminal(tmp_path, capsys):
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[directory]\nkind = "demo"\n[store]\nurl = "sqlite:///{tmp_path}/k.db"\n'
        f'[audit]\nfile = "{tmp_path}/audit.jsonl"\n[kiosk]\nlog_file = "{tmp_path}/kiosk.log"\nlockdown = false\n'
    )
    assert main(["--config", str(config), "helpdesk"]) == 2
    assert "needs an interactive terminal" in capsys.readouterr().err


def test_the_operator_is_the_login_not_an_environment_variable(tmp_path, monkeypatch):
    import pwd

    monkeypatch.setenv("USER", "dana")
    monkeypatch.setenv("LOGNAME", "dana")
    app = HelpdeskApp(helpdesk_settings(tmp_path), environ={"SSH_CLIENT": "192.0.2.7 50000 22"})
    assert app.operator == pwd.getpwuid(os.getuid()).pw_name
    assert app.terminal == "demo"  # [kiosk] terminal_id wins over the SSH client


async def test_idle_sign_out_says_the_real_duration(make_app, capsys):
    """30 seconds of idle time is said as such, not "1 minute" (issue 12)."""
    app = make_app(idle_timeout_seconds=30)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        app._last_activity -= 31
        await wait_until(pilot, lambda: not app.is_running or app._exit_renderables)
    said = capsys.readouterr().err
    assert "signed out after 30 seconds without activity" in said
    assert "minute" not in said
