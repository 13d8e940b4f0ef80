"""Unlock and reset, when the policy asks for it: a code after the questions,
from the person's authenticator app (or a recovery code), or sent by e-mail
(``EmailCodeScreen``). Everyone sees these screens, whether or not they have
an authenticator app or an address: they say nothing about the person."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.text_field import TextField

CODE_MAX = 16


class CodeScreen(KioskScreen):
    title_key = "code.title"
    label_key = "code.label"
    empty_key = "code.empty"

    def __init__(self, on_submit: Callable[[str], None]) -> None:
        super().__init__()
        self._on_submit = on_submit

    def intro(self) -> str:
        return text("code.intro")

    def compose_form(self) -> ComposeResult:
        yield Static(self.intro(), classes="hint", markup=False)
        yield Static(text(self.label_key), classes="label", markup=False)
        yield TextField(id="code", max_length=CODE_MAX, select_on_focus=False)

    def submit(self) -> None:
        code = self.take_field("#code", self.empty_key)
        if code is not None:
            self._on_submit(code)


class EmailCodeScreen(CodeScreen):
    """The code sent by e-mail: to the masked address the backend gave (a
    decoy of the same shape for people without one). F5 asks for a new code."""

    title_key = "email_code.title"
    label_key = "email_code.label"
    empty_key = "email_code.empty"
    keys_key = "email_code.keys"
    BINDINGS = [Binding("f5", "resend", show=False)]

    def __init__(
        self, address: str, minutes: int, on_submit: Callable[[str], None], on_resend: Callable[[], None]
    ) -> None:
        super().__init__(on_submit)
        self._address = address
        self._minutes = minutes
        self._on_resend = on_resend

    def intro(self) -> str:
        return text("email_code.intro", address=self._address, minutes=self._minutes)

    def action_resend(self) -> None:
        self.say("")
        self._on_resend()

    def resent(self) -> None:
        self.say(text("email_code.resent"), error=False)
