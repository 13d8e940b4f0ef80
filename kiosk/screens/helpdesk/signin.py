"""The operator proves their own directory password (``require_operator_password``)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.helpdesk.base import HelpdeskScreen
from kiosk.widgets.secret_input import SecretInput


class HelpdeskSignInScreen(HelpdeskScreen):
    title_key = "helpdesk.signin.title"
    keys_key = "helpdesk.keys.signin"

    def __init__(self, operator: str, on_submit: Callable[[str], None], on_back: Callable[[], None]) -> None:
        super().__init__()
        self._on_submit = on_submit
        self._on_back = on_back
        self._operator = operator

    def compose_form(self) -> ComposeResult:
        yield Static(text("helpdesk.signin.intro", operator=self._operator), classes="hint", markup=False)
        yield Static(text("helpdesk.signin.label"), classes="label", markup=False)
        yield SecretInput(id="password")

    def submit(self) -> None:
        field = self.query_one("#password", SecretInput)
        if not field.value:
            self.say(text("helpdesk.signin.empty"))
            self.set_focus(field)
            return
        self.say("")
        self._on_submit(field.take())

    def show_refusal(self, message: str) -> None:
        field = self.query_one("#password", SecretInput)
        field.wipe()
        self.say(message)
        self.set_focus(field)

    def action_back(self) -> None:
        self._on_back()
