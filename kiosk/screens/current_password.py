"""Enrollment step 1: prove who you are with your current password."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.secret_input import PASSWORD_MAX, SecretInput


class CurrentPasswordScreen(KioskScreen):
    title_key = "current_password.title"
    #: The sentence above the field ({name}: the typed name).
    intro_key = "current_password.intro"

    def __init__(self, name: str, on_submit: Callable[[str], None]) -> None:
        super().__init__()
        self._on_submit = on_submit
        self._name = name

    def compose_form(self) -> ComposeResult:
        yield Static(text(self.intro_key, name=self._name), classes="label", markup=False)
        yield Static(text("current_password.label"), classes="label", markup=False)
        yield SecretInput(id="password", max_length=PASSWORD_MAX)

    def submit(self) -> None:
        field = self.query_one("#password", SecretInput)
        if not field.value:
            self.say(text("current_password.empty"))
            return
        self.say("")
        self._on_submit(field.take())

    def show_refusal(self, message: str) -> None:
        self.query_one("#password", SecretInput).wipe()
        self.say(message)
        self.set_focus(self.query_one("#password", SecretInput))
