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
