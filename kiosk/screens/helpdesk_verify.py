"""Verify a caller: the operator asks the caller's questions and types what
they say, masked. The result is verified or not, never which answer was wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.helpdesk_base import HelpdeskScreen
from kiosk.widgets.secret_input import ANSWER_MAX, SecretInput


class HelpdeskVerifyScreen(HelpdeskScreen):
    keys_key = "helpdesk.keys.verify"

    def __init__(self, account_name: str, questions: Sequence[Any]) -> None:
        super().__init__()
        self._account_name = account_name
        self._questions = tuple(questions)

    def screen_title(self) -> str:
        return text("helpdesk.verify.title", account=self._account_name)

    def compose_form(self) -> ComposeResult:
        yield Static(text("helpdesk.verify.intro"), classes="hint", markup=False)
        for number, question in enumerate(self._questions, 1):
            yield Static(f"{number}. {question.text}", classes="label", markup=False)
            yield SecretInput(id=f"answer-{number}", max_length=ANSWER_MAX, classes="answer")

    def answers(self) -> list[SecretInput]:
        return list(self.query(".answer").results(SecretInput))

    def submit(self) -> None:
        fields = self.answers()
        empty = [f for f in fields if not f.value]
        if empty:
            self.say(text("helpdesk.verify.empty"))
            self.set_focus(empty[0])
            return
        self.say("")
        answers = [f.take() for f in fields]
        self.desk.check_answers(answers)
        del answers

    def show_refusal(self, message: str) -> None:
        fields = self.answers()
        for field in fields:
            field.wipe()
        self.say(message)
        if fields:
            self.set_focus(fields[0])

    def action_back(self) -> None:
        self.wipe()
        self.desk.leave_verify()
