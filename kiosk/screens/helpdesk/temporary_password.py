"""The temporary password, shown once, big and clear, then gone.

It lives only in this screen: never in a notification, a log line or the
audit. Leaving (Done, Esc, idle, sign-out, an error) wipes it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Button, Static

from kiosk.messages import text
from kiosk.screens.helpdesk.base import HelpdeskScreen


def spaced(password: str, group: int = 4) -> str:
    """``Ab3#Cd4%`` -> ``Ab3#  Cd4%``: easier to read out over the phone."""
    return "  ".join(password[i : i + group] for i in range(0, len(password), group))


class HelpdeskTemporaryPasswordScreen(HelpdeskScreen):
    keys_key = "helpdesk.keys.temporary"
    AUTO_FOCUS = "#done"

    DEFAULT_CSS = """
    HelpdeskTemporaryPasswordScreen #intro { height: auto; margin: 1 0 0 0; }
    HelpdeskTemporaryPasswordScreen #password {
        width: auto; min-width: 30; height: auto; margin: 1 0; padding: 1 4;
        border: heavy $accent; text-style: bold; content-align: center middle;
    }
    HelpdeskTemporaryPasswordScreen #must-change { height: auto; text-style: bold; color: $warning; }
    HelpdeskTemporaryPasswordScreen #done { margin: 1 0 0 0; }
    """

    def __init__(self, account_name: str, password: str) -> None:
        super().__init__()
        self._account_name = account_name
        self._password = password

    def screen_title(self) -> str:
        return text("helpdesk.temporary.title", account=self._account_name)

    def compose_form(self) -> ComposeResult:
        yield Static(text("helpdesk.temporary.intro"), id="intro", markup=False)
        yield Static(spaced(self._password), id="password", markup=False)
        yield Static(text("helpdesk.temporary.must_change"), id="must-change", markup=False)
        yield Button(text("helpdesk.temporary.done"), id="done")

    @property
    def shown(self) -> bool:
        return bool(self._password)

    def wipe(self) -> None:
        super().wipe()
        self._password = ""
        if self.is_mounted:
            self.query_one("#password", Static).update("")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._leave()

    def action_back(self) -> None:
        self._leave()

    def _leave(self) -> None:
        self.wipe()
        self.dismiss(None)
