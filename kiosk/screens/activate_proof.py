"""Activation: prove who you are with the details the organisation holds
(``[activation] proof``: one plain field per label, e.g. "Employee ID").

The values are not secrets, but they are personal: they go straight to one
backend call, are never logged, and the fields are emptied on submit. The
screen never learns which value was wrong, nor whether the account exists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.widgets import Input, Static

from kiosk.messages import label_text, text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.text_field import TextField

PROOF_MAX = 256


class ActivateProofScreen(KioskScreen):
    title_key = "activate.proof.title"

    def __init__(self, labels: Sequence[str], on_submit: Callable[[list[str]], None]) -> None:
        super().__init__()
        self._on_submit = on_submit
        self._labels = tuple(labels)

    def compose_form(self) -> ComposeResult:
        yield Static(text("activate.proof.intro"), classes="hint", markup=False)
        for number, label in enumerate(self._labels, 1):
            yield Static(label_text(label), classes="label", markup=False)
            yield TextField(id=f"proof-{number}", max_length=PROOF_MAX, select_on_focus=False, classes="proof")

    def fields(self) -> list[Input]:
        return list(self.query(".proof").results(Input))

    def submit(self) -> None:
        fields = self.fields()
        empty = [f for f in fields if not f.value.strip()]
        if empty:
            self.say(text("activate.proof.empty"))
            self.set_focus(empty[0])
            return
        self.say("")
        values = [f.value for f in fields]
        for field in fields:
            field.clear()
        self._on_submit(values)
        del values
