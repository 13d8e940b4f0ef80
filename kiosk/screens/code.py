"""Unlock and reset, when the policy asks for it: the authenticator's code
(or a recovery code), after the questions. Everyone sees this screen, whether
or not they have an authenticator app: it says nothing about the person."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.text_field import TextField

CODE_MAX = 16


class CodeScreen(KioskScreen):
    title_key = "code.title"

    def __init__(self, on_submit: Callable[[str], None]) -> None:
        super().__init__()
        self._on_submit = on_submit

    def compose_form(self) -> ComposeResult:
        yield Static(text("code.intro"), classes="hint", markup=False)
        yield Static(text("code.label"), classes="label", markup=False)
        yield TextField(id="code", max_length=CODE_MAX, select_on_focus=False)

    def submit(self) -> None:
        field = self.query_one("#code", TextField)
        if not field.value.strip():
            self.say(text("code.empty"))
            return
        self.say("")
        code = field.value
        field.clear()
        self._on_submit(code)
