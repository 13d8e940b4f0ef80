"""Who are you? One field: the user name as the person knows it."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Input, Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.text_field import TextField

NAME_MAX = 256


class IdentifyScreen(KioskScreen):
    title_key = "identify.title"

    def __init__(self, default_domain: str, on_submit: Callable[[str], None]) -> None:
        super().__init__()
        self._on_submit = on_submit
        self._default_domain = default_domain

    def compose_form(self) -> ComposeResult:
        yield Static(text("identify.label"), classes="label", markup=False)
        yield TextField(id="user", max_length=NAME_MAX, select_on_focus=False)  # the hint is under it, once
        yield Static(text("identify.hint"), classes="hint", markup=False)
        if self._default_domain:
            yield Static(text("identify.default_domain", domain=self._default_domain), classes="hint", markup=False)

    def submit(self) -> None:
        typed = self.query_one("#user", Input).value.strip()
        if not typed:
            self.say(text("identify.empty"))
            return
        self.say("")
        self._on_submit(typed)
