"""Enroll: who -> the current password -> the questions -> review -> saved."""

from __future__ import annotations

from kiosk.flows.base import WRONG_PASSWORD
from kiosk.flows.self_service import PasswordFirstFlow
from kiosk.messages import text
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.enroll_review import EnrollReviewScreen


class EnrollFlow(PasswordFirstFlow):
    action = "enroll"
    order = 30
    password: CurrentPasswordScreen
    #: (question id, answer) from the questions to the review: secret, kept only until saved
    answers: list[tuple[str, str]] | None = None

    def ask_password(self) -> None:
        self.password = self.show(CurrentPasswordScreen(self.typed_name, self.prove_password))

    def prove_password(self, password: str) -> None:
        service, visit, screen = self.service, self._visit, self.password
        assert visit is not None
        self.host.call_backend(
            lambda: service.prove_password(visit, password),
            lambda _: self._ask_questions(),
            on_error=self.refusal(WRONG_PASSWORD, screen, screen.show_refusal),
        )

    def _ask_questions(self) -> None:
        service, visit = self.service, self._visit
        assert visit is not None
        check = self.answer_checker(lambda qid, answer, earlier: service.check_answer(visit, qid, answer, earlier))
        self.show(EnrollQuestionsScreen(service.questionnaire, check, self._review))

    def _review(self, answers: list[tuple[str, str, str]]) -> None:
        self.answers = [(qid, answer) for qid, _, answer in answers]
        self.show(EnrollReviewScreen([question for _, question, _ in answers], self._save, self._leave_review))

    def _leave_review(self) -> None:
        """Back from the review: the answers are asked again."""
        self.answers = None
        self.host.back()

    def _save(self) -> None:
        service, visit = self.service, self._visit
        answers, self.answers = self.answers, None
        if visit is None or not answers:
            return
        self.host.call_backend(
            lambda: service.enroll(visit, answers),
            lambda _: self.host.show_result(True, text("enroll.done")),
            busy="busy.saving",
        )

    def wipe(self) -> None:
        super().wipe()
        self.answers = None
