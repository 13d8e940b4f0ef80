"""Answer the security questions; all are checked together at the end.

The screen never learns which answer was wrong, and cannot tell a real
question from a decoy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.secret_input import ANSWER_MAX, SecretInput


class ChallengeScreen(KioskScreen):
    title_key = "challenge.title"

    def __init__(self, questions: Sequence[Any]) -> None:
        super().__init__()
        self._questions = tuple(questions)

    def compose_form(self) -> ComposeResult:
        yield Static(text("challenge.intro"), classes="hint", markup=False)
        for number, question in enumerate(self._questions, 1):
            yield Static(f"{number}. {question.text}", classes="label", markup=False)
            yield SecretInput(id=f"answer-{number}", max_length=ANSWER_MAX, classes="answer")

    def answers(self) -> list[SecretInput]:
        return list(self.query(".answer").results(SecretInput))

    def submit(self) -> None:
        fields = self.answers()
        empty = [f for f in fields if not f.value]
        if empty:
            self.say(text("challenge.empty"))
            self.set_focus(empty[0])
            return
        self.say("")
        answers = [f.take() for f in fields]
        self.kiosk.verify_answers(answers)
        del answers

    def show_refusal(self, message: str) -> None:
        fields = self.answers()
        for field in fields:
            field.wipe()
        self.say(message)
        if fields:
            self.set_focus(fields[0])
