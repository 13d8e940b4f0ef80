"""HelpdeskApp: support staff act for a caller (``kiosk helpdesk`` over SSH).

The same lockdown as the kiosk (``LockedDownApp``): no quit key, Ctrl+C and
friends swallowed, crash handler, idle timeout. The one way out is signing
out: F10 anywhere, or Esc on the first screen and a confirmation; idle time
(``[helpdesk] idle_timeout_seconds``) signs out too.

The operator is the SSH login; ``Helpdesk`` (kiosk/backend/helpdesk.py)
decides everything: who may operate, whether a caller is verified, what an
action may do. This app only routes screens and runs every call in a thread
worker behind a busy screen. Which buttons are offered follows the
configuration (an action switched off is not shown) and the verification
state (the backend refuses anyway), as ``kiosk.backend.helpdesk_actions``
says. Refusals are routed by their class (``kiosk.backend.errors``).

    app = HelpdeskApp(settings)         # operator = the login this process runs as
    app.run()
"""

from __future__ import annotations

import logging
import math
import os
import pwd
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.binding import Binding

from kiosk.app_base import LockedDownApp, new_reference
from kiosk.backend.errors import InvalidCredentials, NotAllowed, Throttled, VerificationFailed
from kiosk.backend.helpdesk_actions import offered_actions
from kiosk.backend.ports import HelpdeskPort
from kiosk.config import Settings
from kiosk.messages import duration, text
from kiosk.screens.error import ErrorScreen
from kiosk.screens.helpdesk.account import HelpdeskAccountScreen
from kiosk.screens.helpdesk.confirm import HelpdeskConfirmScreen
from kiosk.screens.helpdesk.search import HelpdeskSearchScreen
from kiosk.screens.helpdesk.signin import HelpdeskSignInScreen
from kiosk.screens.helpdesk.temporary_password import HelpdeskTemporaryPasswordScreen
from kiosk.screens.helpdesk.verify import HelpdeskVerifyScreen

if TYPE_CHECKING:
    from kiosk.backend.helpdesk import AccountCard
    from kiosk.backend.model import Account, Question
    from kiosk.backend.usecase import Visit

log = logging.getLogger("kiosk.helpdesk")

