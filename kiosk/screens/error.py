"""A friendly error panel: plain words and a reference, details only in the log."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kiosk.messages import text


class ErrorScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", show=False)]
    AUTO_FOCUS = "#ok"
    DEFAULT_CSS = """
    ErrorScreen { align: center middle; }
    ErrorScreen #error-box { width: 64; height: auto; border: round $error; background: $surface; padding: 1 2; }
    ErrorScreen #error-text { height: auto; }
    ErrorScreen #error-ref { height: auto; margin: 1 0; color: $text-muted; }
    """

    def __init__(self, message: str, reference: str) -> None:
        super().__init__()
        self._message = message
        self._reference = reference

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(self._message, id="error-text", markup=False)
            yield Static(text("reference", reference=self._reference), id="error-ref", markup=False)
            yield Button(text("ok"), id="ok")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
