"""KioskApp: lockdown, idle timeout, theme, screen routing, wipe.

The app routes one visit through the screens and runs every backend call in a
thread worker behind a BusyScreen. It never decides policy: ``SelfService``
does. Secrets (passwords, answers) go straight from a field to one worker call.

    app = KioskApp(settings)            # builds the service after the first frame
    app.run()                           # mouse from settings.kiosk.mouse
    sys.exit(app.return_code or 0)
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import Any

from textual import events
from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding
from textual.theme import Theme
from textual.widgets import Input
from textual.worker import Worker, WorkerState

import kiosk
from kiosk import messages
from kiosk.config import Settings
from kiosk.messages import error_text, text
from kiosk.screens.base import KioskScreen
from kiosk.screens.busy import BusyScreen
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.enroll_review import EnrollReviewScreen
from kiosk.screens.error import ErrorScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.widgets.secret_input import SecretInput

log = logging.getLogger("kiosk")
log.addHandler(logging.NullHandler())  # never Python's last-resort stderr handler

THEMES_DIR = Path(kiosk.__file__).parent.parent / "themes"

HIGH_CONTRAST = Theme(
    name="kiosk-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FFFF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#000000",
    success="#00FF00",
    warning="#FFFF00",
    error="#FF5555",
    dark=True,
)

#: theme setting -> (Textual theme, stylesheet in themes/)
THEMES = {
    "default": ("textual-dark", "default.tcss"),
    "high-contrast": ("kiosk-high-contrast", "high-contrast.tcss"),
    "vt": ("ansi-dark", "vt.tcss"),
}

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


def resolve_theme(setting: str, environ: dict[str, str] | None = None) -> str:
    """``auto`` is ``vt`` on the Linux console and VT terminals, else ``default``."""
    if setting != "auto":
        return setting
    term = (environ if environ is not None else os.environ).get("TERM", "")
    return "vt" if term == "linux" or term.startswith("vt") else "default"


def new_reference() -> str:
    return "K-" + secrets.token_hex(3).upper()


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


@dataclass
class _Call:
    generation: int
    busy: BusyScreen | None
    on_success: Callable[[Any], None]
    on_error: Callable[[BaseException], bool] | None


class KioskApp(App[None], inherit_bindings=False):
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False
    TITLE = "kiosk"
    BINDINGS = [
        # Priority bindings run in App.on_event before a key reaches the focused widget.
        Binding("ctrl+c,super+c", "swallow", show=False, priority=True, system=True),
        Binding("ctrl+q", "ctrl_q", show=False, priority=True, system=True),
        Binding("ctrl+z", "swallow", show=False, priority=True, system=True),
        Binding("ctrl+backslash", "swallow", show=False, priority=True, system=True),
        Binding("ctrl+p", "swallow", show=False, priority=True, system=True),
        Binding("ctrl+s", "swallow", show=False, priority=True, system=True),
        # Synchronous focus moves: the rest of a key burst follows the focus (notes §1.4).
        Binding("tab", "kiosk_focus(1)", show=False, priority=True, system=True),
        Binding("shift+tab", "kiosk_focus(-1)", show=False, priority=True, system=True),
        Binding("enter", "kiosk_enter", show=False, priority=True, system=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        service: Any | None = None,
        service_factory: Callable[[], Any] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        messages.configure(settings.kiosk.texts)
        self.theme_setting = resolve_theme(settings.kiosk.theme, environ)
        textual_theme, stylesheet = THEMES[self.theme_setting]
        super().__init__(css_path=[THEMES_DIR / stylesheet])
        self.register_theme(HIGH_CONTRAST)
        self.theme = textual_theme
        self.service: Any | None = service
        self._service_factory = service_factory
        self._service_worker: Worker[Any] | None = None
        self._waiting_for_service: list[Callable[[], None]] = []
        self.terminal = terminal_name(settings, environ)
        self.visit: Any | None = None
        self.action: str | None = None
        self._typed_name = ""
        self._enroll_answers: list[tuple[str, str]] | None = None
        self._calls: dict[Worker[Any], _Call] = {}
        self._generation = 0
        self._last_activity = monotonic()
        self._in_visit = False
        self.resets = 0

    # --- startup -----------------------------------------------------------------

    def run(self, *args: Any, mouse: bool | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        if mouse is None:
            mouse = self.settings.kiosk.mouse
        return super().run(*args, mouse=mouse, **kwargs)

    @property
    def banner_text(self) -> str:
        kiosk_settings = self.settings.kiosk
        parts = [kiosk_settings.title, kiosk_settings.organisation]
        return " - ".join(p for p in parts if p)

    def on_mount(self) -> None:
        if self.settings.kiosk.lockdown and not self.is_headless:
            self._lock_signals()
        self.push_screen(self._new_welcome())
        self.set_interval(0.5, self._check_idle, name="idle-check")
        if self.service is None:
            self.call_after_refresh(self._start_service)

    def _lock_signals(self) -> None:
        # The driver re-installs its own SIGTSTP handler: ignore it again (notes §1.2).
        signal.signal(signal.SIGTSTP, signal.SIG_IGN)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(sig, self.graceful_exit)

    def graceful_exit(self) -> None:
        """SIGHUP (the SSH client vanished) or SIGTERM: wipe and leave cleanly."""
        log.info("signal received: wiping and exiting")
        self.wipe()
        self.exit(return_code=0)

    def _new_welcome(self) -> WelcomeScreen:
        features = self.service.features if self.service is not None else self.settings.features
        return WelcomeScreen(features, self.settings.kiosk.help_text)

    def _build_service(self) -> Any:
        if self._service_factory is not None:
            return self._service_factory()
        from kiosk.backend.service import build_service

        return build_service(self.settings)

    def _start_service(self) -> None:
        if self.service is not None or self._service_worker is not None:
            return
        self._service_worker = self.run_worker(
            self._build_service, thread=True, exit_on_error=False, group="service", name="build-service"
        )

    def _service_built(self, worker: Worker[Any]) -> None:
        self._service_worker = None
        if worker.state == WorkerState.SUCCESS:
            self.service = worker.result
            for screen in self.screen_stack:
                if isinstance(screen, WelcomeScreen):
                    screen.show_service(self.service)
            waiting, self._waiting_for_service = self._waiting_for_service, []
            self._pop_busy()
            for then in waiting:
                then()
            return
        error = worker.error or RuntimeError("service not built")
        waiting, self._waiting_for_service = self._waiting_for_service, []
        self._pop_busy()
        if waiting:
            self.show_error(error)
        else:
            self._log_error(error, new_reference())

    def _with_service(self, then: Callable[[], None]) -> None:
        if self.service is not None:
            then()
            return
        self._waiting_for_service.append(then)
        if not any(isinstance(s, BusyScreen) for s in self.screen_stack):
            self.push_screen(BusyScreen(text("busy.starting")))
        self._start_service()

    def _pop_busy(self) -> None:
        if isinstance(self.screen, BusyScreen):
            self.pop_screen()

    # --- lockdown and keys -----------------------------------------------------------

    def action_swallow(self) -> None:
        self.bell()

    def action_ctrl_q(self) -> None:
        if self.settings.kiosk.lockdown:
            self.bell()
        else:
            self.exit()

    def action_kiosk_focus(self, direction: int) -> None:
        screen = self.screen
        if direction > 0:
            screen.focus_next()  # Screen._move_focus -> set_focus: synchronous
        else:
            screen.focus_previous()

    def action_kiosk_enter(self) -> None:
        screen = self.screen
        focused = screen.focused
        if not isinstance(focused, Input) or not isinstance(screen, KioskScreen):
            raise SkipAction()  # buttons, lists, pickers handle Enter themselves
        screen.enter_pressed(focused)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseEvent)) and not event.is_forwarded:
            self._last_activity = monotonic()  # the action, never the key, is what we note
        await super().on_event(event)

    # --- crashes -------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self._fatal_error()

    def _fatal_error(self) -> None:
        """No traceback and no locals on the terminal: the log gets the frames only."""
        error = sys.exc_info()[1] or self._exception
        reference = new_reference()
        if error is not None:
            formatted = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            log.error("fatal error, reference %s\n%s", reference, formatted)
        self.wipe()
        self.bell()
        self._exit_renderables.append(text("fatal", reference=reference))
        self._close_messages_no_wait()

    # --- idle and reset -------------------------------------------------------------------

    def _check_idle(self) -> None:
        if not self._in_visit or self._calls or self._service_worker is not None:
            return
        if monotonic() - self._last_activity >= self.settings.kiosk.idle_timeout_seconds:
            log.info("idle timeout: back to the start")
            self.request_reset()

    def wipe(self) -> None:
        """Empty every field on every screen, the clipboard and the notifications."""
        for screen in self.screen_stack:
            for field in screen.query(Input):
                if isinstance(field, SecretInput):
                    field.wipe()
                else:
                    field.value = ""
            if isinstance(screen, EnrollQuestionsScreen):
                screen.wipe()
        self._clipboard = ""
        self._enroll_answers = None
        self.clear_notifications()

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

    def call_backend(
        self,
        function: Callable[[], Any],
        on_success: Callable[[Any], None],
        *,
        busy: str = "busy.checking",
        on_error: Callable[[BaseException], bool] | None = None,
    ) -> None:
        """Run ``function`` in a thread behind a BusyScreen, then call back on the UI."""
        busy_screen = BusyScreen(text(busy))
        self.push_screen(busy_screen)
        worker = self.run_worker(function, thread=True, exit_on_error=False, group="backend", name="backend")
        self._calls[worker] = _Call(self._generation, busy_screen, on_success, on_error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if worker is self._service_worker:
            self._service_built(worker)
            return
        call = self._calls.pop(worker, None)
        if call is None:
            return
        self._last_activity = monotonic()
        if call.generation != self._generation:  # the person left (idle, Done): drop it
            if worker.state == WorkerState.SUCCESS and hasattr(worker.result, "reference"):
                self._end_visit(worker.result)
            return
        if call.busy is not None and self.screen is call.busy:
            self.pop_screen()
        if worker.state == WorkerState.SUCCESS:
            call.on_success(worker.result)
            return
        error = worker.error or RuntimeError("cancelled")
        if call.on_error is not None and call.on_error(error):
            return
        self.show_error(error)

    def _log_error(self, error: BaseException, reference: str) -> None:
        code = getattr(error, "code", None)
        if code is not None:
            log.warning("reference %s: %s (%s)", reference, code, getattr(error, "detail", ""))
        else:
            formatted = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            log.error("reference %s: unexpected error\n%s", reference, formatted)

    def reference(self) -> str:
        return getattr(self.visit, "reference", None) or new_reference()

    def show_error(self, error: BaseException) -> None:
        """Plain words and a reference; details to the log only; then back to the start."""
        reference = self.reference()
        self._log_error(error, reference)
        if getattr(error, "code", None) in RESULT_CODES:
            self.show_result(False, error_text(error))
            return
        self.wipe()
        self.push_screen(ErrorScreen(error_text(error), reference), lambda _: self.request_reset())

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
