"""Answer the security questions; all are checked together at the end.

The screen never learns which answer was wrong, and cannot tell a real
question from a decoy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kiosk.screens.answers_form import AnswersForm
from kiosk.screens.base import KioskScreen


class ChallengeScreen(AnswersForm, KioskScreen):
    title_key = "challenge.title"
    intro_key = "challenge.intro"
    empty_key = "challenge.empty"

    def __init__(self, questions: Sequence[Any]) -> None:
        super().__init__()
        self.set_questions(questions)

    def submit(self) -> None:
        answers = self.take_answers()
        if answers is not None:
            self.kiosk.verify_answers(answers)
            del answers
