"""KioskApp: lockdown, idle timeout, theme, and the one visit in progress.

The app holds at most one flow (``kiosk.flows``): Welcome's choice starts it,
and it decides the screens of its visit. The app provides what a flow needs
(``FlowHost``): every backend call in a thread worker behind a BusyScreen,
screens shown and taken back, results, errors and the way back to Welcome. It
never decides policy: the backend does. Secrets (passwords, answers) go
straight from a field to one worker call.

    app = KioskApp(settings)            # builds the service after the first frame
    app.run()                           # mouse from settings.kiosk.mouse
    sys.exit(app.return_code or 0)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING

from kiosk.app_base import (  # noqa: F401 - re-exported: kiosk.app is where callers look
    HIGH_CONTRAST,
    THEMES,
    THEMES_DIR,
    LockedDownApp,
    new_reference,
    resolve_theme,
)
from kiosk.backend.ports import ActivationPort, SelfServicePort
from kiosk.backend.terminal import terminal_name
from kiosk.config import Settings
from kiosk.flows import FLOWS, Flow
from kiosk.flows.base import ENDS_VISIT
from kiosk import messages
from kiosk.messages import error_text
from kiosk.screens.base import KioskScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.welcome import WelcomeScreen

if TYPE_CHECKING:
    from textual.timer import Timer

log = logging.getLogger("kiosk")


class KioskApp(LockedDownApp[SelfServicePort]):
    """The public kiosk: one visit at a time, back to Welcome after each."""

    SPEAKS_LANGUAGES = True

    def __init__(
        self,
        settings: Settings,
        *,
        service: SelfServicePort | None = None,
        service_factory: Callable[[], SelfServicePort] | None = None,
        settings_loader: Callable[[], Settings] | None = None,
        activation: ActivationPort | None = None,
        activation_factory: Callable[[], ActivationPort | None] | None = None,
        environ: dict[str, str] | None = None,
        result_tick: float = 1.0,
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
        self.activation: ActivationPort | None = activation
        #: Activation from elsewhere than the service's Backend (the backend's client).
        self._activation_factory = activation_factory
        if activation is None and service is not None:
            self.activation = self._build_activation(service)
        self.terminal = terminal_name(settings.kiosk.terminal_id, environ)
        #: The visit in progress (None: Welcome, nobody here).
        self.flow: Flow | None = None
        #: How often the result screen's countdown ticks (0: never; for pictures).
        self.result_tick = result_tick
        self._welcome_outdated = False
        self.resets = 0

    # --- startup -----------------------------------------------------------------

    @property
    def banner_text(self) -> str:
        kiosk_settings = self.settings.kiosk
        parts = [messages.setting_text("banner.title", kiosk_settings.title), kiosk_settings.organisation]
        return " - ".join(p for p in parts if p)

    @property
    def idle_seconds(self) -> float:
        return self.settings.kiosk.idle_timeout_seconds

    def start(self) -> None:
        self.push_screen(self._new_welcome())

    def _new_welcome(self) -> WelcomeScreen:
        features = self.service.features if self.service is not None else self.settings.features
        actions = [action for action, flow in FLOWS.items() if flow.enabled(features)]
        return WelcomeScreen(self.settings.kiosk.help_text, actions, self.choose, service=self.service)

    def _build_service(self) -> SelfServicePort:
        """In the service worker: the SelfService, and Activation on the same Backend."""
        service: SelfServicePort
        if self._service_factory is not None:
            service = self._service_factory()
        else:
            from kiosk.backend.wiring import build_service

            service = build_service(self.settings)
        if self.activation is None:
            if self._activation_factory is not None:
                self.activation = self._activation_factory()
            else:
                self.activation = self._build_activation(service)
        return service

    def _build_activation(self, service: SelfServicePort) -> ActivationPort | None:
        """Activation shares the service's Backend (directory, store, throttle,
        audit); None when switched off or the service has no Backend (fakes)."""
        backend = getattr(service, "backend", None)
        if not self.settings.features.activate or backend is None:
            return None
        from kiosk.backend.activation import Activation

        return Activation(self.settings, backend)

    def settings_changed(self) -> None:
        self._welcome_outdated = True  # shown afresh once the service is ready

    def service_ready(self, service: SelfServicePort) -> None:
        if self._welcome_outdated and self.flow is None and not self._waiting_for_service:
            self.call_later(self._rebuild_stack)
        self._welcome_outdated = False
        for screen in self.screen_stack:
            if isinstance(screen, WelcomeScreen):
                screen.show_service(service)

    # --- the visit -------------------------------------------------------------------

    def choose(self, action: str) -> None:
        """Welcome: the person chose an action; its flow starts once the backend is ready."""
        flow = FLOWS[action](self)
        self.flow = flow
        self._last_activity = monotonic()
        self._with_service(lambda: self._start(flow))

    def _start(self, flow: Flow) -> None:
        if flow is self.flow:
            flow.start()

    # --- idle and reset -------------------------------------------------------------------

    def _idle_paused(self) -> bool:
        # Welcome in a language somebody picked counts as a visit: it times out too.
        nobody = self.flow is None and messages.language() == messages.default_language()
        return nobody or super()._idle_paused()

    def _idle_dormant(self) -> bool:
        return self.flow is None  # Welcome: choose() notes the activity that wakes the check

    def idle_timeout(self) -> None:
        log.info("idle timeout: back to the start")
        self.request_reset()

    def wipe_state(self) -> None:
        if self.flow is not None:
            self.flow.wipe()

    def request_reset(self) -> None:
        """Back to a fresh Welcome screen: nothing of the previous person survives."""
        self._generation += 1
        self.wipe()
        flow, self.flow = self.flow, None
        self._waiting_for_service.clear()
        if flow is not None:
            flow.end()
        self.call_later(self._rebuild_stack)

    async def _rebuild_stack(self) -> None:
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(self._new_welcome())
        self._last_activity = monotonic()
        self.resets += 1

    def go_back(self) -> None:
        """Esc: one step back (the flow knows what that forgets); back at the
        start, the visit is over."""
        if len(self.screen_stack) <= 3 or self.flow is None:  # _default, Welcome, this one
            self.request_reset()
            return
        self.flow.back()

    # --- what a flow asks of the app (FlowHost) -------------------------------------------

    def show(self, screen: KioskScreen) -> None:
        self.push_screen(screen)

    def back(self) -> None:
        self.pop_screen()

    def shown(self, screen: KioskScreen) -> bool:
        return screen in self.screen_stack

    def calls_running(self) -> bool:
        return bool(self._calls)

    def start_timer(self, seconds: float, callback: Callable[[], None]) -> Timer:
        return self.set_timer(seconds, callback, name="flow-timer")

    def in_background(self, function: Callable[[], None]) -> None:
        def run() -> None:
            try:
                function()
            except Exception as error:  # noqa: BLE001 - best effort (ending a visit)
                log.warning("background call failed: %s", error)

        self.run_worker(run, thread=True, exit_on_error=False, group="end", name="end-visit")

    def reference(self) -> str:
        reference = self.flow.reference() if self.flow is not None else None
        return reference or new_reference()

    def error_closed(self) -> None:
        self.request_reset()

    def show_error(self, error: BaseException) -> None:
        """Plain words and a reference; details to the log only; then back to the start.
        A refusal that ends the visit is a failure result instead of the panel."""
        if isinstance(error, ENDS_VISIT):
            self.log_error(error, self.reference())
            self.show_result(False, error_text(error))
            return
        super().show_error(error)

    def show_result(self, success: bool, message: str) -> None:
        self.wipe()
        seconds = self.settings.kiosk.result_seconds
        self.push_screen(ResultScreen(success, message, seconds, self.request_reset, tick=self.result_tick))
