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

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from kiosk.messages import text
from kiosk.screens.helpdesk.base import HelpdeskScreen

if TYPE_CHECKING:
    from kiosk.backend.helpdesk import AccountCard

LABEL_WIDTH = 15
#: The card's ways of verifying the caller: one "Verify caller" button for them
#: all (the flow asks which, when there are several), so the row fits 80 columns.
VERIFY_ACTIONS = ("verify", "verify_totp", "verify_email")


def buttons(card: AccountCard) -> list[tuple[str, bool]]:
    """(button, enabled) for the card's actions, the ways of verifying folded
    into one "verify" button where the first of them is (enabled if any is)."""
    shown: list[tuple[str, bool]] = []
    verify = [enabled for action, enabled in card.actions if action in VERIFY_ACTIONS]
    for action, enabled in card.actions:
        if action in VERIFY_ACTIONS:
            if action == next(a for a, _ in card.actions if a in VERIFY_ACTIONS):
                shown.append(("verify", any(verify)))
            continue
        shown.append((action, enabled))
    return shown
#: The card's text width (the screen body is 76 wide with a padding of 1).
TEXT_WIDTH = 74


def when(value: datetime | float | None) -> str:
    """A moment in the terminal's local time (UTC if the tz is UTC)."""
    if value is None:
        return "?"
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value).astimezone()
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def method_words(methods: tuple[str, ...] | list[str]) -> list[str]:
    return [text(f"helpdesk.method.{method}") for method in methods]


def check_words(alternatives: tuple[tuple[str, ...], ...]) -> str:
    """"questions + app code, or mail code"."""
    return ", or ".join(" + ".join(method_words(list(alternative))) for alternative in alternatives)


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
    if card.totp_shown:
        totp = card.totp_enrolled_at
        lines.append(("helpdesk.card.totp", text("helpdesk.card.totp_yes", when=when(totp)) if totp else text("helpdesk.card.totp_no")))
    if card.mail is not None:
        mail = text("helpdesk.card.mail_to", address=card.mail) if card.mail else text("helpdesk.card.mail_none")
        lines.append(("helpdesk.card.mail", mail))
    caller = text("helpdesk.card.verified" if card.verified else "helpdesk.card.not_verified")
    if not card.verified and card.caller_check != (("questions",),):
        caller += "; " + text("helpdesk.card.caller_check", methods=check_words(card.caller_check))
        if card.passed:
            caller += "; " + text("helpdesk.card.passed", methods=", ".join(method_words(card.passed)))
    lines += [
        ("helpdesk.card.self_service", eligible),
        ("helpdesk.card.throttle", tries),
        ("helpdesk.card.caller", caller),
    ]
    return [(text(label) if label else "", value) for label, value in lines]


class HelpdeskAccountScreen(HelpdeskScreen):
    keys_key = "helpdesk.keys.card"
    AUTO_FOCUS = "#actions Button"

    # The facts scroll (PgUp/PgDn) when they are taller than the room left
    # above the buttons (_fit_facts): the buttons never leave an 80x24 screen.
    BINDINGS = [
        Binding("pageup", "facts_page(-1)", show=False),
        Binding("pagedown", "facts_page(1)", show=False),
    ]

    DEFAULT_CSS = """
    HelpdeskAccountScreen #facts-box { height: auto; margin: 1 0 0 0; scrollbar-size-vertical: 1; }
    HelpdeskAccountScreen #facts { height: auto; }
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
        with VerticalScroll(id="facts-box", can_focus=False):
            yield Static(self._facts_text(), id="facts", markup=False)
        with Horizontal(id="actions"):
            for action, enabled in buttons(self._card):
                yield Button(text(f"helpdesk.action.{action}"), id=f"action-{action}", disabled=not enabled)

    def on_mount(self) -> None:
        self.call_after_refresh(self._fit_facts)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._fit_facts)

    def _fit_facts(self) -> None:
        """At most the rows the form has left once the buttons and the message line have theirs."""
        box = self.query_one("#facts-box", VerticalScroll)
        taken = sum(
            widget.outer_size.height + widget.styles.margin.top
            for widget in (self.query_one("#actions"), self.query_one("#message"))
        )
        room = self.query_one("#form").size.height - box.styles.margin.top - taken
        box.styles.max_height = max(3, room)

    def action_facts_page(self, direction: int) -> None:
        box = self.query_one("#facts-box", VerticalScroll)
        if direction < 0:
            box.scroll_page_up(animate=False)
        else:
            box.scroll_page_down(animate=False)

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
        self.call_after_refresh(self._fit_facts)  # the message line may take more rows now
        before = self.focused
        actions = self.query_one("#actions", Horizontal)
        shown = {button.id: button for button in actions.query(Button).results(Button)}
        wanted = [f"action-{action}" for action, _ in buttons(card)]
        if list(shown) != wanted:
            self.say(message, error=error)
            self.call_next(self._new_actions, actions)
            return
        for action, enabled in buttons(card):
            shown[f"action-{action}"].disabled = not enabled
        self.say(message, error=error)
        if before is None or before.disabled:
            self._focus_first_action()

    async def _new_actions(self, actions: Horizontal) -> None:
        """Other buttons than before: the new ones, the first enabled one focused."""
        await actions.remove_children()
        await actions.mount_all(
            Button(text(f"helpdesk.action.{action}"), id=f"action-{action}", disabled=not enabled)
            for action, enabled in buttons(self._card)
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
