"""Which way to verify the caller, when the caller check ([factors] helpdesk)
allows several: their questions, the code their authenticator app shows, or a
code sent to their address. Dismissed with the card action chosen (None: Esc)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk.messages import text


class HelpdeskMethodScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", show=False)]
    AUTO_FOCUS = "#methods"
    DEFAULT_CSS = """
    HelpdeskMethodScreen { align: center middle; }
    HelpdeskMethodScreen #method-box {
        width: 64; height: auto; border: round $primary; background: $surface; padding: 1 2;
    }
    HelpdeskMethodScreen #method-question { height: auto; margin: 0 0 1 0; }
    HelpdeskMethodScreen #methods { height: auto; }
    HelpdeskMethodScreen #method-keys { height: auto; margin: 1 0 0 0; color: $text-muted; text-align: center; }
    """

    def __init__(self, account_name: str, offers: Sequence[tuple[str, bool]], address: str = "") -> None:
        """``offers``: (card action, enabled), e.g. ("verify_email", True)."""
        super().__init__()
        self._account_name = account_name
        self._offers = list(offers)
        self._address = address

    def compose(self) -> ComposeResult:
        with Vertical(id="method-box"):
            yield Static(text("helpdesk.method.question", account=self._account_name), id="method-question", markup=False)
            yield OptionList(
                *(
                    Option(text(f"helpdesk.method.choice.{action}", address=self._address), id=action, disabled=not enabled)
                    for action, enabled in self._offers
                ),
                id="methods",
            )
            yield Static(text("helpdesk.keys.method"), id="method-keys", markup=False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
