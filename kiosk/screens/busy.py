"""Shown over the current screen while a backend call runs in a thread.

It takes the keyboard (so nothing typed meanwhile lands in a field) and shows
that the kiosk is working; it is removed when the call ends.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class BusyScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "ignore", show=False)]
    DEFAULT_CSS = """
    BusyScreen { align: center middle; }
    BusyScreen #busy-box { width: 44; height: 5; border: round $primary; background: $surface; }
    BusyScreen #busy-text { width: 100%; height: 100%; content-align: center middle; text-align: center; }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self._message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="busy-box"):
            yield Static(self._message, id="busy-text", markup=False)

    def action_ignore(self) -> None:
        """Nothing to cancel: the call finishes on its own."""
