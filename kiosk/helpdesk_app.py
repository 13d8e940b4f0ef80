"""HelpdeskApp: support staff act for a caller (``kiosk helpdesk`` over SSH).

The same lockdown as the kiosk (``LockedDownApp``): no quit key, Ctrl+C and
friends swallowed, crash handler, idle timeout. The one way out is signing
out: F10 anywhere, or Esc on the first screen and a confirmation; idle time
(``[helpdesk] idle_timeout_seconds``) signs out too.

The operator is the SSH login; ``Helpdesk`` (kiosk/backend/helpdesk.py)
decides everything: who may operate, whether a caller is verified, which
actions a card allows. The session's state and its screens are the flow's
(``kiosk.flows.helpdesk.session.HelpdeskFlow``); this app only hosts it
(``HelpdeskHost``): workers behind the busy screen, the screen stack, errors,
wiping and signing out.

    app = HelpdeskApp(settings)         # operator = the login this process runs as
    app.run()
"""

from __future__ import annotations

import logging
import math
import os
import pwd
from collections.abc import Callable
from typing import Any

from textual.binding import Binding
from textual.screen import Screen

from kiosk.app_base import LockedDownApp, new_reference
from kiosk.backend.errors import Throttled
from kiosk.backend.ports import HelpdeskPort
from kiosk.config import Settings
from kiosk.flows.helpdesk.session import HelpdeskFlow, throttled_text
from kiosk.messages import duration, text
from kiosk.screens.error import ErrorScreen

log = logging.getLogger("kiosk.helpdesk")


def _terminal(settings: Settings, environ: dict[str, str] | None) -> str:
    from kiosk.backend.terminal import terminal_name

    return terminal_name(settings.kiosk.terminal_id, environ)


def login_name() -> str:
    """The SSH login: the account this process runs as. Not ``getpass.getuser()``,
    which believes $LOGNAME/$USER first (the launcher clears them anyway)."""
    return pwd.getpwuid(os.getuid()).pw_name


class HelpdeskApp(LockedDownApp[HelpdeskPort]):
    TITLE = "kiosk helpdesk"
    BINDINGS = [Binding("f10", "sign_out", show=False, priority=True, system=True)]

    def __init__(
        self,
        settings: Settings,
        *,
        helpdesk: HelpdeskPort | None = None,
        helpdesk_factory: Callable[[], HelpdeskPort] | None = None,
        operator: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        super().__init__(settings, service=helpdesk, service_factory=helpdesk_factory, environ=environ)
        self.operator = operator if operator is not None else login_name()
        self.terminal = _terminal(settings, environ)
        #: The operator's session: the card open, the caller's verification.
        self.flow = HelpdeskFlow(self)

    @property
    def helpdesk(self) -> HelpdeskPort | None:
        return self.service

    # --- the face ------------------------------------------------------------------------

    @property
    def banner_text(self) -> str:
        organisation = self.settings.kiosk.organisation
        parts = [text("helpdesk.title"), organisation, text("helpdesk.operator", operator=self.operator)]
        return " - ".join(p for p in parts if p)

    @property
    def idle_seconds(self) -> float:
        return self.settings.helpdesk.idle_timeout_seconds

    def _build_service(self) -> HelpdeskPort:
        if self._service_factory is not None:
            return self._service_factory()
        from kiosk.backend.wiring import build_helpdesk

        return build_helpdesk(self.settings, operator=self.operator, terminal=self.terminal)

    def start(self) -> None:
        self.flow.start()

    def idle_timeout(self) -> None:
        log.info("helpdesk idle timeout: signing out %s", self.operator)
        # {minutes} stays for overrides written before {duration} (rounded up, as it was).
        minutes = max(1, math.ceil(self.idle_seconds / 60))
        self.sign_out(text("helpdesk.idle_signed_out", duration=duration(self.idle_seconds), minutes=minutes))

    def wipe_state(self) -> None:
        self.flow.wipe()

    def reference(self) -> str:
        return self.flow.reference() or new_reference()

    def action_sign_out(self) -> None:
        self.sign_out()

    def go_back(self) -> None:
        self.flow.back()

    def show_error(self, error: BaseException) -> None:
        """The error panel; a throttle is said for staff, not for the caller."""
        if isinstance(error, Throttled):
            reference = self.reference()
            self.log_error(error, reference)
            self.push_screen(ErrorScreen(throttled_text(error), reference))
            return
        super().show_error(error)

    # --- what the flow asks of the app (HelpdeskHost) -------------------------------------------

    def sign_out(self, message: str | None = None) -> None:
        """Wipe and leave: the explicit way out (F10, Esc + confirm, idle)."""
        log.info("helpdesk: %s signs out", self.operator)
        self._generation += 1
        self.wipe()
        self.flow.end()
        self.exit(return_code=0, message=message or text("helpdesk.signed_out"))

    def when_ready(self, then: Callable[[], None]) -> None:
        self._with_service(then)

    def show(self, screen: Screen[Any], then: Callable[[Any], None] | None = None) -> None:
        self.push_screen(screen, then)

    def replace(self, screen: Screen[Any]) -> None:
        self.switch_screen(screen)

    def back(self) -> None:
        self.pop_screen()

    def close(self, screen: Screen[Any]) -> None:
        if self.screen is screen:
            self.pop_screen()

    def shown(self, screen: Screen[Any]) -> bool:
        return screen in self.screen_stack

    def depth(self) -> int:
        return len(self.screen_stack)
