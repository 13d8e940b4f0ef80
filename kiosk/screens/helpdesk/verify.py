"""Verify a caller: the operator asks the caller's questions and types what
they say, masked. The result is verified or not, never which answer was wrong."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kiosk.messages import text
from kiosk.screens.answers_form import AnswersForm
from kiosk.screens.helpdesk.base import HelpdeskScreen

if TYPE_CHECKING:
    from kiosk.backend.model import Question


class HelpdeskVerifyScreen(AnswersForm, HelpdeskScreen):
    keys_key = "helpdesk.keys.verify"
    intro_key = "helpdesk.verify.intro"
    empty_key = "helpdesk.verify.empty"

    def __init__(
        self,
        account_name: str,
        questions: Sequence[Question],
        on_submit: Callable[[list[str]], None],
        on_back: Callable[[], None],
    ) -> None:
        super().__init__()
        self._on_submit = on_submit
        self._on_back = on_back
        self._account_name = account_name
        self.set_questions(questions)

    def screen_title(self) -> str:
        return text("helpdesk.verify.title", account=self._account_name)

    def submit(self) -> None:
        answers = self.take_answers()
        if answers is not None:
            self._on_submit(answers)
            del answers

    def action_back(self) -> None:
        self.wipe()
        self._on_back()
