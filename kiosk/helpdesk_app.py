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
state (the backend refuses anyway).

    app = HelpdeskApp(settings)         # operator = the login this process runs as
    app.run()
"""

from __future__ import annotations

import logging
import math
import os
import pwd
from collections.abc import Callable, Sequence
from typing import Any

from textual.binding import Binding

from kiosk.app_base import LockedDownApp, new_reference
from kiosk.config import Settings
from kiosk.messages import duration, text
from kiosk.screens.error import ErrorScreen
from kiosk.screens.helpdesk_account import HelpdeskAccountScreen
from kiosk.screens.helpdesk_confirm import HelpdeskConfirmScreen
from kiosk.screens.helpdesk_search import HelpdeskSearchScreen
from kiosk.screens.helpdesk_signin import HelpdeskSignInScreen
from kiosk.screens.helpdesk_temporary_password import HelpdeskTemporaryPasswordScreen
from kiosk.screens.helpdesk_verify import HelpdeskVerifyScreen

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


class HelpdeskApp(LockedDownApp):
    TITLE = "kiosk helpdesk"
    BINDINGS = [Binding("f10", "sign_out", show=False, priority=True, system=True)]

    def __init__(
        self,
        settings: Settings,
        *,
        helpdesk: Any | None = None,
        helpdesk_factory: Callable[[], Any] | None = None,
        operator: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        super().__init__(settings, service=helpdesk, service_factory=helpdesk_factory, environ=environ)
        self.operator = operator if operator is not None else login_name()
        self.terminal = _terminal(settings, environ)
        self.card: Any | None = None  # the account card shown
        self._caller_visit: Any | None = None  # the verification in progress (no secrets)

    @property
    def helpdesk(self) -> Any | None:
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

    def _build_service(self) -> Any:
        if self._service_factory is not None:
            return self._service_factory()
        from kiosk.backend.wiring import build_helpdesk

        return build_helpdesk(self.settings, operator=self.operator, terminal=self.terminal)

    def start(self) -> None:
        if self.settings.helpdesk.require_operator_password:
            self.push_screen(HelpdeskSignInScreen(self.operator))
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
        return getattr(self._caller_visit, "reference", None) or new_reference()

    # --- signing in and out ---------------------------------------------------------------

    def sign_in(self, password: str) -> None:
        """The operator's own password, straight to one worker call."""
        screen = self.screen

        def authorize() -> None:
            assert self.service is not None
            self.service.authorize(password)

        def refused(error: BaseException) -> bool:
            code = getattr(error, "code", None)
            if code in ("invalid_credentials", "not_allowed") and screen in self.screen_stack:
                self._log_error(error, new_reference())
                key = "helpdesk.signin.wrong" if code == "invalid_credentials" else "helpdesk.signin.refused"
                screen.show_refusal(text(key, operator=self.operator))
                return True
            return False

        self._with_service(lambda: self.call_backend(authorize, self._signed_in, on_error=refused))

    def _authorize_without_password(self) -> None:
        assert self.service is not None
        if self.service.authorized:
            self._signed_in(None)
            return

        def refused(error: BaseException) -> bool:
            if getattr(error, "code", None) not in ("invalid_credentials", "not_allowed"):
                return False
            reference = new_reference()
            self._log_error(error, reference)
            message = text("helpdesk.refused", operator=self.operator)
            self.push_screen(ErrorScreen(message, reference), lambda _: self.sign_out())
            return True

        self.call_backend(lambda: self.service.authorize(None), self._signed_in, on_error=refused)

    def _signed_in(self, _: Any) -> None:
        search = HelpdeskSearchScreen()
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
        desk, screen = self.service, self.screen
        assert desk is not None

        def find() -> list[Any]:
            return [desk.card(account) for account in desk.search(query, limit=SEARCH_LIMIT)]

        self.call_backend(find, lambda cards: screen.show_results(query, cards), busy="busy.searching")

    def open_account(self, card: Any) -> None:
        desk = self.service
        assert desk is not None
        account = card.account

        def fetch() -> tuple[Any, bool]:
            return desk.card(account), desk.is_verified(account)

        def show(result: tuple[Any, bool]) -> None:
            self.card, verified = result
            self._caller_visit = None
            self.push_screen(HelpdeskAccountScreen(self.card, self.offers(self.card, verified), verified))

        self.call_backend(fetch, show)

    def offers(self, card: Any, verified: bool) -> list[tuple[str, bool]]:
        """Which actions to show (per configuration) and which are enabled (by state)."""
        rules = self.settings.helpdesk
        must_verify = rules.require_verification and not verified
        enrolled = card.enrollment.state != "not_enrolled"
        offered = [("verify", enrolled and card.enrollment.can_verify and not verified)]
        if rules.unlock:
            offered.append(("unlock", not must_verify))
        if rules.reset:
            offered.append(("reset", not must_verify))
        if rules.revoke:
            offered.append(("revoke", enrolled))
        return offered

    def _refresh(self, message: str = "", *, error: bool = False) -> Callable[[tuple[Any, bool]], None]:
        """The card after an action, on the account screen and in the search results."""

        def show(result: tuple[Any, bool]) -> None:
            self.card, verified = result
            for screen in self.screen_stack:
                if isinstance(screen, HelpdeskAccountScreen):
                    screen.show(self.card, self.offers(self.card, verified), verified, message, error=error)
                elif isinstance(screen, HelpdeskSearchScreen):
                    screen.update_card(self.card)

        return show

    def _then_card(self, act: Callable[[Any, Any], Any]) -> Callable[[], tuple[Any, bool]]:
        desk, account = self.service, self.card.account  # type: ignore[union-attr]

        def run() -> tuple[Any, bool]:
            act(desk, account)
            return desk.card(account), desk.is_verified(account)

        return run

    def _card_refusal(self, not_allowed: str = "helpdesk.not_allowed") -> Callable[[BaseException], bool]:
        """A refusal (not an outage) is said on the account screen, in words for staff."""

        def handle(error: BaseException) -> bool:
            code = getattr(error, "code", None)
            screen = next((s for s in self.screen_stack if isinstance(s, HelpdeskAccountScreen)), None)
            if screen is None or code not in ("not_allowed", "throttled"):
                return False
            self._log_error(error, self.reference())
            account = self.card.account.qualified_name if self.card else ""
            if code == "throttled":
                screen.say(self._throttled_text(error))
            else:
                screen.say(text(not_allowed, account=account))
            return True

        return handle

    @staticmethod
    def _throttled_text(error: BaseException) -> str:
        seconds = float(getattr(error, "retry_after", 60) or 60)
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

        def show(result: tuple[Any, Sequence[Any]]) -> None:
            self._caller_visit, questions = result
            self.push_screen(HelpdeskVerifyScreen(card.account.qualified_name, questions))

        refused = self._card_refusal("helpdesk.not_enrolled")
        self.call_backend(lambda: desk.caller_questions(card.account), show, on_error=refused)

    def check_answers(self, answers: list[str]) -> None:
        """What the caller said, straight to one worker call; then the card again."""
        desk, visit, screen = self.service, self._caller_visit, self.screen
        assert desk is not None and self.card is not None
        account = self.card.account

        def verify() -> tuple[Any, bool]:
            try:
                desk.verify_caller(visit, answers)
            finally:
                answers.clear()
            return desk.card(account), desk.is_verified(account)

        def verified(result: tuple[Any, bool]) -> None:
            self._caller_visit = None
            if self.screen is screen:
                self.pop_screen()
            self._refresh(text("helpdesk.done.verified"))(result)

        def refused(error: BaseException) -> bool:
            code = getattr(error, "code", None)
            if code not in ("verification_failed", "throttled") or screen not in self.screen_stack:
                return False
            self._log_error(error, self.reference())
            message = text("helpdesk.verify.failed") if code == "verification_failed" else self._throttled_text(error)
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

        def done(result: tuple[Any, bool]) -> None:
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
        if getattr(error, "code", None) == "throttled":
            reference = self.reference()
            self._log_error(error, reference)
            self.push_screen(ErrorScreen(self._throttled_text(error), reference))
            return
        super().show_error(error)

