"""Typeahead: keys typed after a form's Enter, while the next screen is being
prepared, land in that screen's first field (issue 12); and Tab on a screen
with one field keeps what follows in that field.

Bursts are sent the way one read() from the terminal delivers them (no idle
waits between keys, notes §3.4).
"""

from __future__ import annotations

import threading

from textual.widgets import Input

from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.widgets.secret_input import SecretInput
from ui.helpers import burst, field_values, screen_text, settle, type_text, wait_until
from ui.test_flows import choose

SIZE = (80, 24)


def answers(app) -> list[str]:
    return [f.value for f in app.screen.query(SecretInput)]


async def test_keys_typed_after_enter_land_in_the_next_screens_first_field(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        burst(app, [*"alice", "enter", *"Paris"])
        await settle(pilot)
        assert isinstance(app.screen, ChallengeScreen)
        assert ("begin", "alice") in fake.calls
        assert answers(app) == ["Paris", "", ""]
        assert app.screen.focused is app.screen.query_one("#answer-1")
        assert field_values(app)["IdentifyScreen#user"] == "alice"  # never the field going away
        assert "Paris" not in screen_text(app)
        assert app._typeahead is None


async def test_keys_typed_while_the_call_runs_wait_for_the_next_screen(app, fake):
    fake.gate = threading.Event()
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        burst(app, [*"alice", "enter"])
        await pilot.pause()
        burst(app, [*"Par"])
        await pilot.pause()
        burst(app, [*"is"])
        await pilot.pause()
        assert all("Par" not in value for value in field_values(app).values())
        fake.gate.set()
        await settle(pilot)
        assert answers(app) == ["Paris", "", ""]


async def test_a_buffered_enter_moves_to_the_next_field_but_never_submits(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        burst(app, [*"alice", "enter", *"Paris", "enter", *"Rex", "enter", *"Elm", "enter", *"more"])
        await settle(pilot)
        assert isinstance(app.screen, ChallengeScreen)
        assert answers(app) == ["Paris", "Rex", "Elm"]
        assert app.screen.focused is app.screen.query_one("#answer-3")
        assert "verify" not in fake.names()  # nobody has read the questions yet: no blind submission
        await pilot.press("enter")  # the person's own Enter submits
        await settle(pilot)
        assert "verify" in fake.names()


async def test_a_buffered_enter_on_a_one_field_screen_does_not_submit(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "enroll")
        burst(app, [*"bob", "enter", *"Bob-pass1", "enter"])
        await settle(pilot)
        assert isinstance(app.screen, CurrentPasswordScreen)
        assert app.screen.query_one("#password", SecretInput).value == "Bob-pass1"
        assert "prove_password" not in fake.names()


async def test_backspace_edits_the_typeahead_and_other_keys_end_it(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        burst(app, [*"alice", "enter", *"Parsi", "backspace", "backspace", *"is"])
        await settle(pilot)
        assert answers(app) == ["Paris", "", ""]
        app.request_reset()
        await settle(pilot)
        await choose(pilot, "unlock")
        burst(app, [*"alice", "enter", *"Par", "down", *"is"])
        await settle(pilot)
        assert answers(app) == ["Par", "", ""]  # after a key it cannot replay, nothing is kept


async def test_typeahead_after_a_refusal_lands_nowhere(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await type_text(pilot, "alice")
        await pilot.press("enter")
        await settle(pilot)
        burst(app, [*"lyon", "tab", *"misty", "tab", *"oak", "enter", *"typed-ahead"])
        await settle(pilot)
        assert isinstance(app.screen, ChallengeScreen)  # wrong answers: the same screen again
        assert all("typed-ahead" not in value for value in field_values(app).values())
        assert app._typeahead is None


async def test_a_reset_wipes_the_typeahead(app, fake):
    fake.gate = threading.Event()
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        burst(app, [*"alice", "enter", *"Paris"])
        await wait_until(pilot, lambda: app._typeahead is not None and app._typeahead.keys)
        kept = app._typeahead
        app.request_reset()
        assert app._typeahead is None and kept.keys == []
        fake.gate.set()
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert all("Paris" not in value for value in field_values(app).values())


# --- Tab on a screen with one field -------------------------------------------------------


async def test_tab_in_the_only_masked_field_keeps_what_follows_in_it(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "enroll")
        await type_text(pilot, "bob")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CurrentPasswordScreen)
        field = app.screen.query_one("#password", SecretInput)
        await type_text(pilot, "Bob-")
        await pilot.press("tab")
        await type_text(pilot, "pass1")
        assert app.screen.focused is field
        assert field.value == "Bob-pass1"
        await pilot.press("enter")
        await settle(pilot)
        assert fake.secrets_seen == ["Bob-pass1"]


async def test_tab_in_the_only_empty_field_keeps_the_focus(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await pilot.press("tab")
        await type_text(pilot, "alice")
        assert isinstance(app.screen, IdentifyScreen)
        assert app.screen.query_one("#user", Input).value == "alice"
        assert app.screen.focused is app.screen.query_one("#user")


async def test_name_tab_password_never_shows_the_password_in_clear(app, fake):
    """A password manager's ``name<Tab>password`` on the name screen: Tab goes on
    (as Enter), and the password lands masked, never in the name field."""
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        burst(app, [*"alice", "tab", *"hunter2"])
        await settle(pilot)
        assert ("begin", "alice") in fake.calls
        assert field_values(app)["IdentifyScreen#user"] == "alice"
        assert isinstance(app.screen, ChallengeScreen)
        assert answers(app) == ["hunter2", "", ""]
        assert "hunter2" not in screen_text(app)


async def test_tab_then_more_of_the_name_stays_in_the_name_field(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await type_text(pilot, "ali")
        await pilot.press("tab")
        await type_text(pilot, "ce")
        assert isinstance(app.screen, IdentifyScreen)
        assert app.screen.query_one("#user", Input).value == "alice"
        assert app.screen.focused is app.screen.query_one("#user")
        assert fake.calls == []


async def test_a_burst_tab_then_a_name_in_the_empty_field_lands_in_it(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        burst(app, ["tab", *"alice"])
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, IdentifyScreen)
        assert app.screen.query_one("#user", Input).value == "alice"
        assert app.screen.focused is app.screen.query_one("#user")
