"""The account card: state, enrollment, eligibility, throttle, and the actions.

What is shown comes from ``Helpdesk.card``, and so do the actions offered and
enabled (``AccountCard.actions``: the backend's rule, shown, not re-derived).
Question texts are shown, answers never.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from kiosk.messages import text
from kiosk.screens.helpdesk.base import HelpdeskScreen

if TYPE_CHECKING:
    from kiosk.backend.helpdesk import AccountCard

LABEL_WIDTH = 15
#: The card's text width (the screen body is 76 wide with a padding of 1).
TEXT_WIDTH = 74


def when(value: datetime | float | None) -> str:
    """A moment in the terminal's local time (UTC if the tz is UTC)."""
    if value is None:
        return "?"
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value).astimezone()
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def facts(card: AccountCard) -> list[tuple[str, str]]:
    """(label, value) lines for the card, in the order an operator reads them."""
    account, enrollment, throttle = card.account, card.enrollment, card.throttle
    state = text("helpdesk.card.enabled") if account.enabled else text("helpdesk.card.disabled")
    if account.expired:
        state += ", " + text("helpdesk.card.expired")
    if not account.locked:
        locked = text("helpdesk.no")
    elif account.locked_since is not None:
        locked = text("helpdesk.card.locked_since", since=when(account.locked_since))
    else:
        locked = text("helpdesk.card.locked_yes")
    password = []
    if account.password_last_set is not None:
        password.append(text("helpdesk.card.password_set", set=when(account.password_last_set)))
    if account.password_expires is not None:
        password.append(text("helpdesk.card.password_expires", expires=when(account.password_expires)))
    else:
        password.append(text("helpdesk.card.password_never_expires"))
    if account.must_change_password:
        password.append(text("helpdesk.card.must_change"))
    if enrollment.state == "not_enrolled":
        enrolled = text("helpdesk.card.enrolled_no")
    else:
        enrolled = text("helpdesk.card.enrolled_yes", when=when(enrollment.enrolled_at))
        if enrollment.last_used_at is not None:
            enrolled += "; " + text("helpdesk.card.last_used", when=when(enrollment.last_used_at))
        if enrollment.state == "partial":
            enrolled += "; " + text("helpdesk.card.enrolled_partial")
    if throttle.locked_until is not None:
        tries = text("helpdesk.card.throttle_locked", count=throttle.failures, until=when(throttle.locked_until))
    elif throttle.failures:
        tries = text("helpdesk.card.throttle_count", count=throttle.failures)
    else:
        tries = text("helpdesk.card.throttle_none")
    eligible = (
        text("helpdesk.card.allowed")
        if card.eligible
        else text("helpdesk.card.not_allowed", reason=card.ineligible_reason)
    )
    lines = [
        ("helpdesk.card.account", f"{state}   {account.upn or ''}".rstrip()),
        ("helpdesk.card.locked", locked),
        ("helpdesk.card.bad_passwords", str(account.bad_password_count)),
        ("helpdesk.card.password", "; ".join(password)),
        ("helpdesk.card.enrolled", enrolled),
    ]
    lines += [("", f"{n}. {question}") for n, question in enumerate(card.enrolled_questions, 1)]
    if card.enrolled_before_password_set is not None:
        key = "helpdesk.card.answers_before" if card.enrolled_before_password_set else "helpdesk.card.answers_after"
        lines.append(("", text(key)))
    lines += [
        ("helpdesk.card.self_service", eligible),
        ("helpdesk.card.throttle", tries),
        ("helpdesk.card.caller", text("helpdesk.card.verified" if card.verified else "helpdesk.card.not_verified")),
    ]
    return [(text(label) if label else "", value) for label, value in lines]


class HelpdeskAccountScreen(HelpdeskScreen):
    keys_key = "helpdesk.keys.card"
    AUTO_FOCUS = "#actions Button"

    DEFAULT_CSS = """
    HelpdeskAccountScreen #facts { height: auto; margin: 1 0 0 0; }
    HelpdeskAccountScreen #actions { height: 3; margin: 1 0 0 0; }
    HelpdeskAccountScreen #actions Button { min-width: 10; margin: 0 1 0 0; }
    HelpdeskAccountScreen #message { margin: 0; }
    """

    def __init__(self, card: AccountCard, on_action: Callable[[str], None], on_back: Callable[[], None]) -> None:
        super().__init__()
        self._on_action = on_action
        self._on_back = on_back
        self._card = card

    def screen_title(self) -> str:
        account = self._card.account
        return f"{account.display_name or account.sam} ({account.qualified_name})"

    def compose_form(self) -> ComposeResult:
        yield Static(self._facts_text(), id="facts", markup=False)
        with Horizontal(id="actions"):
            for action, enabled in self._card.actions:
                yield Button(text(f"helpdesk.action.{action}"), id=f"action-{action}", disabled=not enabled)

    def _facts_text(self) -> str:
        lines = []
        for label, value in facts(self._card):
            wrapped = textwrap.wrap(value, TEXT_WIDTH - LABEL_WIDTH) or [""]
            lines.append(f"{label:<{LABEL_WIDTH}}{wrapped[0]}")
            lines += [" " * LABEL_WIDTH + more for more in wrapped[1:]]
        return "\n".join(lines)

    def show(self, card: AccountCard, message: str = "", *, error: bool = False) -> None:
        """The card again after an action: the facts, the buttons, a line of news.
        Buttons come and go with the card (Clear attempts only while there are some)."""
        self._card = card
        self.query_one("#facts", Static).update(self._facts_text())
        before = self.focused
        actions = self.query_one("#actions", Horizontal)
        shown = {button.id: button for button in actions.query(Button).results(Button)}
        wanted = [f"action-{action}" for action, _ in card.actions]
        if list(shown) != wanted:
            self.say(message, error=error)
            self.call_next(self._new_actions, actions)
            return
        for action, enabled in card.actions:
            shown[f"action-{action}"].disabled = not enabled
        self.say(message, error=error)
        if before is None or before.disabled:
            self._focus_first_action()

    async def _new_actions(self, actions: Horizontal) -> None:
        """Other buttons than before: the new ones, the first enabled one focused."""
        await actions.remove_children()
        await actions.mount_all(
            Button(text(f"helpdesk.action.{action}"), id=f"action-{action}", disabled=not enabled)
            for action, enabled in self._card.actions
        )
        self._focus_first_action()

    def _focus_first_action(self) -> None:
        first = next((b for b in self.query("#actions Button").results(Button) if not b.disabled), None)
        self.set_focus(first)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id and event.button.id.startswith("action-"):
            self._on_action(event.button.id.removeprefix("action-"))

    def action_back(self) -> None:
        self._on_back()