#: At most this many rows in the search results.
SEARCH_LIMIT = 25


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
        self.card: AccountCard | None = None  # the account card shown
        self._caller_visit: Visit | None = None  # the verification in progress (no secrets)

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
        if self.settings.helpdesk.require_operator_password:
            self.signin_screen = HelpdeskSignInScreen(self.operator, self.sign_in, self.ask_sign_out)
            self.push_screen(self.signin_screen)
        else:
            self._with_service(self._authorize_without_password)

    def idle_timeout(self) -> None:
        log.info("helpdesk idle timeout: signing out %s", self.operator)
        # {minutes} stays for overrides written before {duration} (rounded up, as it was).
        minutes = max(1, math.ceil(self.idle_seconds / 60))
        self.sign_out(text("helpdesk.idle_signed_out", duration=duration(self.idle_seconds), minutes=minutes))

    def wipe_state(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, HelpdeskTemporaryPasswordScreen):
                screen.wipe()

    def reference(self) -> str:
        return self._caller_visit.reference if self._caller_visit is not None else new_reference()

    # --- signing in and out ---------------------------------------------------------------

    def sign_in(self, password: str) -> None:
        """The operator's own password, straight to one worker call."""
        screen = self.signin_screen

        def authorize() -> None:
            assert self.service is not None
            self.service.authorize(password)

        def refused(error: BaseException) -> bool:
            if isinstance(error, (InvalidCredentials, NotAllowed)) and screen in self.screen_stack:
                self.log_error(error, new_reference())
                key = "helpdesk.signin.wrong" if isinstance(error, InvalidCredentials) else "helpdesk.signin.refused"
                screen.show_refusal(text(key, operator=self.operator))
                return True
            return False

        self._with_service(lambda: self.call_backend(authorize, self._signed_in, on_error=refused))

    def _authorize_without_password(self) -> None:
        desk = self.service
        assert desk is not None
        if desk.authorized:
            self._signed_in(None)
            return

        def refused(error: BaseException) -> bool:
            if not isinstance(error, (InvalidCredentials, NotAllowed)):
                return False
            reference = new_reference()
            self.log_error(error, reference)
            message = text("helpdesk.refused", operator=self.operator)
            self.push_screen(ErrorScreen(message, reference), lambda _: self.sign_out())
            return True

        self.call_backend(lambda: desk.authorize(None), self._signed_in, on_error=refused)

    def _signed_in(self, _: object) -> None:
        search = self.search_screen = HelpdeskSearchScreen(self.search, self.open_account, self.ask_sign_out)
        if len(self.screen_stack) > 1:
            self.switch_screen(search)
        else:
            self.push_screen(search)

    def ask_sign_out(self) -> None:
        self.confirm("sign_out", text("helpdesk.confirm.sign_out"), self.sign_out)

    def action_sign_out(self) -> None:
        self.sign_out()

    def sign_out(self, message: str | None = None) -> None:
        """Wipe and leave: the explicit way out (F10, Esc + confirm, idle)."""
        log.info("helpdesk: %s signs out", self.operator)
        self._generation += 1
        self.wipe()
        self.card = self._caller_visit = None
        self.exit(return_code=0, message=message or text("helpdesk.signed_out"))

    def go_back(self) -> None:
        """Esc: one screen back; on the first screen, offer to sign out."""
        if len(self.screen_stack) <= 2:
            self.ask_sign_out()
        else:
            self.pop_screen()

    def confirm(self, action: str, question: str, then: Callable[[], None]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.push_screen(HelpdeskConfirmScreen(question, text(f"helpdesk.confirm.yes.{action}")), answered)

    # --- finding the account -----------------------------------------------------------------

    def search(self, query: str) -> None:
        desk, screen = self.service, self.search_screen
        assert desk is not None

        def find() -> list[AccountCard]:
            return [desk.card(account) for account in desk.search(query, limit=SEARCH_LIMIT)]

        self.call_backend(find, lambda cards: screen.show_results(query, cards), busy="busy.searching")

    def open_account(self, card: AccountCard) -> None:
        desk = self.service
        assert desk is not None
        account = card.account

        def fetch() -> tuple[AccountCard, bool]:
            return desk.card(account), desk.is_verified(account)

        def show(result: tuple[AccountCard, bool]) -> None:
            self.card, verified = result
            self._caller_visit = None
            self.push_screen(
                HelpdeskAccountScreen(self.card, self.offers(self.card, verified), verified, self.choose, self.go_back)
            )

        self.call_backend(fetch, show)

    def offers(self, card: AccountCard, verified: bool) -> tuple[tuple[str, bool], ...]:
        """Which actions to show and which are enabled: the backend's rule."""
        return offered_actions(self.settings.helpdesk, card, verified)

    def _refresh(self, message: str = "", *, error: bool = False) -> Callable[[tuple[AccountCard, bool]], None]:
        """The card after an action, on the account screen and in the search results."""

        def show(result: tuple[AccountCard, bool]) -> None:
            self.card, verified = result
            for screen in self.screen_stack:
                if isinstance(screen, HelpdeskAccountScreen):
                    screen.show(self.card, self.offers(self.card, verified), verified, message, error=error)
                elif isinstance(screen, HelpdeskSearchScreen):
                    screen.update_card(self.card)

        return show

    def _then_card(self, act: Callable[[HelpdeskPort, Account], object]) -> Callable[[], tuple[AccountCard, bool]]:
        desk, card = self.service, self.card
        assert desk is not None and card is not None
        account = card.account

        def run() -> tuple[AccountCard, bool]:
            act(desk, account)
            return desk.card(account), desk.is_verified(account)

        return run

    def _card_refusal(self, not_allowed: str = "helpdesk.not_allowed") -> Callable[[BaseException], bool]:
        """A refusal (not an outage) is said on the account screen, in words for staff."""

        def handle(error: BaseException) -> bool:
            screen = next((s for s in self.screen_stack if isinstance(s, HelpdeskAccountScreen)), None)
            if screen is None or not isinstance(error, (NotAllowed, Throttled)):
                return False
            self.log_error(error, self.reference())
            account = self.card.account.qualified_name if self.card else ""
            if isinstance(error, Throttled):
                screen.say(self._throttled_text(error))
            else:
                screen.say(text(not_allowed, account=account))
            return True

        return handle

    @staticmethod
    def _throttled_text(error: BaseException) -> str:
        seconds = float(getattr(error, "retry_after", 60) or 60)
        if not math.isfinite(seconds):  # held past the consecutive-failure cap
            return text("helpdesk.throttled_until_cleared")
        return text("helpdesk.throttled", minutes=max(1, math.ceil(seconds / 60)))

    # --- actions ------------------------------------------------------------------------------

    def choose(self, action: str) -> None:
        """A button on the account card."""
        if self.card is None:
            return
        name = self.card.account.qualified_name
        if action == "verify":
            self._ask_questions()
        elif action in ("unlock", "reset", "revoke"):
            self.confirm(action, text(f"helpdesk.confirm.{action}", account=name), getattr(self, f"_{action}"))

    def _ask_questions(self) -> None:
        desk, card = self.service, self.card
        assert desk is not None and card is not None

        def show(result: tuple[Visit, Sequence[Question]]) -> None:
            self._caller_visit, questions = result
            self.verify_screen = HelpdeskVerifyScreen(
                card.account.qualified_name, questions, self.check_answers, self.leave_verify
            )
            self.push_screen(self.verify_screen)

        refused = self._card_refusal("helpdesk.not_enrolled")
        self.call_backend(lambda: desk.caller_questions(card.account), show, on_error=refused)

    def check_answers(self, answers: list[str]) -> None:
        """What the caller said, straight to one worker call; then the card again."""
        desk, visit, screen = self.service, self._caller_visit, self.verify_screen
        assert desk is not None and self.card is not None and visit is not None
        account = self.card.account

        def verify() -> tuple[AccountCard, bool]:
            try:
                desk.verify_caller(visit, answers)
            finally:
                answers.clear()
            return desk.card(account), desk.is_verified(account)

        def verified(result: tuple[AccountCard, bool]) -> None:
            self._caller_visit = None
            if self.screen is screen:
                self.pop_screen()
            self._refresh(text("helpdesk.done.verified"))(result)

        def refused(error: BaseException) -> bool:
            if not isinstance(error, (VerificationFailed, Throttled)) or screen not in self.screen_stack:
                return False
            self.log_error(error, self.reference())
            message = text("helpdesk.verify.failed") if isinstance(error, VerificationFailed) else self._throttled_text(error)
            screen.show_refusal(message)
            return True

        self.call_backend(verify, verified, on_error=refused)

    def leave_verify(self) -> None:
        """Esc on the questions: back to the card, as it is now (wrong answers count)."""
        self._caller_visit = None
        self.pop_screen()
        if self.card is not None:
            self.call_backend(self._then_card(lambda desk, account: None), self._refresh())

    def _unlock(self) -> None:
        name = self.card.account.qualified_name  # type: ignore[union-attr]
        self.call_backend(
            self._then_card(lambda desk, account: desk.unlock(account)),
            self._refresh(text("helpdesk.done.unlock", account=name)),
            busy="busy.saving",
            on_error=self._card_refusal(),
        )

    def _reset(self) -> None:
        desk, card = self.service, self.card
        assert desk is not None and card is not None

        def show(password: str) -> None:
            screen = HelpdeskTemporaryPasswordScreen(card.account.qualified_name, password)
            self.push_screen(screen, lambda _: self._after_temporary_password())

        self.call_backend(lambda: desk.reset(card.account), show, busy="busy.saving", on_error=self._card_refusal())

    def _after_temporary_password(self) -> None:
        if self.card is None:
            return
        self.call_backend(self._then_card(lambda desk, account: None), self._refresh(text("helpdesk.done.reset")))

    def _revoke(self) -> None:
        name = self.card.account.qualified_name  # type: ignore[union-attr]
        revoked: list[bool] = []

        def done(result: tuple[AccountCard, bool]) -> None:
            key = "helpdesk.done.revoke" if revoked and revoked[0] else "helpdesk.done.revoke_none"
            self._refresh(text(key, account=name))(result)

        self.call_backend(
            self._then_card(lambda desk, account: revoked.append(desk.revoke(account))),
            done,
            busy="busy.saving",
            on_error=self._card_refusal(),
        )

    def show_error(self, error: BaseException) -> None:
        """The error panel; a throttle is said for staff, not for the caller."""
        if isinstance(error, Throttled):
            reference = self.reference()
            self.log_error(error, reference)
            self.push_screen(ErrorScreen(self._throttled_text(error), reference))
            return
        super().show_error(error)

