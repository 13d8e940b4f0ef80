"""Are you sure? A yes/no dialog in front of every helpdesk action.

Cancel has the focus, so a second Enter (a double tap, a key burst) does not
confirm anything. Esc cancels. An optional tick box carries a choice made in
the same step (revoke the answers with a reset) or a statement the operator
must make before Yes can be chosen (``option_required``: "I verified the
caller another way"). The answer is a ``Confirmation``.
"""

from __future__ import annotations

from typing import NamedTuple

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Static

from kiosk.messages import text


class Confirmation(NamedTuple):
    """Yes or not, and whether the tick box was ticked."""

    yes: bool
    option: bool = False


class HelpdeskConfirmScreen(ModalScreen[Confirmation]):
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
    HelpdeskConfirmScreen #option { height: auto; width: 100%; margin: 0 0 1 0; }
    HelpdeskConfirmScreen #buttons { height: auto; align: center middle; }
    HelpdeskConfirmScreen Button { margin: 0 2; }
    HelpdeskConfirmScreen #confirm-keys { height: auto; margin: 1 0 0 0; color: $text-muted; text-align: center; }
    """

    def __init__(self, question: str, yes: str, *, option: str | None = None, option_required: bool = False) -> None:
        super().__init__()
        self._question = question
        self._yes = yes
        self._option = option
        self._option_required = option is not None and option_required

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self._question, id="question", markup=False)
            if self._option is not None:
                yield Checkbox(self._option, id="option")
            with Horizontal(id="buttons"):
                yield Button(text("helpdesk.cancel"), id="no")
                yield Button(self._yes, id="yes", variant="warning", disabled=self._option_required)
            keys = "helpdesk.keys.confirm_option" if self._option is not None else "helpdesk.keys.confirm"
            yield Static(text(keys), id="confirm-keys", markup=False)

    @property
    def ticked(self) -> bool:
        return self._option is not None and self.query_one("#option", Checkbox).value

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if self._option_required:
            self.query_one("#yes", Button).disabled = not event.value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        yes = event.button.id == "yes"
        if yes and self._option_required and not self.ticked:
            return
        self.dismiss(Confirmation(yes, self.ticked))

    def action_cancel(self) -> None:
        self.dismiss(Confirmation(False))
