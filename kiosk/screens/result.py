"""The outcome, in plain words; back to the start on Done or after a while."""

from __future__ import annotations

import math
from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Button, Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen


class ResultScreen(KioskScreen):
    keys_key = "keys.result"
    AUTO_FOCUS = "#done"

    DEFAULT_CSS = """
    ResultScreen #outcome { height: auto; margin: 1 0; text-style: bold; }
    ResultScreen #outcome.-success { color: $success; }
    ResultScreen #outcome.-failure { color: $error; }
    ResultScreen #detail { height: auto; margin: 0 0 1 0; }
    ResultScreen #done { margin: 1 0 0 0; }
    """

    def __init__(
        self, success: bool, message: str, seconds: float, on_done: Callable[[], None], *, tick: float = 1.0
    ) -> None:
        """``on_done``: Done, Esc, or ``seconds`` later; ``tick``: how often the
        countdown is said again (0: never, for pictures that must not move)."""
        super().__init__()
        self._on_done = on_done
        self._tick = tick
        self._success = success
        self._message = message
        self._seconds = seconds
        self._left = math.ceil(seconds)

    def compose_form(self) -> ComposeResult:
        outcome = Static(
            text("result.success" if self._success else "result.failure"), id="outcome", markup=False
        )
        outcome.add_class("-success" if self._success else "-failure")
        yield outcome
        yield Static(self._message, id="detail", markup=False)
        yield Button(text("done"), id="done")
        yield Static(text("result.back_in", seconds=self._left), id="back-in", classes="hint", markup=False)

    def on_mount(self) -> None:
        self.set_timer(self._seconds, self._on_done)
        if self._tick > 0:
            self.set_interval(self._tick, self._count_down, name="back-in")

    def _count_down(self) -> None:
        """Once a second: the seconds left, as the hint says them."""
        self._left = max(0, self._left - 1)
        for hint in self.query("#back-in").results(Static):  # none once the screen is going away
            hint.update(text("result.back_in", seconds=self._left))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._on_done()

    def action_back(self) -> None:
        self._on_done()
