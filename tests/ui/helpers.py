"""Helpers for Pilot tests: wait for the app to settle, find things on screen."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import events
from textual.widgets import Input, Static

from kiosk.screens.busy import BusyScreen


async def settle(pilot: Any, timeout: float = 5.0) -> None:
    """Wait until no backend call is running and no busy screen is shown."""
    app = pilot.app
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await pilot.pause()
        busy = isinstance(app.screen, BusyScreen) or app._calls or app._service_worker is not None
        if not busy:
            await pilot.pause()
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still busy after {timeout}s on {app.screen!r}")
        await asyncio.sleep(0.02)


async def type_text(pilot: Any, value: str) -> None:
    await pilot.press(*[_key(c) for c in value])


def _key(char: str) -> str:
    names = {" ": "space", "\\": "backslash", "@": "at", "-": "minus", "!": "exclamation_mark", ".": "full_stop"}
    return names.get(char, char)


def burst(app: Any, keys: list[str]) -> None:
    """Send keys the way one read() from the terminal delivers them: no waits (notes §3.4)."""
    characters = {"tab": "\t", "enter": "\r", "space": " "}
    for key in keys:
        event = events.Key(key, characters.get(key, key if len(key) == 1 else None))
        event.set_sender(app)
        app._driver.send_message(event)


def screen_text(app: Any) -> str:
    """All Static text on the current screen (what a person reads)."""
    parts = []
    for widget in app.screen.query(Static):
        if widget.display:
            parts.append(str(widget.render()))
    return "\n".join(parts)


def field_values(app: Any) -> dict[str, str]:
    return {f"{type(s).__name__}#{i.id}": i.value for s in app.screen_stack for i in s.query(Input)}


async def wait_until(pilot: Any, predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached in time: {pilot.app.screen_stack} focused={pilot.app.focused}")
        await asyncio.sleep(0.02)


async def enroll_through_screens(pilot: Any, name: str, password: str, answers: Any, *, timeout: float = 5.0) -> None:
    """Welcome -> enroll -> name -> password -> each step (picking the group's
    question by id after the first) -> review -> done -> back at Welcome.
    ``answers``: (question_id, answer) pairs in questionnaire order."""
    from textual.widgets import Select

    from kiosk.screens.enroll_questions import EnrollQuestionsScreen
    from kiosk.screens.enroll_review import EnrollReviewScreen
    from kiosk.screens.result import ResultScreen
    from kiosk.screens.welcome import WelcomeScreen
    from ui.test_flows import choose, identify

    app = pilot.app
    await choose(pilot, "enroll")
    await identify(pilot, name)
    await type_text(pilot, password)
    await pilot.press("enter")
    await settle(pilot, timeout)
    screen = app.screen
    assert isinstance(screen, EnrollQuestionsScreen), screen_text(app)
    for index, (question_id, answer) in enumerate(answers):
        if index > 0:
            screen.query_one(Select).value = question_id
            screen.set_focus(screen.query_one("#answer"))
        for _ in range(2):  # typed twice
            await type_text(pilot, answer)
            await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, EnrollReviewScreen), screen_text(app)
    await pilot.press("enter")
    await settle(pilot, timeout)
    assert isinstance(app.screen, ResultScreen), screen_text(app)
    await pilot.press("enter")
    await settle(pilot, timeout)
    assert isinstance(app.screen, WelcomeScreen)
