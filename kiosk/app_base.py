"""LockedDownApp: what every face of the kiosk shares (the kiosk, the helpdesk).

- lockdown: no quit key, no palette, no selection; Ctrl+C/Z/\\/P/S swallowed;
  SIGTSTP ignored; SIGHUP/SIGTERM wipe and exit (notes §1.2, §1.3);
- synchronous focus moves and the burst-safe Enter of ``KioskScreen`` (§1.4);
- typeahead: keys typed after a form's Enter, while the next screen is being
  prepared, go to that screen's first field (``Typeahead``), never elsewhere;
- idle: every key or mouse event counts as activity; ``idle_timeout()`` fires
  after ``idle_seconds`` (§1.9);
- crashes: no traceback and no locals on the terminal, a reference instead (§1.6);
- the backend object (``service``) is built in a thread after the first frame;
- every backend call runs in a thread worker behind a BusyScreen
  (``call_backend``); errors become plain words and a reference (``show_error``);
- ``wipe()`` empties every field, the clipboard and the notifications (§1.7).

Subclasses provide ``_build_service``, ``start`` (the first screens),
``idle_seconds``/``idle_timeout`` and ``banner_text``; hooks have defaults.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from textual import events
from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding
from textual.theme import Theme
from textual.widgets import Input
from textual.worker import Worker, WorkerState

import kiosk
from kiosk import messages
from kiosk.backend.errors import KioskError
from kiosk.config import Settings
from kiosk.config.schema import language_text
from kiosk.driver import KioskDriver
from kiosk.messages import error_text, text
from kiosk.screens.base import KioskScreen
from kiosk.screens.busy import BusyScreen
from kiosk.screens.error import ErrorScreen
from kiosk.widgets.secret_input import SecretInput

if TYPE_CHECKING:
    from textual.timer import Timer

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


def resolve_theme(setting: str, environ: dict[str, str] | None = None) -> str:
    """``auto`` is ``vt`` on the Linux console and VT terminals, else ``default``."""
    if setting != "auto":
        return setting
    term = (environ if environ is not None else os.environ).get("TERM", "")
    return "vt" if term == "linux" or term.startswith("vt") else "default"


def new_reference() -> str:
    # os.urandom is what secrets.token_hex reads; secrets itself would bring
    # hashlib and OpenSSL's libcrypto into every session for this one line.
    return "K-" + os.urandom(3).hex().upper()


#: While a backend call or the service build pauses the idle time, it is looked at this often.
IDLE_RECHECK_SECONDS = 0.5

#: The buffered Enter, kept in order among the typed characters.
ENTER = "\r"
#: At most this many keys are kept (the longest field takes 1024 characters).
TYPEAHEAD_MAX = 1024


@dataclass(eq=False)
class Typeahead:
    """Keys typed after a form was submitted, kept for the next screen's first field.

    A terminal keeps what is typed while a program is busy; so does the kiosk,
    within these rules:

    - only printable characters and Enter are kept (Backspace takes back the
      last character); any other key ends the typeahead: it is handled as
      usual, and nothing typed after it is kept;
    - the keys go only to the first field of the next screen (a new screen,
      with that field focused), never to the screen that was left, and are
      dropped on anything else: an error, a refusal, a result, a reset;
    - after a form with a secret field, they go only into masked fields
      (they may be more of the secret);
    - a buffered Enter moves to the next field, as Enter does, but never
      submits a form: nobody has read the new screen yet, and a blind
      submission may cost an attempt (throttling, the directory's lockout).
      What follows such an Enter is dropped.

    ``keys`` is emptied as soon as the keys are delivered or dropped.
    """

    origin: KioskScreen
    secret: bool
    generation: int
    keys: list[str]
    #: a key that cannot be replayed was typed: keep nothing more
    stopped: bool = False

    def take(self, event: events.Key) -> bool:
        """Keep the key (True: it goes nowhere else), or let the app handle it (False)."""
        if event.key == "backspace":
            if not self.stopped and self.keys and self.keys[-1] != ENTER:
                self.keys.pop()
            return True
        if event.key != "enter" and not (event.is_printable and event.character):
            self.stopped = True  # Tab, arrows, Esc, Ctrl+...: handled as usual, and the end
            return False
        if self.stopped or len(self.keys) >= TYPEAHEAD_MAX:
            self.stopped = True  # dropped: it must not reach a field out of order either
            return True
        self.keys.append(ENTER if event.key == "enter" else str(event.character))
        return True

    def drop(self) -> None:
        self.keys.clear()
        self.stopped = True


T = TypeVar("T")
#: What the face calls in the backend (a port of ``kiosk.backend.ports``).
ServiceT = TypeVar("ServiceT")


@dataclass
class _Call:
    generation: int
    busy: BusyScreen | None
    on_success: Callable[[Any], None]
    on_error: Callable[[BaseException], bool] | None
    on_stale: Callable[[Any], None] | None = None


def _configure_messages(settings: Settings, environ: Mapping[str, str], *, languages: bool) -> None:
    """The texts' overrides and, for a face that speaks them, the languages
    offered here (less those this TERM cannot draw); otherwise English."""
    kiosk_settings = settings.kiosk
    messages.configure(
        kiosk_settings.texts,
        languages=kiosk_settings.languages if languages else None,
        default_language=kiosk_settings.default_language if languages else None,
        term=environ.get("TERM", ""),
        labels={language_text(p.label): p.label for p in settings.activation.proof if isinstance(p.label, dict)},
    )


class LockedDownApp(App[None], Generic[ServiceT], inherit_bindings=False):
    ENABLE_COMMAND_PALETTE = False
    #: Offers ``kiosk.languages`` (the public kiosk); the helpdesk, for staff, stays English.
    SPEAKS_LANGUAGES = False
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
        service: ServiceT | None = None,
        service_factory: Callable[[], ServiceT] | None = None,
        settings_loader: Callable[[], Settings] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        #: With a ``settings_loader``, these are provisional (see
        #: ``kiosk.config.provisional_settings``) until the service worker has
        #: the validated ones: no backend is built before that.
        self.settings = settings
        self._settings_loader = settings_loader
        #: Why the app stopped before it could serve anyone (a ConfigError).
        self.startup_error: BaseException | None = None
        self._kiosk_environ: Mapping[str, str] = os.environ if environ is None else environ
        _configure_messages(settings, self._kiosk_environ, languages=self.SPEAKS_LANGUAGES)
        self.theme_setting = resolve_theme(settings.kiosk.theme, environ)
        textual_theme, stylesheet = THEMES[self.theme_setting]
        super().__init__(css_path=[THEMES_DIR / stylesheet], driver_class=KioskDriver)
        self.register_theme(HIGH_CONTRAST)
        self.theme = textual_theme
        self.service: ServiceT | None = service
        self._service_factory = service_factory
        self._service_worker: Worker[Any] | None = None
        self._waiting_for_service: list[Callable[[], None]] = []
        self._calls: dict[Worker[Any], _Call] = {}
        self._generation = 0
        #: The idle check: one timer, due when the idle time would be up (None: none armed).
        self._idle_timer: Timer | None = None
        self._idle_due = 0.0
        self._idle_watching = False
        self._activity_at = monotonic()
        self._typeahead: Typeahead | None = None

    # --- what a face provides ----------------------------------------------------------

    @property
    def banner_text(self) -> str:
        return ""

    @property
    def idle_seconds(self) -> float:
        raise NotImplementedError

    def start(self) -> None:
        """Show the first screen (on mount)."""

    def idle_timeout(self) -> None:
        """Nobody touched the keyboard for ``idle_seconds``."""

    def _idle_paused(self) -> bool:
        """While a backend call or the service build runs, idle time does not count."""
        return bool(self._calls) or self._service_worker is not None

    def _build_service(self) -> ServiceT:
        raise NotImplementedError

    def service_ready(self, service: ServiceT) -> None:
        """The service was built (screens already shown may want to know)."""

    def wipe_state(self) -> None:
        """Forget the app's own secrets and half-done work (called by ``wipe``)."""

    def error_closed(self) -> None:
        """The error panel was closed."""

    def go_back(self) -> None:
        """Esc on a screen."""
        self.pop_screen()

    # --- startup -----------------------------------------------------------------

    def run(self, *args: Any, mouse: bool | None = None, **kwargs: Any) -> Any:
        if mouse is None:
            mouse = self.settings.kiosk.mouse
        return super().run(*args, mouse=mouse, **kwargs)

    def on_mount(self) -> None:
        if self.settings.kiosk.lockdown and not self.is_headless:
            self._lock_signals()
        self.start()
        self._idle_watching = True
        self._arm_idle(self._last_activity + self.idle_seconds)
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

    def _start_service(self) -> None:
        if self.service is not None or self._service_worker is not None:
            return
        self._service_worker = self.run_worker(
            self._validated_service, thread=True, exit_on_error=False, group="service", name="build-service"
        )

    def _validated_service(self) -> ServiceT:
        """In the service worker: the validated settings first, when the app
        started on provisional ones; then the service, built from them."""
        if self._settings_loader is not None:
            settings = self._settings_loader()
            self.call_from_thread(self._settings_validated, settings)
        return self._build_service()

    def _settings_validated(self, settings: Settings) -> None:
        provisional, self.settings = self.settings, settings
        self._settings_loader = None
        _configure_messages(settings, self._kiosk_environ, languages=self.SPEAKS_LANGUAGES)
        if settings.kiosk.lockdown and not provisional.kiosk.lockdown and not self.is_headless:
            self._lock_signals()
        if (settings.kiosk, settings.features) != (provisional.kiosk, provisional.features):
            log.warning("the validated settings differ from the first frame's reading: showing them")
            self.settings_changed()

    def settings_changed(self) -> None:
        """The validated settings show differently from the provisional ones."""

    def _service_built(self, worker: Worker[Any]) -> None:
        self._service_worker = None
        if worker.state == WorkerState.SUCCESS:
            service = cast("ServiceT", worker.result)
            self.service = service
            self.service_ready(service)
            waiting, self._waiting_for_service = self._waiting_for_service, []
            self._pop_busy()
            for then in waiting:
                then()
            return
        error = worker.error or RuntimeError("service not built")
        if self._settings_loader is not None:
            # Never validated: serve no one on provisional settings.
            log.error("the configuration was refused: %s", error)
            self.startup_error = error
            self.exit(return_code=2)
            return
        waiting, self._waiting_for_service = self._waiting_for_service, []
        self._pop_busy()
        if waiting:
            self.show_error(error)
        else:
            self.log_error(error, new_reference())

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
        """Tab / Shift+Tab, synchronously (the key-burst fix). Focus never wraps
        around into a text field: in a burst such as a password manager's
        ``name<Tab>password``, the keys after a Tab that has nowhere to go must
        reach no field at all, not the first one again (in clear). Wrapping
        between buttons and lists is harmless and stays."""
        screen = self.screen
        if isinstance(screen, KioskScreen) and screen.submitting:
            return  # the form is on its way; the rest of the burst goes nowhere
        chain = screen.focus_chain
        focused = screen.focused
        if focused in chain and not 0 <= chain.index(focused) + direction < len(chain):
            wraps_to = chain[0] if direction > 0 else chain[-1]
            if wraps_to is focused and isinstance(focused, Input):
                self._tab_in_only_field(screen, focused)
                return
            if isinstance(wraps_to, Input):
                screen.set_focus(None)
                return
        if direction > 0:
            screen.focus_next()  # Screen._move_focus -> set_focus: synchronous
        else:
            screen.focus_previous()

    def _tab_in_only_field(self, screen: Any, field: Input) -> None:
        """Tab in the only field of a screen: nowhere to go, so the field keeps
        the focus and what follows goes on into it (``KioskScreen.tab_in_only_field``
        guards a plain field against a password manager's ``name<Tab>password``)."""
        if isinstance(field, SecretInput) or not isinstance(screen, KioskScreen):
            return  # masked: what follows goes on into the same field
        screen.tab_in_only_field(field)

    def action_kiosk_enter(self) -> None:
        screen = self.screen
        focused = screen.focused
        if isinstance(screen, KioskScreen) and screen.submitting:
            return
        if not isinstance(focused, Input) or not isinstance(screen, KioskScreen):
            raise SkipAction()  # buttons, lists, pickers handle Enter themselves
        screen.enter_pressed(focused)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseEvent)) and not event.is_forwarded:
            self._last_activity = monotonic()  # the action, never the key, is what we note
            if isinstance(event, events.Key) and self._typeahead is not None and self._typeahead_takes(event):
                return
        await super().on_event(event)

    # --- typeahead ---------------------------------------------------------------------------

    def open_typeahead(self, origin: KioskScreen, *, secret: bool) -> None:
        """``origin``'s form is being submitted: keep what is typed from now on
        for the next screen (see ``Typeahead``)."""
        self.drop_typeahead()
        self._typeahead = Typeahead(origin, secret, self._generation, [])

    def drop_typeahead(self) -> None:
        ahead, self._typeahead = self._typeahead, None
        if ahead is not None:
            ahead.drop()

    def _typeahead_waiting(self, ahead: Typeahead) -> bool:
        """Is the next screen still being prepared? (the form on its way, a
        backend call, or a new screen not yet ready for the keys)"""
        screen = self.screen
        if ahead.generation != self._generation:
            return False
        if screen is ahead.origin:
            return bool(screen.submitting)
        return isinstance(screen, (BusyScreen, KioskScreen))

    def _typeahead_takes(self, event: events.Key) -> bool:
        ahead = self._typeahead

        assert ahead is not None
        if not self._typeahead_waiting(ahead):
            self.drop_typeahead()
            return False
        screen = self.screen
        if isinstance(screen, KioskScreen) and screen is not ahead.origin and screen.focused is not None:
            # The new screen is up and focused (its resume may not have been
            # handled yet): the kept keys go first, then this one as usual.
            self.typeahead_ready(screen)
            return False
        return ahead.take(event)

    def typeahead_ready(self, screen: KioskScreen) -> None:
        """``screen`` is shown, its focus set: the kept keys go to its first field,
        or nowhere (see ``Typeahead``)."""
        ahead = self._typeahead
        if ahead is None or self.screen is not screen:
            return
        if screen is ahead.origin:
            if not screen.submitting:  # back where it started (a refusal): the keys were for another screen
                self.drop_typeahead()
            return
        self._deliver_typeahead(screen, ahead, first_only=True)

    def typeahead_kept(self) -> bool:
        """Were keys typed since the typeahead opened?"""
        return self._typeahead is not None and bool(self._typeahead.keys)

    def typeahead_back(self, screen: KioskScreen) -> None:
        """The origin keeps the focus after all (Tab in its only field, with
        nothing in it yet): what was typed meanwhile goes into its focused field."""
        ahead = self._typeahead
        if ahead is None or ahead.origin is not screen or self.screen is not screen:
            return
        ahead.secret = False  # nothing came before these keys: they are the field's own
        self._deliver_typeahead(screen, ahead, first_only=False)

    def _deliver_typeahead(self, screen: KioskScreen, ahead: Typeahead, *, first_only: bool) -> None:
        self._typeahead = None
        keys, ahead.keys = ahead.keys, []
        try:
            fields = screen.inputs()
            field = screen.focused
            if not keys or field not in fields or ahead.generation != self._generation:
                return
            if first_only and field is not fields[0]:
                return
            for number, part in enumerate("".join(keys).split(ENTER)):
                if number:  # a buffered Enter: the next field, never a submission
                    index = fields.index(field)
                    if index + 1 >= len(fields):
                        return
                    field = fields[index + 1]
                    screen.set_focus(field)
                if ahead.secret and not isinstance(field, SecretInput):
                    return
                room = field.max_length - len(field.value) if field.max_length else len(part)
                if part and room > 0:
                    field.insert_text_at_cursor(part[:room])
                del part
        finally:
            keys.clear()
            ahead.drop()

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

    # --- idle and wiping ---------------------------------------------------------------------

    @property
    def _last_activity(self) -> float:
        """When a person last did something (a key, the mouse, a visit begun, a call answered)."""
        return self._activity_at

    @_last_activity.setter
    def _last_activity(self, value: float) -> None:
        self._activity_at = value
        self._arm_idle(value + self.idle_seconds)

    def _arm_idle(self, due: float) -> None:
        """The idle check runs once, when the idle time would be up: an idle
        session wakes for nothing (no ticking clock). Activity moves the
        deadline later, and the check re-arms itself for what is left; only
        an earlier deadline re-arms the timer now."""
        if not self._idle_watching:
            return
        if self._idle_timer is not None:
            if self._idle_due <= due:
                return
            self._idle_timer.stop()
        self._idle_due = due
        # (at least a moment: Textual divides by the delay)
        self._idle_timer = self.set_timer(max(0.01, due - monotonic()), self._check_idle, name="idle-check")

    def _idle_dormant(self) -> bool:
        """Nothing to time out (e.g. nobody's visit): the idle check sleeps
        until activity (``_last_activity`` set) wakes it."""
        return False

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self._idle_paused():
            if not self._idle_dormant():
                self._arm_idle(monotonic() + IDLE_RECHECK_SECONDS)  # a backend call or the build: soon over
            return
        if monotonic() - self._last_activity >= self.idle_seconds:
            self.idle_timeout()
        else:
            self._arm_idle(self._last_activity + self.idle_seconds)

    def wipe(self) -> None:
        """Empty every field on every screen, the clipboard and the notifications."""
        for screen in self.screen_stack:
            for field in screen.query(Input):
                if isinstance(field, SecretInput):
                    field.wipe()
                else:
                    field.value = ""
        self.wipe_state()
        self.drop_typeahead()
        self._clipboard = ""
        self.clear_notifications()

    # --- backend calls -----------------------------------------------------------------------

    def call_backend(
        self,
        function: Callable[[], T],
        on_success: Callable[[T], None],
        *,
        busy: str = "busy.checking",
        on_error: Callable[[BaseException], bool] | None = None,
        on_stale: Callable[[T], None] | None = None,
    ) -> None:
        """Run ``function`` in a thread behind a BusyScreen, then call back on the
        UI: ``on_success``, or ``on_error`` (True: handled, else ``show_error``).
        If the person left meanwhile (idle, Done), the result goes to
        ``on_stale`` (e.g. to end a visit begun too late), or nowhere."""
        busy_screen = BusyScreen(text(busy))
        self.push_screen(busy_screen)
        worker = self.run_worker(function, thread=True, exit_on_error=False, group="backend", name="backend")
        self._calls[worker] = _Call(self._generation, busy_screen, on_success, on_error, on_stale)

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
            if call.on_stale is not None and worker.state == WorkerState.SUCCESS:
                call.on_stale(worker.result)
            return
        if call.busy is not None and self.screen is call.busy:
            self.pop_screen()
        try:
            if worker.state == WorkerState.SUCCESS:
                call.on_success(worker.result)
                return
            error = worker.error or RuntimeError("cancelled")
            if call.on_error is not None and call.on_error(error):
                return
            self.show_error(error)
        finally:
            # Typeahead waits only for a new screen that came of this call.
            ahead = self._typeahead
            waits = isinstance(self.screen, BusyScreen) or (
                isinstance(self.screen, KioskScreen) and self.screen is not ahead.origin
            ) if ahead is not None else False
            if ahead is not None and not waits:
                self.drop_typeahead()

    def log_error(self, error: BaseException, reference: str) -> None:
        """A refusal or an outage (the backend's errors): one line; anything else: the frames."""
        if isinstance(error, KioskError):
            log.warning("reference %s: %s (%s)", reference, error.code, getattr(error, "detail", ""))
        else:
            formatted = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            log.error("reference %s: unexpected error\n%s", reference, formatted)

    def reference(self) -> str:
        return new_reference()

    def show_error(self, error: BaseException) -> None:
        """Plain words and a reference; details to the log only."""
        reference = self.reference()
        self.log_error(error, reference)
        self.wipe()
        self.push_screen(ErrorScreen(error_text(error), reference), lambda _: self.error_closed())
