"""Answer the security questions; all are checked together at the end.

The screen never learns which answer was wrong, and cannot tell a real
question from a decoy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kiosk.backend.model import Question

from kiosk.screens.answers_form import AnswersForm
from kiosk.screens.base import KioskScreen


class ChallengeScreen(AnswersForm, KioskScreen):
    title_key = "challenge.title"
    intro_key = "challenge.intro"
    empty_key = "challenge.empty"

    def __init__(self, questions: Sequence[Question], on_submit: Callable[[list[str]], None]) -> None:
        super().__init__()
        self._on_submit = on_submit
        self.set_questions(questions)

    def submit(self) -> None:
        answers = self.take_answers()
        if answers is not None:
            self._on_submit(answers)
            del answers
