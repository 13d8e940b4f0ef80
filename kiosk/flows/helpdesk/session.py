"""HelpdeskFlow: one operator session, as an object (``kiosk helpdesk``).

It owns the session's state: the account card open, the caller's
verification in progress (the backend's visit handle, no secrets), the
screens it showed. It decides the next screen and runs every backend call
through its ``HelpdeskHost`` (the app) in a worker behind the busy screen. It
has the life of a kiosk ``Flow``:

    flow = HelpdeskFlow(host)   # the app's one flow
    flow.start()                # sign-in (or authorize without a password), then the search
    flow.back()                 # Esc where a screen has no back of its own
    flow.wipe()                 # forget what is secret (the temporary password)
    flow.end()                  # signing out: forget the card and the caller

What the operator may do is the backend's: the card says which actions it
offers and which are enabled (``AccountCard.actions``) and ``Helpdesk``
enforces the same rules. Refusals are said where they happen, by class.
Adding a card action = its step in ``CARD_ACTIONS`` here + its texts
(``helpdesk.action.<name>``, ``helpdesk.confirm.<name>``) + its use case
method and its line in ``backend/helpdesk_actions.offered_actions``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from textual.screen import Screen

from kiosk.backend.errors import (
    CodeNotSent,
    InvalidCredentials,
    NotAllowed,
    Throttled,
    TooManyCodes,
    VerificationFailed,
)
from kiosk.flows.base import BackendCaller
from kiosk.messages import error_text, text
from kiosk.screens.error import ErrorScreen
from kiosk.screens.helpdesk.account import VERIFY_ACTIONS, HelpdeskAccountScreen
from kiosk.screens.helpdesk.code import HelpdeskCodeScreen
from kiosk.screens.helpdesk.confirm import Confirmation, HelpdeskConfirmScreen
from kiosk.screens.helpdesk.method import HelpdeskMethodScreen
from kiosk.screens.helpdesk.search import HelpdeskSearchScreen
from kiosk.screens.helpdesk.signin import HelpdeskSignInScreen
from kiosk.screens.helpdesk.temporary_password import HelpdeskTemporaryPasswordScreen
from kiosk.screens.helpdesk.verify import HelpdeskVerifyScreen

if TYPE_CHECKING:
    from kiosk.backend.helpdesk import AccountCard
    from kiosk.backend.model import Account, Question
    from kiosk.backend.ports import HelpdeskPort
    from kiosk.backend.usecase import Visit
    from kiosk.config import Settings

log = logging.getLogger("kiosk.helpdesk")


#: At most this many rows in the search results.
SEARCH_LIMIT = 25


def throttled_text(error: BaseException) -> str:
    """A block from wrong answers, in words for staff (minutes, rounded up)."""
    seconds = float(getattr(error, "retry_after", 60) or 60)
    if not math.isfinite(seconds):  # held past the consecutive-failure cap
        return text("helpdesk.throttled_until_cleared")
    return text("helpdesk.throttled", minutes=max(1, math.ceil(seconds / 60)))


class HelpdeskHost(BackendCaller, Protocol):
    """What the helpdesk flow may ask of the app (``HelpdeskApp`` provides it)."""

    settings: Settings
    operator: str
    service: HelpdeskPort | None

    def when_ready(self, then: Callable[[], None]) -> None:
        """``then`` once the helpdesk (the backend) is built (at once if it is)."""

    def show(self, screen: Screen[Any], then: Callable[[Any], None] | None = None) -> None:
        """The next screen on top; ``then`` gets what it is dismissed with."""

    def replace(self, screen: Screen[Any]) -> None:
        """``screen`` in place of the current one."""

    def back(self) -> None:
        """One screen back."""

    def close(self, screen: Screen[Any]) -> None:
        """Take ``screen`` away if it is the one on top."""

    def shown(self, screen: Screen[Any]) -> bool:
        """Is ``screen`` still on the stack?"""
        ...

    def depth(self) -> int:
        """How many screens are on the stack (Textual's default screen counts)."""
        ...

    def log_error(self, error: BaseException, reference: str) -> None:
        """Details to the log only, under ``reference``."""

    def reference(self) -> str:
        """The caller's visit's reference, or a new one."""
        ...

    def show_error(self, error: BaseException) -> None:
        """Plain words and a reference."""

    def sign_out(self, message: str | None = None) -> None:
        """Wipe and leave."""


class HelpdeskFlow:
    """One operator session: sign in, find an account, act on its card."""

    def __init__(self, host: HelpdeskHost) -> None:
        self.host = host
        #: The account card open (None: the search).
        self.card: AccountCard | None = None
        #: The caller's verification in progress (the backend's handle; no secrets).
        self.caller_visit: Visit | None = None
        self._signin: HelpdeskSignInScreen | None = None
        self._search: HelpdeskSearchScreen | None = None
        self._account: HelpdeskAccountScreen | None = None
        self._verify: HelpdeskVerifyScreen | None = None
        self._code: HelpdeskCodeScreen | None = None
        self._secrets: list[HelpdeskTemporaryPasswordScreen] = []

    @property
    def desk(self) -> HelpdeskPort:
        desk = self.host.service
        assert desk is not None, "the helpdesk is built before the flow calls it"
        return desk

    # --- the life of a session ---------------------------------------------------------

    def start(self) -> None:
        """The first screen: the operator's own password, or straight to authorizing."""
        if self.host.settings.helpdesk.require_operator_password:
            self._signin = HelpdeskSignInScreen(self.host.operator, self.sign_in, self.ask_sign_out)
            self.host.show(self._signin)
        else:
            self.host.when_ready(self._authorize_without_password)

    def back(self) -> None:
        """Esc on a screen without a back of its own: one screen back; on the
        first screen, offer to sign out."""
        if self.host.depth() <= 2:
            self.ask_sign_out()
        else:
            self.host.back()

    def wipe(self) -> None:
        """Forget what is secret: a temporary password still shown."""
        for screen in self._secrets:
            screen.wipe()
        self._secrets = [s for s in self._secrets if self.host.shown(s)]

    def end(self) -> None:
        """Signing out: forget the card and the caller."""
        self.card = self.caller_visit = None

    def reference(self) -> str | None:
        return self.caller_visit.reference if self.caller_visit is not None else None

    # --- signing in and out ---------------------------------------------------------------

    def sign_in(self, password: str) -> None:
        """The operator's own password, straight to one worker call."""
        screen = self._signin
        assert screen is not None

        def authorize() -> None:
            self.desk.authorize(password)

        def refused(error: BaseException) -> bool:
            if isinstance(error, (InvalidCredentials, NotAllowed)) and self.host.shown(screen):
                self.host.log_error(error, self.host.reference())
                key = "helpdesk.signin.wrong" if isinstance(error, InvalidCredentials) else "helpdesk.signin.refused"
                screen.show_refusal(text(key, operator=self.host.operator))
                return True
            return False

        self.host.when_ready(lambda: self.host.call_backend(authorize, self._signed_in, on_error=refused))

    def _authorize_without_password(self) -> None:
        desk = self.desk
        if desk.authorized:
            self._signed_in(None)
            return

        def refused(error: BaseException) -> bool:
            if not isinstance(error, (InvalidCredentials, NotAllowed)):
                return False
            reference = self.host.reference()
            self.host.log_error(error, reference)
            message = text("helpdesk.refused", operator=self.host.operator)
            self.host.show(ErrorScreen(message, reference), lambda _: self.host.sign_out())
            return True

        self.host.call_backend(lambda: desk.authorize(None), self._signed_in, on_error=refused)

    def _signed_in(self, _: object) -> None:
        self._search = HelpdeskSearchScreen(self.search, self.open_account, self.ask_sign_out)
        if self.host.depth() > 1:
            self.host.replace(self._search)  # the sign-in is gone: Esc cannot go back to it
        else:
            self.host.show(self._search)

    def ask_sign_out(self) -> None:
        self._confirm("sign_out", text("helpdesk.confirm.sign_out"), lambda _: self.host.sign_out())

    # --- finding the account -----------------------------------------------------------------

    def search(self, query: str) -> None:
        desk, screen = self.desk, self._search
        assert screen is not None

        def find() -> list[AccountCard]:
            return [desk.card(account) for account in desk.search(query, limit=SEARCH_LIMIT)]

        self.host.call_backend(find, lambda cards: screen.show_results(query, cards), busy="busy.searching")

    def open_account(self, card: AccountCard) -> None:
        desk, account = self.desk, card.account

        def show(card: AccountCard) -> None:
            self.card, self.caller_visit = card, None
            self._account = HelpdeskAccountScreen(card, self.choose, self.leave_account)
            self.host.show(self._account)

        self.host.call_backend(lambda: desk.card(account), show)

    def leave_account(self) -> None:
        """Esc on the card: back to the search."""
        self.card = self.caller_visit = None
        self.host.back()

    def _refresh(self, message: str = "") -> Callable[[AccountCard], None]:
        """The card after an action, on the account screen and in the search results."""

        def show(card: AccountCard) -> None:
            self.card = card
            if self._account is not None and self.host.shown(self._account):
                self._account.show(card, message)
            if self._search is not None and self.host.shown(self._search):
                self._search.update_card(card)

        return show

    def _then_card(self, act: Callable[[HelpdeskPort, Account], object]) -> Callable[[], AccountCard]:
        """In the worker: ``act``, then the card as it is now."""
        desk, card = self.desk, self.card
        assert card is not None
        account = card.account

        def run() -> AccountCard:
            act(desk, account)
            return desk.card(account)

        return run

    def _card_refusal(self, not_allowed: str = "helpdesk.not_allowed") -> Callable[[BaseException], bool]:
        """A refusal (not an outage) is said on the account screen, in words for staff."""

        def handle(error: BaseException) -> bool:
            screen = self._account
            if screen is None or not self.host.shown(screen) or not isinstance(error, (NotAllowed, Throttled)):
                return False
            self.host.log_error(error, self.host.reference())
            account = self.card.account.qualified_name if self.card else ""
            screen.say(throttled_text(error) if isinstance(error, Throttled) else text(not_allowed, account=account))
            return True

        return handle

    def _confirm(
        self, action: str, question: str, then: Callable[[Confirmation], None], *, option: str | None = None,
        option_required: bool = False,
    ) -> None:
        def answered(answer: Confirmation | None) -> None:
            if answer is not None and answer.yes:
                then(answer)

        yes = text(f"helpdesk.confirm.yes.{action}")
        self.host.show(HelpdeskConfirmScreen(question, yes, option=option, option_required=option_required), answered)

    # --- the card's actions ---------------------------------------------------------------------

    def choose(self, action: str) -> None:
        """A button on the account card. "Verify caller" stands for every way
        of verifying the card offers: with several, the operator picks one."""
        card = self.card
        if card is None:
            return
        if action == "verify":
            ways = [(a, enabled) for a, enabled in card.actions if a in VERIFY_ACTIONS]
            if len(ways) > 1:
                def chosen(way: str | None) -> None:
                    if way in CARD_ACTIONS and self.card is not None:
                        CARD_ACTIONS[way](self, self.card)

                screen = HelpdeskMethodScreen(card.account.qualified_name, ways, card.mail or "")
                self.host.show(screen, chosen)
                return
            if ways:
                action = ways[0][0]
        if action in CARD_ACTIONS:
            CARD_ACTIONS[action](self, card)

    def _ask_questions(self, card: AccountCard) -> None:
        desk = self.desk

        def show(result: tuple[Visit, Sequence[Question]]) -> None:
            self.caller_visit, questions = result
            self._verify = HelpdeskVerifyScreen(
                card.account.qualified_name, questions, self.check_answers, self.leave_verify
            )
            self.host.show(self._verify)

        refused = self._card_refusal("helpdesk.not_enrolled")
        self.host.call_backend(lambda: desk.caller_questions(card.account), show, on_error=refused)

    def check_answers(self, answers: list[str]) -> None:
        """What the caller said, straight to one worker call; then the card again."""
        desk, visit, screen = self.desk, self.caller_visit, self._verify
        assert self.card is not None and visit is not None and screen is not None
        account = self.card.account

        def verify() -> AccountCard:
            try:
                desk.verify_caller(visit, answers)
            finally:
                answers.clear()
            return desk.card(account)

        def verified(card: AccountCard) -> None:
            self._after_check(screen, card)

        def refused(error: BaseException) -> bool:
            if not isinstance(error, (VerificationFailed, Throttled)) or not self.host.shown(screen):
                return False
            self.host.log_error(error, self.host.reference())
            failed = isinstance(error, VerificationFailed)
            screen.show_refusal(text("helpdesk.verify.failed") if failed else throttled_text(error))
            return True

        self.host.call_backend(verify, verified, on_error=refused)

    def _ask_code(self, card: AccountCard, method: str) -> None:
        """The caller check by a code: the app's (nothing sent) or an e-mailed one (sent now)."""
        desk = self.desk

        def show(result: tuple[Visit, str]) -> None:
            self.caller_visit, address = result
            self._code = HelpdeskCodeScreen(
                card.account.qualified_name, method, address, self.check_code, self.leave_verify
            )
            self.host.show(self._code)

        def refused(error: BaseException) -> bool:
            if isinstance(error, (CodeNotSent, TooManyCodes)) and self._account is not None and self.host.shown(self._account):
                self.host.log_error(error, self.host.reference())
                self._account.say(error_text(error))
                return True
            return self._card_refusal("helpdesk.no_code")(error)

        busy = "busy.sending" if method == "email" else "busy.checking"
        self.host.call_backend(lambda: desk.caller_code(card.account, method), show, busy=busy, on_error=refused)

    def _ask_totp(self, card: AccountCard) -> None:
        self._ask_code(card, "totp")

    def _ask_email(self, card: AccountCard) -> None:
        self._ask_code(card, "email")

    def check_code(self, code: str) -> None:
        """The code the caller read out, to one worker call; then the card again."""
        desk, visit, screen = self.desk, self.caller_visit, self._code
        assert self.card is not None and visit is not None and screen is not None
        account = self.card.account

        def verify() -> AccountCard:
            desk.verify_caller_code(visit, code)
            return desk.card(account)

        def refused(error: BaseException) -> bool:
            if not isinstance(error, (VerificationFailed, Throttled)) or not self.host.shown(screen):
                return False
            self.host.log_error(error, self.host.reference())
            failed = isinstance(error, VerificationFailed)
            screen.show_refusal(text("helpdesk.code.failed") if failed else throttled_text(error))
            return True

        self.host.call_backend(
            verify, lambda card: self._after_check(screen, card, "helpdesk.done.verified_code"), on_error=refused
        )

    def _after_check(self, screen: Screen[Any], card: AccountCard, done: str = "helpdesk.done.verified") -> None:
        """A method passed: the card, saying whether the caller is verified or what else the check needs."""
        self.caller_visit = None
        self.host.close(screen)
        if card.verified:
            self._refresh(text(done))(card)
            return
        passed = set(card.passed)
        left = [m for alternative in card.caller_check for m in alternative if m not in passed]
        words = ", ".join(dict.fromkeys(text(f"helpdesk.method.{m}") for m in left))
        self._refresh(text("helpdesk.done.verified_part", methods=words))(card)

    def leave_verify(self) -> None:
        """Esc on the questions: back to the card, as it is now (wrong answers count)."""
        self.caller_visit = None
        self.host.back()
        if self.card is not None:
            self.host.call_backend(self._then_card(lambda desk, account: None), self._refresh())

    def _ask_unlock(self, card: AccountCard) -> None:
        name = card.account.qualified_name
        self._confirm("unlock", text("helpdesk.confirm.unlock", account=name), lambda _: self._unlock(name))

    def _unlock(self, name: str) -> None:
        self.host.call_backend(
            self._then_card(lambda desk, account: desk.unlock(account)),
            self._refresh(text("helpdesk.done.unlock", account=name)),
            busy="busy.saving",
            on_error=self._card_refusal(),
        )

    def _ask_reset(self, card: AccountCard) -> None:
        """The reset's confirmation; where the card allows revoking, a tick box
        to revoke the answers in the same step (saying when they were set up)."""
        option = None
        question = text("helpdesk.confirm.reset", account=card.account.qualified_name)
        if card.allows("revoke"):
            option = text("helpdesk.confirm.reset_revoke")
            before = card.enrolled_before_password_set
            if before is not None:
                question += "\n" + text("helpdesk.card.answers_before" if before else "helpdesk.card.answers_after")
        self._confirm("reset", question, lambda answer: self._reset(card, revoke=answer.option), option=option)

    def _reset(self, card: AccountCard, *, revoke: bool) -> None:
        desk = self.desk

        def show(password: str) -> None:
            screen = HelpdeskTemporaryPasswordScreen(card.account.qualified_name, password)
            self._secrets.append(screen)
            self.host.show(screen, lambda _: self._after_temporary_password(revoke))

        self.host.call_backend(
            lambda: desk.reset(card.account, revoke_answers=revoke), show, busy="busy.saving", on_error=self._card_refusal()
        )

    def _after_temporary_password(self, revoked: bool) -> None:
        self._secrets = [s for s in self._secrets if self.host.shown(s)]
        if self.card is None:
            return
        message = text("helpdesk.done.reset_revoked" if revoked else "helpdesk.done.reset")
        self.host.call_backend(self._then_card(lambda desk, account: None), self._refresh(message))

    def _ask_revoke(self, card: AccountCard) -> None:
        name = card.account.qualified_name
        self._confirm("revoke", text("helpdesk.confirm.revoke", account=name), lambda _: self._revoke(name))

    def _revoke(self, name: str) -> None:
        revoked: list[bool] = []

        def done(card: AccountCard) -> None:
            key = "helpdesk.done.revoke" if revoked and revoked[0] else "helpdesk.done.revoke_none"
            self._refresh(text(key, account=name))(card)

        self.host.call_backend(
            self._then_card(lambda desk, account: revoked.append(desk.revoke(account))),
            done,
            busy="busy.saving",
            on_error=self._card_refusal(),
        )

    def _ask_revoke_totp(self, card: AccountCard) -> None:
        name = card.account.qualified_name
        self._confirm(
            "revoke_totp", text("helpdesk.confirm.revoke_totp", account=name), lambda _: self._revoke_totp(name)
        )

    def _revoke_totp(self, name: str) -> None:
        revoked: list[bool] = []

        def done(card: AccountCard) -> None:
            key = "helpdesk.done.revoke_totp" if revoked and revoked[0] else "helpdesk.done.revoke_totp_none"
            self._refresh(text(key, account=name))(card)

        self.host.call_backend(
            self._then_card(lambda desk, account: revoked.append(desk.revoke(account, "totp"))),
            done,
            busy="busy.saving",
            on_error=self._card_refusal(),
        )

    def _ask_clear(self, card: AccountCard) -> None:
        """Clearing the wrong answers: after the questions verified the caller,
        a plain confirmation; otherwise (a blocked caller cannot answer them)
        the operator ticks that they verified the caller another way, and the
        backend audits it as such."""
        name = card.account.qualified_name
        if card.verified:
            self._confirm("clear", text("helpdesk.confirm.clear", account=name), lambda _: self._clear(name, False))
            return
        self._confirm(
            "clear",
            text("helpdesk.confirm.clear_unverified", account=name),
            lambda answer: self._clear(name, answer.option),
            option=text("helpdesk.confirm.clear_other_route"),
            option_required=True,
        )

    def _clear(self, name: str, verified_elsewhere: bool) -> None:
        self.host.call_backend(
            self._then_card(lambda desk, account: desk.clear_attempts(account, verified_elsewhere=verified_elsewhere)),
            self._refresh(text("helpdesk.done.clear", account=name)),
            busy="busy.saving",
            on_error=self._card_refusal(),
        )


#: The card's buttons -> the flow's first step for each.
CARD_ACTIONS: dict[str, Callable[[HelpdeskFlow, AccountCard], None]] = {
    "verify": HelpdeskFlow._ask_questions,
    "unlock": HelpdeskFlow._ask_unlock,
    "reset": HelpdeskFlow._ask_reset,
    "revoke": HelpdeskFlow._ask_revoke,
    "clear": HelpdeskFlow._ask_clear,
    "verify_totp": HelpdeskFlow._ask_totp,
    "verify_email": HelpdeskFlow._ask_email,
    "revoke_totp": HelpdeskFlow._ask_revoke_totp,
}
