"""A flow: one visit of one action, as an object.

The app holds at most one flow (the visit in progress). A flow owns its
visit's state (the backend's visit handle, the typed name, half-done work),
decides which screen comes next, and gives each screen its forward steps as
callables. It talks to the app only through ``FlowHost`` and to the backend
only through the ports (``kiosk.backend.ports``): it never touches Textual's
screen stack itself, and every backend call runs in a worker behind the busy
screen (``FlowHost.call_backend``).

    flow = UnlockFlow(host)     # on Welcome's choice
    flow.start()                # once the backend is ready: the first screen
    flow.back()                 # Esc: one step back (the flow knows what that forgets)
    flow.wipe()                 # forget every secret and half-done step (idle, Done, errors)
    flow.end()                  # the visit is over: end it in the backend, stop timers
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from kiosk.backend.errors import (
    AccountDisabled,
    AccountExpired,
    AccountLocked,
    AccountNotFound,
    AnswerRejected,
    InvalidCredentials,
    NotAllowed,
    ProofUnavailable,
    Throttled,
    VerificationFailed,
)
from kiosk.messages import error_text
from kiosk.screens.base import KioskScreen
from kiosk.screens.identify import IdentifyScreen

if TYPE_CHECKING:
    from textual.timer import Timer

    from kiosk.backend.ports import ActivationPort, SelfServicePort
    from kiosk.backend.usecase import Visit
    from kiosk.config import Settings

log = logging.getLogger("kiosk")

T = TypeVar("T")
S = TypeVar("S", bound=KioskScreen)

#: Refusals that end the visit with a failure result (not the error panel).
ENDS_VISIT: tuple[type[BaseException], ...] = (
    Throttled,
    NotAllowed,
    AccountDisabled,
    AccountExpired,
    VerificationFailed,
    ProofUnavailable,
)
#: A wrong current password, said on the screen that asked for it.
WRONG_PASSWORD: tuple[type[BaseException], ...] = (InvalidCredentials, AccountNotFound, AccountLocked)


class BackendCaller(Protocol):
    """How every flow reaches the backend: through its app, never on the event loop."""

    def call_backend(
        self,
        function: Callable[[], T],
        on_success: Callable[[T], None],
        *,
        busy: str = "busy.checking",
        on_error: Callable[[BaseException], bool] | None = None,
        on_stale: Callable[[T], None] | None = None,
    ) -> None:
        """``function`` in a worker behind the busy screen, then ``on_success``
        (or ``on_error``: True = handled) on the UI; ``on_stale``: the person left meanwhile."""


class FlowHost(BackendCaller, Protocol):
    """What a flow may ask of the app (``KioskApp`` provides it)."""

    settings: Settings
    terminal: str
    service: SelfServicePort | None
    activation: ActivationPort | None

    def show(self, screen: KioskScreen) -> None:
        """The next screen, on top of the current one."""

    def back(self) -> None:
        """One screen back."""

    def shown(self, screen: KioskScreen) -> bool:
        """Is ``screen`` still on the stack?"""
        ...

    def show_result(self, success: bool, message: str) -> None:
        """The outcome; then back to the start."""

    def show_error(self, error: BaseException) -> None:
        """Plain words and a reference (or a failure result); then back to the start."""

    def log_error(self, error: BaseException, reference: str) -> None:
        """Details to the log only, under ``reference``."""

    def reference(self) -> str:
        """This visit's reference (a new one before the visit began)."""
        ...

    def request_reset(self) -> None:
        """Back to a fresh Welcome: the visit is over."""

    def calls_running(self) -> bool:
        """Is a backend call running?"""
        ...

    def start_timer(self, seconds: float, callback: Callable[[], None]) -> Timer:
        """``callback`` once, ``seconds`` from now (stopped by the flow)."""
        ...

    def in_background(self, function: Callable[[], None]) -> None:
        """``function`` in a worker, best effort, nobody waiting for it."""


class Flow:
    """The visit of one action. Subclasses set ``action`` and ``start``."""

    #: Welcome's choice (``welcome.<action>`` is its text, ``features.<action>`` its switch).
    action: ClassVar[str] = ""
    #: Its place among Welcome's choices.
    order: ClassVar[int] = 100

    @classmethod
    def enabled(cls, features: object) -> bool:
        """Offered on Welcome? ``features.<action>`` (an action without a switch is on)."""
        return bool(getattr(features, cls.action, True))

    def __init__(self, host: FlowHost) -> None:
        self.host = host
        #: What the person typed as their name (shown back to them; never logged).
        self.typed_name = ""
        self._shown: list[KioskScreen] = []

    # --- the life of a visit ---------------------------------------------------------

    def start(self) -> None:
        """The backend is ready: the first screen of the visit."""
        raise NotImplementedError

    def back(self) -> None:
        """Esc on a screen of this flow: one step back."""
        self.host.back()

    def wipe(self) -> None:
        """Forget every secret and half-done step: the screens still up wipe their own."""
        for screen in self._shown:
            if self.host.shown(screen):
                screen.wipe()
        self._shown = [s for s in self._shown if self.host.shown(s)]

    def end(self) -> None:
        """The visit is over (Done, idle, an error closed): end it in the backend."""

    @property
    def visit(self) -> Visit | None:
        """The backend's handle on this visit, once begun."""
        return None

    def reference(self) -> str | None:
        visit = self.visit
        return visit.reference if visit is not None else None

    # --- helpers for subclasses ---------------------------------------------------------

    def show(self, screen: S) -> S:
        self._shown.append(screen)
        self.host.show(screen)
        return screen

    def ask_identity(self, default_domain: str) -> None:
        domain = default_domain or self.host.settings.directory.effective_default_domain
        self.show(IdentifyScreen(domain, self.identified))

    def identified(self, typed: str) -> None:
        """The Identify screen's name: begin the visit in the backend."""
        raise NotImplementedError

    def refusal(
        self, kinds: tuple[type[BaseException], ...], screen: KioskScreen, say: Callable[[str], None]
    ) -> Callable[[BaseException], bool]:
        """An ``on_error`` that says a refusal of one of ``kinds`` on ``screen``
        (still shown) in words, instead of the error panel."""

        def handle(error: BaseException) -> bool:
            if not isinstance(error, kinds) or not self.host.shown(screen):
                return False
            self.host.log_error(error, self.host.reference())
            say(error_text(error))
            return True

        return handle

    def answer_checker(
        self, check: Callable[[str, str, list[str]], None]
    ) -> Callable[[str, str, Sequence[str]], BaseException | None]:
        """For the enrollment questions: each answer checked at once, inline
        (fast and pure, no hashing). A rule it breaks comes back to be said on
        the screen; anything else is an error (the panel, then the start)."""

        def checked(question_id: str, answer: str, earlier: Sequence[str]) -> BaseException | None:
            try:
                check(question_id, answer, list(earlier))
            except AnswerRejected as refusal:
                return refusal
            except Exception as error:  # noqa: BLE001 - shown as words and a reference
                self.host.show_error(error)
                return error
            return None

        return checked
