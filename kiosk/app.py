"""KioskApp: lockdown, idle timeout, theme, screen routing, wipe.

The app routes one visit through the screens and runs every backend call in a
thread worker behind a BusyScreen. It never decides policy: ``SelfService``
does. Secrets (passwords, answers) go straight from a field to one worker call.

    app = KioskApp(settings)            # builds the service after the first frame
    app.run()                           # mouse from settings.kiosk.mouse
    sys.exit(app.return_code or 0)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from time import monotonic
from typing import Any

from textual.worker import Worker, WorkerState

from kiosk.app_base import (  # noqa: F401 - re-exported: kiosk.app is where callers look
    HIGH_CONTRAST,
    THEMES,
    THEMES_DIR,
    LockedDownApp,
    new_reference,
    resolve_theme,
)
from kiosk.config import Settings
from kiosk.messages import error_text, text
from kiosk.screens.activate_proof import ActivateProofScreen
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.enroll_review import EnrollReviewScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.backend.terminal import terminal_name

log = logging.getLogger("kiosk")

#: Errors shown on the screen that asked, in words, instead of the error panel.
INLINE = {
    "prove": {"invalid_credentials", "account_not_found", "account_locked"},
    "verify": {"verification_failed"},
    "reset": {"password_rejected"},
}
#: Errors that end the visit with a failure result rather than the error panel.
RESULT_CODES = {
    "throttled",
    "not_allowed",
    "account_disabled",
    "account_expired",
    "verification_failed",
    "proof_unavailable",
}


class KioskApp(LockedDownApp):
    """The public kiosk: one visit at a time, back to Welcome after each."""

    def __init__(
        self,
        settings: Settings,
        *,
        service: Any | None = None,
        service_factory: Callable[[], Any] | None = None,
        settings_loader: Callable[[], Settings] | None = None,
        activation: Any | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            settings,
            service=service,
            service_factory=service_factory,
            settings_loader=settings_loader,
            environ=environ,
        )
        #: Account activation (``kiosk.backend.activation.Activation``): given, or
        #: built beside the service on the same Backend; None = not available.
        self.activation: Any | None = activation
        if activation is None and service is not None:
            self.activation = self._build_activation(service)
        self._activation_timer: Any | None = None
        self.terminal = terminal_name(settings.kiosk.terminal_id, environ)
        self.visit: Any | None = None
        self.action: str | None = None
        self._typed_name = ""
        self._enroll_answers: list[tuple[str, str]] | None = None
        self._in_visit = False
        self._welcome_outdated = False
        self.resets = 0

    # --- startup -----------------------------------------------------------------

    @property
    def banner_text(self) -> str:
        kiosk_settings = self.settings.kiosk
        parts = [kiosk_settings.title, kiosk_settings.organisation]
        return " - ".join(p for p in parts if p)

    @property
    def idle_seconds(self) -> float:
        return self.settings.kiosk.idle_timeout_seconds

    def start(self) -> None:
        self.push_screen(self._new_welcome())

    def _new_welcome(self) -> WelcomeScreen:
        features = self.service.features if self.service is not None else self.settings.features
        return WelcomeScreen(features, self.settings.kiosk.help_text, self.choose, service=self.service)

    def _build_service(self) -> Any:
        """In the service worker: the SelfService, and Activation on the same Backend."""
        if self._service_factory is not None:
            service = self._service_factory()
        else:
            from kiosk.backend.wiring import build_service

            service = build_service(self.settings)
        if self.activation is None:
            self.activation = self._build_activation(service)
        return service

    def _build_activation(self, service: Any) -> Any | None:
        """Activation shares the service's Backend (directory, store, throttle,
        audit); None when switched off or the service has no Backend (fakes)."""
        backend = getattr(service, "backend", None)
        if not self.settings.features.activate or backend is None:
            return None
        from kiosk.backend.activation import Activation

        return Activation(self.settings, backend)

    def settings_changed(self) -> None:
        self._welcome_outdated = True  # shown afresh once the service is ready

    def service_ready(self, service: Any) -> None:
        if self._welcome_outdated and not self._in_visit and not self._waiting_for_service:
            self.call_later(self._rebuild_stack)
        self._welcome_outdated = False
        for screen in self.screen_stack:
            if isinstance(screen, WelcomeScreen):
                screen.show_service(service)

    # --- idle and reset -------------------------------------------------------------------

    def _idle_paused(self) -> bool:
        return not self._in_visit or super()._idle_paused()

    def idle_timeout(self) -> None:
        log.info("idle timeout: back to the start")
        self.request_reset()

    def wipe_state(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, (EnrollQuestionsScreen, ActivateProofScreen)):
                screen.wipe()
        self._enroll_answers = None

    def request_reset(self) -> None:
        """Back to a fresh Welcome screen: nothing of the previous person survives."""
        self._generation += 1
        self.wipe()
        self._stop_activation_timer()
        visit, self.visit = self.visit, None
        self.action = None
        self._typed_name = ""
        self._in_visit = False
        self._waiting_for_service.clear()
        if visit is not None and self.service is not None:
            self._end_visit(visit)
        self.call_later(self._rebuild_stack)

    async def _rebuild_stack(self) -> None:
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(self._new_welcome())
        self._last_activity = monotonic()
        self.resets += 1

    def _end_visit(self, visit: Any) -> None:
        # An activation visit is ended by Activation (it knows what it proved).
        service = self.activation if hasattr(visit, "missing") and self.activation is not None else self.service

        def end() -> None:
            try:
                service.end(visit)
            except Exception as error:  # noqa: BLE001 - ending is best effort
                log.warning("ending visit %s failed: %s", getattr(visit, "reference", "?"), error)

        self.run_worker(end, thread=True, exit_on_error=False, group="end", name="end-visit")

    def go_back(self) -> None:
        """Esc: one screen back; back at the start, the visit is over."""
        if len(self.screen_stack) <= 3:  # _default, Welcome, this one
            self.request_reset()
            return
        if isinstance(self.screen, NewPasswordScreen) and self.action == "activate":
            self._enroll_answers = None  # back to the questions: they are asked again
        self.pop_screen()

    # --- backend calls -----------------------------------------------------------------------

    def stale_result(self, worker: Worker[Any]) -> None:
        if worker.state == WorkerState.SUCCESS and hasattr(worker.result, "reference"):
            self._end_visit(worker.result)

    def reference(self) -> str:
        return getattr(self.visit, "reference", None) or new_reference()

    def error_closed(self) -> None:
        self.request_reset()

    def show_error(self, error: BaseException) -> None:
        """Plain words and a reference; details to the log only; then back to the start."""
        if getattr(error, "code", None) in RESULT_CODES:
            self._log_error(error, self.reference())
            self.show_result(False, error_text(error))
            return
        super().show_error(error)

    def show_result(self, success: bool, message: str) -> None:
        self.wipe()
        self.push_screen(ResultScreen(success, message, self.settings.kiosk.result_seconds, self.request_reset))

    def _inline(self, stage: str, screen: Any) -> Callable[[BaseException], bool]:
        def handle(error: BaseException) -> bool:
            if getattr(error, "code", None) in INLINE[stage] and screen in self.screen_stack:
                self._log_error(error, self.reference())
                screen.show_refusal(error_text(error))
                return True
            return False

        return handle

    # --- the flow of one visit -------------------------------------------------------------

    def choose(self, action: str) -> None:
        """Welcome: the person chose unlock / reset / enroll / activate."""
        self.action = action
        self._in_visit = True
        self._last_activity = monotonic()
        if action == "activate":
            self._with_service(self._start_activation)
            return
        self._with_service(self._ask_identity)

    def _ask_identity(self) -> None:
        assert self.service is not None
        domain = getattr(self.service, "default_domain", "") or self.settings.directory.effective_default_domain
        self.push_screen(IdentifyScreen(domain, self.identified))

    def identified(self, typed: str) -> None:
        service, terminal = self.service, self.terminal
        assert service is not None
        if self.visit is not None:
            self._end_visit(self.visit)
            self.visit = None
        if self.action == "activate":
            self._begin_activation(typed)
            return

        def begin() -> Any:
            visit = service.begin(typed, terminal)
            if self.action == "enroll":
                return visit, None
            return visit, tuple(service.challenge(visit))

        self._typed_name = typed
        self.call_backend(begin, self._begun)

    def _begun(self, result: tuple[Any, Any]) -> None:
        visit, questions = result
        self.visit = visit
        if self.action == "enroll":
            self.push_screen(CurrentPasswordScreen(self._typed_name, self.prove_password))
        else:
            self.push_screen(ChallengeScreen(questions, self.verify_answers))

    # enrollment

    def prove_password(self, password: str) -> None:
        service, visit = self.service, self.visit
        assert service is not None
        screen = self.screen
        self.call_backend(
            lambda: service.prove_password(visit, password),
            lambda _: self._ask_questions(service.questionnaire),
            on_error=self._inline("prove", screen),
        )

    def check_answer(self, question_id: str, answer: str, earlier: Sequence[str]) -> BaseException | None:
        """Fast and pure (no hashing): called inline on submit of each answer."""
        checker = self.activation if self.action == "activate" else self.service
        assert checker is not None
        try:
            checker.check_answer(self.visit, question_id, answer, list(earlier))
        except Exception as error:  # noqa: BLE001
            if getattr(error, "code", None) == "answer_rejected":
                return error
            self.show_error(error)
            return error
        return None

    def review_enrollment(self, answers: list[tuple[str, str, str]]) -> None:
        self._enroll_answers = [(qid, answer) for qid, _, answer in answers]
        if self.action == "activate":
            self._ask_activation_password()  # no review: the password is next
            return
        self.push_screen(EnrollReviewScreen([question for _, question, _ in answers], self.save_enrollment, self._leave_review))

    def _ask_questions(self, questionnaire: Any) -> None:
        self.push_screen(EnrollQuestionsScreen(questionnaire, self.check_answer, self.review_enrollment))

    def _leave_review(self) -> None:
        self._enroll_answers = None
        self.go_back()

    def save_enrollment(self) -> None:
        service, visit = self.service, self.visit
        answers, self._enroll_answers = self._enroll_answers, None
        if service is None or not answers:
            return
        self.call_backend(
            lambda: service.enroll(visit, answers),
            lambda _: self.show_result(True, text("enroll.done")),
            busy="busy.saving",
        )

    # unlock / reset

    def verify_answers(self, answers: list[str]) -> None:
        service, visit, action = self.service, self.visit, self.action
        assert service is not None

        def verify_then_act() -> Any:
            try:
                service.verify(visit, answers)
            finally:
                answers.clear()
            if action == "unlock":
                return service.unlock(visit)
            return service.password_rules(visit)

        def done(result: Any) -> None:
            if action == "unlock":
                self.show_result(True, text("result.unlocked", account=result))
            else:
                self.push_screen(NewPasswordScreen(result, self.reset_password))

        self.call_backend(verify_then_act, done, on_error=self._inline("verify", self.screen))

    def reset_password(self, password: str) -> None:
        if self.action == "activate":
            self._complete_activation(password)
            return
        service, visit = self.service, self.visit
        assert service is not None
        self.call_backend(
            lambda: service.reset_password(visit, password),
            lambda account: self.show_result(True, text("result.reset", account=account)),
            busy="busy.saving",
            on_error=self._inline("reset", self.screen),
        )

    # activation: who -> proof -> questions -> password -> complete (the one write)

    def _start_activation(self) -> None:
        if self.activation is None:
            self.show_result(False, text("result.activate_unavailable"))
            return
        self._stop_activation_timer()
        generation = self._generation
        self._activation_timer = self.set_timer(
            self.activation.limit_seconds, lambda: self._activation_limit(generation), name="activation-limit"
        )
        self._ask_identity()

    def _stop_activation_timer(self) -> None:
        timer, self._activation_timer = self._activation_timer, None
        if timer is not None:
            timer.stop()

    def _activation_limit(self, generation: int) -> None:
        """The activation session limit: wipe and back to Welcome (the backend
        refuses the old visit as well). A call already running may finish first."""
        if generation != self._generation:
            return
        if self._calls:
            self._activation_timer = self.set_timer(1, lambda: self._activation_limit(generation))
            return
        log.info("activation session limit reached: back to the start")
        self.request_reset()

    def _begin_activation(self, typed: str) -> None:
        activation, terminal = self.activation, self.terminal
        assert activation is not None

        def begin() -> tuple[Any, Any]:
            visit = activation.begin(typed, terminal)
            try:
                return visit, tuple(activation.proof_labels(visit))
            except Exception as error:  # noqa: BLE001 - shown with this visit's reference
                if getattr(error, "code", None) != "proof_unavailable":
                    raise
                return visit, error

        self._typed_name = typed
        self.call_backend(begin, self._activation_begun)

    def _activation_begun(self, result: tuple[Any, Any]) -> None:
        visit, labels = result
        self.visit = visit
        if isinstance(labels, BaseException):  # ProofUnavailable: the help desk, never a question
            reference = self.reference()
            self._log_error(labels, reference)
            self.show_result(False, f"{error_text(labels)}\n{text('reference', reference=reference)}")
            return
        self.push_screen(ActivateProofScreen(labels, self.prove_identity))

    def prove_identity(self, values: list[str]) -> None:
        activation, visit = self.activation, self.visit
        assert activation is not None

        def prove() -> None:
            try:
                activation.prove(visit, values)
            finally:
                values.clear()

        self.call_backend(
            prove,
            lambda _: self._ask_questions(activation.questionnaire),
            on_error=self._activation_refused,
        )

    def _activation_refused(self, error: BaseException) -> bool:
        """Wrong details, unknown, ineligible, already activated: one and the same result."""
        if getattr(error, "code", None) != "verification_failed":
            return False
        self._log_error(error, self.reference())
        self.show_result(False, text("activate.failed"))
        return True

    def _ask_activation_password(self) -> None:
        activation, visit = self.activation, self.visit
        assert activation is not None
        self.call_backend(
            lambda: activation.password_rules(visit), lambda rules: self.push_screen(NewPasswordScreen(rules, self.reset_password))
        )

    def _complete_activation(self, password: str) -> None:
        activation, visit, answers = self.activation, self.visit, self._enroll_answers
        assert activation is not None
        if not answers:
            self.request_reset()
            return
        inline = self._inline("reset", self.screen)

        def done(account: str) -> None:
            self._enroll_answers = None
            self._stop_activation_timer()
            self.show_result(True, text("result.activated", account=account))

        def failed(error: BaseException) -> bool:
            if inline(error):  # the directory refused the password: choose another
                return True
            if getattr(error, "code", None) != "activation_incomplete":
                return False
            reference = self.reference()
            self._log_error(error, reference)
            note = text("activate.password_may_be_set") if getattr(error, "password_set", True) else ""
            self.show_result(False, text("activate.incomplete", password_note=note, reference=reference))
            return True

        self.call_backend(
            lambda: activation.complete(visit, list(answers), password),
            done,
            busy="busy.saving",
            on_error=failed,
        )
