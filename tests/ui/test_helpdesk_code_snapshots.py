"""The helpdesk's caller check by a code, at 80x24, on the FakeHelpdesk of
``test_helpdesk_snapshots`` with fixed data: the card showing the methods set
up (and when) with their buttons, the code screens (app and e-mail) and a
refused code.

Regenerate after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_helpdesk_code_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kiosk.backend.errors import SecondFactorFailed
from kiosk.backend.helpdesk import AccountCard
from kiosk.backend.helpdesk_actions import offered_actions
from kiosk.backend.model import Account
from ui.helpers import settle, type_text
from ui.test_helpdesk_snapshots import FakeHelpdesk, FakeVisit, at, fixed_world, helpdesk, open_card, press_action

__all__ = ["fixed_world"]  # the fixture, used by every test here

CHECK = (("questions",), ("totp",), ("email",))


@dataclass
class CodesHelpdesk(FakeHelpdesk):
    """carol has an authenticator app (since 10 Nov) and an address; the caller
    check takes questions, the app's code or an e-mailed one (right: 246810)."""

    def card(self, account: Account) -> AccountCard:
        card = self.cards[account.sam]
        verified = account.sam in self.verified
        has_totp = account.sam == "carol"
        actions = offered_actions(
            self.rules, card.enrollment, card.throttle, verified, methods=("questions", "totp", "email"),
            has_totp=has_totp, has_mail=True,
        )
        return replace(
            card, verified=verified, actions=actions, caller_check=CHECK, totp_shown=True,
            totp_enrolled_at=at(11, 10, 14, 5) if has_totp else None, mail=f"{account.sam[0]}***@example.test",
        )

    def caller_code(self, account: Account, method: str):
        return FakeVisit(account.sam, "helpdesk"), (f"{account.sam[0]}***@example.test" if method == "email" else "")

    def verify_caller_code(self, visit: FakeVisit, code: str) -> None:
        if code.strip() != "246810":
            raise SecondFactorFailed()
        self.verified.add(visit.sam)


async def verify_by(pilot, way: str) -> None:
    from textual.widgets import OptionList

    await press_action(pilot, "verify")
    options = pilot.app.screen.query_one(OptionList)
    options.highlighted = [o.id for o in options.options].index(way)
    await pilot.press("enter")
    await settle(pilot)


def test_card_with_codes(snap_compare):
    async def run_before(pilot):
        await open_card(pilot)

    assert snap_compare(helpdesk(CodesHelpdesk()), run_before=run_before)


def test_choose_how_to_verify(snap_compare):
    async def run_before(pilot):
        await open_card(pilot)
        await press_action(pilot, "verify")

    assert snap_compare(helpdesk(CodesHelpdesk()), run_before=run_before)


def test_code_by_app(snap_compare):
    async def run_before(pilot):
        await open_card(pilot)
        await verify_by(pilot, "verify_totp")
        await type_text(pilot, "2468")

    assert snap_compare(helpdesk(CodesHelpdesk()), run_before=run_before)


def test_code_by_email_refused(snap_compare):
    async def run_before(pilot):
        await open_card(pilot)
        await verify_by(pilot, "verify_email")
        await type_text(pilot, "111111")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(helpdesk(CodesHelpdesk()), run_before=run_before)


def test_card_verified_by_email(snap_compare):
    async def run_before(pilot):
        await open_card(pilot)
        await verify_by(pilot, "verify_email")
        await type_text(pilot, "246810")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(helpdesk(CodesHelpdesk()), run_before=run_before)


@dataclass
class LongCardHelpdesk(CodesHelpdesk):
    """carol with five questions, answers older than her password and both
    codes: more facts than an 80x24 screen has rows above the buttons."""

    def card(self, account: Account) -> AccountCard:
        card = super().card(account)
        more = ("What was your first car?", "Where did you spend your first holiday abroad?")
        return replace(card, enrolled_questions=(*card.enrolled_questions, *more), enrolled_before_password_set=True)


def test_a_card_taller_than_the_screen_scrolls_and_keeps_its_buttons(snap_compare):
    """The facts scroll (PgUp/PgDn); the buttons and the keys line stay on the screen."""

    async def run_before(pilot):
        await open_card(pilot)
        screen = pilot.app.screen
        box, actions = screen.query_one("#facts-box"), screen.query_one("#actions")
        assert box.max_scroll_y > 0, "the facts should be taller than their room"
        assert actions.region.bottom <= screen.query_one("#keys").region.y, "the buttons must stay on the screen"
        await pilot.press("pagedown")
        await settle(pilot)
        assert box.scroll_y == box.max_scroll_y  # the last facts (the caller's line) shown
        assert pilot.app.focused is not None and pilot.app.focused.id == "action-verify"  # focus stays on the buttons

    assert snap_compare(helpdesk(LongCardHelpdesk()), run_before=run_before)
