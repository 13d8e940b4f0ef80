"""Activate: who -> proof -> questions -> password -> complete (the one write).

The whole visit is held to ``Activation.limit_seconds``: then it is wiped and
back to Welcome (the backend refuses the old visit as well).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.backend.errors import ActivationIncomplete, PasswordRejected, ProofUnavailable, VerificationFailed
from kiosk.flows.base import Flow
from kiosk import messages
from kiosk.messages import error_text, text
from kiosk.screens.activate_proof import ActivateProofScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.new_password import NewPasswordScreen

if TYPE_CHECKING:
    from textual.timer import Timer

    from kiosk.backend.activation import ActivationVisit
    from kiosk.backend.policy import PasswordRules
    from kiosk.backend.ports import ActivationPort

log = logging.getLogger("kiosk")


class ActivateFlow(Flow):
    action = "activate"
    order = 40
    _visit: ActivationVisit | None = None
    _timer: Timer | None = None
    #: (question id, answer) from the questions to the completion: secret
    answers: list[tuple[str, str]] | None = None
    new_password: NewPasswordScreen | None = None

    @property
    def activation(self) -> ActivationPort:
        activation = self.host.activation
        assert activation is not None
        return activation

    @property
    def visit(self) -> ActivationVisit | None:
        return self._visit

    def start(self) -> None:
        if self.host.activation is None:
            self.host.show_result(False, text("result.activate_unavailable"))
            return
        self._timer = self.host.start_timer(self.activation.limit_seconds, self._limit)
        service = self.host.service
        self.ask_identity(service.default_domain if service is not None else "")

    def _limit(self) -> None:
        """The session limit: wipe and back to Welcome. A call already running may finish first."""
        if self.host.calls_running():
            self._timer = self.host.start_timer(1, self._limit)
            return
        log.info("activation session limit reached: back to the start")
        self.host.request_reset()

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.stop()

    def identified(self, typed: str) -> None:
        self._end_visit()
        self.typed_name = typed
        activation, terminal, language = self.activation, self.host.terminal, messages.language()

        def begin() -> tuple[ActivationVisit, tuple[str, ...] | ProofUnavailable]:
            visit = activation.begin(typed, terminal, language)
            try:
                return visit, tuple(activation.proof_labels(visit))
            except ProofUnavailable as error:  # shown with this visit's reference
                return visit, error

        self.host.call_backend(begin, self._begun, on_stale=lambda result: self._end_in_background(result[0]))

    def _begun(self, result: tuple[ActivationVisit, tuple[str, ...] | ProofUnavailable]) -> None:
        self._visit, labels = result
        if isinstance(labels, ProofUnavailable):  # the help desk, never a question
            reference = self.host.reference()
            self.host.log_error(labels, reference)
            self.host.show_result(False, f"{error_text(labels)}\n{text('reference', reference=reference)}")
            return
        self.show(ActivateProofScreen(labels, self.prove))

    def prove(self, values: list[str]) -> None:
        activation, visit = self.activation, self._visit
        assert visit is not None

        def prove() -> None:
            try:
                activation.prove(visit, values)
            finally:
                values.clear()

        self.host.call_backend(prove, lambda _: self._ask_questions(), on_error=self._refused)

    def _refused(self, error: BaseException) -> bool:
        """Wrong details, unknown, ineligible, already activated: one and the same result."""
        if not isinstance(error, VerificationFailed):
            return False
        self.host.log_error(error, self.host.reference())
        self.host.show_result(False, text("activate.failed"))
        return True

    def _ask_questions(self) -> None:
        activation, visit = self.activation, self._visit
        assert visit is not None
        check = self.answer_checker(lambda qid, answer, earlier: activation.check_answer(visit, qid, answer, earlier))
        self.show(EnrollQuestionsScreen(activation.questionnaire, check, self._answered))

    def _answered(self, answers: list[tuple[str, str, str]]) -> None:
        """No review: the password is next."""
        self.answers = [(qid, answer) for qid, _, answer in answers]
        activation, visit = self.activation, self._visit
        assert visit is not None
        self.host.call_backend(lambda: activation.password_rules(visit), self._ask_password)

    def _ask_password(self, rules: PasswordRules) -> None:
        self.new_password = self.show(NewPasswordScreen(rules, self.complete))

    def back(self) -> None:
        if self.new_password is not None and self.host.shown(self.new_password):
            self.answers = None  # back to the questions: they are asked again
            self.new_password = None
        self.host.back()

    def complete(self, password: str) -> None:
        activation, visit, answers, screen = self.activation, self._visit, self.answers, self.new_password
        if visit is None or not answers or screen is None:
            self.host.request_reset()
            return
        rejected = self.refusal((PasswordRejected,), screen, screen.show_refusal)

        def done(account: str) -> None:
            self.answers = None
            self._stop_timer()
            self.host.show_result(True, text("result.activated", account=account))

        def failed(error: BaseException) -> bool:
            if rejected(error):  # the directory refused the password: choose another
                return True
            if not isinstance(error, ActivationIncomplete):
                return False
            reference = self.host.reference()
            self.host.log_error(error, reference)
            note = text("activate.password_may_be_set") if error.password_set else ""
            self.host.show_result(False, text("activate.incomplete", password_note=note, reference=reference))
            return True

        self.host.call_backend(
            lambda: activation.complete(visit, list(answers), password), done, busy="busy.saving", on_error=failed
        )

    def wipe(self) -> None:
        super().wipe()
        self.answers = None

    def end(self) -> None:
        self._stop_timer()
        self._end_visit()

    def _end_visit(self) -> None:
        visit, self._visit = self._visit, None
        if visit is not None:
            self._end_in_background(visit)

    def _end_in_background(self, visit: ActivationVisit) -> None:
        activation = self.activation
        self.host.in_background(lambda: activation.end(visit))
