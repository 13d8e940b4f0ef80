"""Are you sure? A yes/no dialog in front of every helpdesk action.

Cancel has the focus, so a second Enter (a double tap, a key burst) does not
confirm anything. Esc cancels.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kiosk.messages import text


class HelpdeskConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "cancel", show=False),
        Binding("left", "app.kiosk_focus(-1)", show=False),
        Binding("right", "app.kiosk_focus(1)", show=False),
    ]
    AUTO_FOCUS = "#no"
    DEFAULT_CSS = """
    HelpdeskConfirmScreen { align: center middle; }
    HelpdeskConfirmScreen #confirm-box {
        width: 64; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    HelpdeskConfirmScreen #question { height: auto; margin: 0 0 1 0; }
    HelpdeskConfirmScreen #buttons { height: auto; align: center middle; }
    HelpdeskConfirmScreen Button { margin: 0 2; }
    HelpdeskConfirmScreen #confirm-keys { height: auto; margin: 1 0 0 0; color: $text-muted; text-align: center; }
    """

    def __init__(self, question: str, yes: str) -> None:
        super().__init__()
        self._question = question
        self._yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self._question, id="question", markup=False)
            with Horizontal(id="buttons"):
                yield Button(text("helpdesk.cancel"), id="no")
                yield Button(self._yes, id="yes", variant="warning")
            yield Static(text("helpdesk.keys.confirm"), id="confirm-keys", markup=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)
