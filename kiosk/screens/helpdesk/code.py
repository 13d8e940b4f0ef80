"""Verify a caller by a code instead of questions read out: the code their
authenticator app shows now, or the one just sent to their address. The
operator types what the caller reads; the result is verified or not."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.helpdesk.base import HelpdeskScreen
from kiosk.widgets.text_field import TextField

CODE_MAX = 16


class HelpdeskCodeScreen(HelpdeskScreen):
    keys_key = "helpdesk.keys.verify"

    def __init__(
        self,
        account_name: str,
        method: str,
        address: str,
        on_submit: Callable[[str], None],
        on_back: Callable[[], None],
    ) -> None:
        """``method``: "totp" or "email"; ``address``: where the e-mailed code went (masked)."""
        super().__init__()
        self._account_name = account_name
        self._method = method
        self._address = address
        self._on_submit = on_submit
        self._on_back = on_back

    def screen_title(self) -> str:
        return text(f"helpdesk.code.title.{self._method}", account=self._account_name)

    def compose_form(self) -> ComposeResult:
        yield Static(text(f"helpdesk.code.intro.{self._method}", address=self._address), classes="hint", markup=False)
        yield Static(text("helpdesk.code.label"), classes="label", markup=False)
        yield TextField(id="code", max_length=CODE_MAX, select_on_focus=False)

    def submit(self) -> None:
        code = self.take_field("#code", "helpdesk.code.empty")
        if code is not None:
            self._on_submit(code)

    def show_refusal(self, message: str) -> None:
        self.say(message)

    def action_back(self) -> None:
        self.wipe()
        self._on_back()
