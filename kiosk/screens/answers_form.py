"""The form both the kiosk's challenge and the helpdesk's caller check use:
the questions, one masked answer each, all checked together at the end.

Not a screen itself: a mixin for KioskScreen subclasses. It never learns which
answer was wrong, and cannot tell a real question from a decoy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.messages import question_text, text
from kiosk.widgets.secret_input import ANSWER_MAX, SecretInput

if TYPE_CHECKING:
    from kiosk.backend.model import Question


class AnswersForm:
    intro_key = ""
    empty_key = ""
    _questions: tuple[Question, ...] = ()

    def set_questions(self, questions: Sequence[Question]) -> None:
        self._questions = tuple(questions)

    def compose_form(self) -> ComposeResult:
        yield Static(text(self.intro_key), classes="hint", markup=False)
        for number, question in enumerate(self._questions, 1):
            yield Static(f"{number}. {question_text(question)}", classes="label", markup=False)
            yield SecretInput(id=f"answer-{number}", max_length=ANSWER_MAX, classes="answer")

    def answers(self) -> list[SecretInput]:
        return list(self.query(".answer").results(SecretInput))  # type: ignore[attr-defined]

    def take_answers(self) -> list[str] | None:
        """Every answer, each field emptied as it is read; None (and a hint)
        while a field is still empty."""
        fields = self.answers()
        empty = [f for f in fields if not f.value]
        if empty:
            self.say(text(self.empty_key))  # type: ignore[attr-defined]
            self.set_focus(empty[0])  # type: ignore[attr-defined]
            return None
        self.say("")  # type: ignore[attr-defined]
        return [f.take() for f in fields]

    def show_refusal(self, message: str) -> None:
        fields = self.answers()
        for field in fields:
            field.wipe()
        self.say(message)  # type: ignore[attr-defined]
        if fields:
            self.set_focus(fields[0])  # type: ignore[attr-defined]
