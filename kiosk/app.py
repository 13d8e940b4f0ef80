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
import os
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
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.enroll_review import EnrollReviewScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.welcome import WelcomeScreen

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
}


def terminal_name(settings: Settings, environ: dict[str, str] | None = None) -> str:
    environ = environ if environ is not None else dict(os.environ)
    if settings.kiosk.terminal_id:
        return settings.kiosk.terminal_id
    client = environ.get("SSH_CLIENT", "").split(" ")[0]
    if client:
        return f"ssh:{client}"
    try:
        return os.ttyname(0)
    except OSError:
        return "console"


class KioskApp(LockedDownApp):
    """The public kiosk: one visit at a time, back to Welcome after each."""

    def __init__(
        self,
        settings: Settings,
        *,
        service: Any | None = None,
        service_factory: Callable[[], Any] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        super().__init__(settings, service=service, service_factory=service_factory, environ=environ)
        self.terminal = terminal_name(settings, environ)
        self.visit: Any | None = None
        self.action: str | None = None
        self._typed_name = ""
        self._enroll_answers: list[tuple[str, str]] | None = None
        self._in_visit = False
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
        return WelcomeScreen(features, self.settings.kiosk.help_text)

    def _build_service(self) -> Any:
        if self._service_factory is not None:
            return self._service_factory()
        from kiosk.backend.service import build_service

        return build_service(self.settings)

    def service_ready(self, service: Any) -> None:
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
            if isinstance(screen, EnrollQuestionsScreen):
                screen.wipe()
        self._enroll_answers = None

    def request_reset(self) -> None:
        """Back to a fresh Welcome screen: nothing of the previous person survives."""
        self._generation += 1
        self.wipe()
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
        service = self.service

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
        else:
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
        self.push_screen(ResultScreen(success, message, self.settings.kiosk.result_seconds))

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
            self.show_result(False, text("result.activate_unavailable"))
            return
        self._with_service(self._ask_identity)

    def _ask_identity(self) -> None:
        assert self.service is not None
        domain = getattr(self.service, "default_domain", "") or self.settings.directory.effective_default_domain
        self.push_screen(IdentifyScreen(domain))

    def identified(self, typed: str) -> None:
        service, terminal = self.service, self.terminal
        assert service is not None
        if self.visit is not None:
            self._end_visit(self.visit)
            self.visit = None

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
            self.push_screen(CurrentPasswordScreen(self._typed_name))
        else:
            self.push_screen(ChallengeScreen(questions))

    # enrollment

    def prove_password(self, password: str) -> None:
        service, visit = self.service, self.visit
        assert service is not None
        screen = self.screen
        self.call_backend(
            lambda: service.prove_password(visit, password),
            lambda _: self.push_screen(EnrollQuestionsScreen(service.questionnaire)),
            on_error=self._inline("prove", screen),
        )

    def check_answer(self, question_id: str, answer: str, earlier: Sequence[str]) -> BaseException | None:
        """Fast and pure (no hashing): called inline on submit of each answer."""
        assert self.service is not None
        try:
            self.service.check_answer(self.visit, question_id, answer, list(earlier))
        except Exception as error:  # noqa: BLE001
            if getattr(error, "code", None) == "answer_rejected":
                return error
            self.show_error(error)
            return error
        return None

    def review_enrollment(self, answers: list[tuple[str, str, str]]) -> None:
        self._enroll_answers = [(qid, answer) for qid, _, answer in answers]
        self.push_screen(EnrollReviewScreen([question for _, question, _ in answers]))

    def discard_enrollment(self) -> None:
        self._enroll_answers = None

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
                self.push_screen(NewPasswordScreen(result))

        self.call_backend(verify_then_act, done, on_error=self._inline("verify", self.screen))

    def reset_password(self, password: str) -> None:
        service, visit = self.service, self.visit
        assert service is not None
        self.call_backend(
            lambda: service.reset_password(visit, password),
            lambda account: self.show_result(True, text("result.reset", account=account)),
            busy="busy.saving",
            on_error=self._inline("reset", self.screen),
        )
