"""Every helpdesk screen at 80x24, on a FakeHelpdesk with fixed data: fixed
dates shown in UTC, a fixed temporary password, fixed references, cursor
blink frozen (conftest).

Regenerate after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_helpdesk_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest
from textual.widgets import Button

from kiosk import helpdesk_app as helpdesk_app_module
from kiosk.backend.admin import EnrollmentStatus
from kiosk.backend.errors import InvalidCredentials, NotAllowed, VerificationFailed
from kiosk.backend.helpdesk import AccountCard
from kiosk.backend.helpdesk_actions import offered_actions
from kiosk.backend.model import Account, Question
from kiosk.backend.throttle import ThrottleStatus
from kiosk.config import HelpdeskSettings
from kiosk.config.loading import settings_from
from kiosk.helpdesk_app import HelpdeskApp
from ui.helpers import settle, type_text

CITY = Question("birth-city", "In which city or town were you born?")
PET = Question("first-pet", "What was the name of your first pet?")
STREET = Question("childhood-street", "What street did you live on as a child?")
TEMPORARY = "Kx7#mP2qRt9=Za4b"
OPERATOR_PASSWORD = "Desk-pass1"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def person(sam: str, given: str, surname: str, **state) -> Account:
    return Account(
        guid=f"guid-{sam}",
        dn=f"CN={given} {surname},OU=Staff,DC=example,DC=test",
        sam=sam,
        domain="EXAMPLE",
        upn=f"{sam}@example.test",
        display_name=f"{given} {surname}",
        given_name=given,
        surname=surname,
        **state,
    )


def fixed_cards() -> dict[str, AccountCard]:
    enrolled = EnrollmentStatus(
        "enrolled",
        enrolled_at=at(10, 2, 9),
        question_ids=("birth-city", "first-pet", "childhood-street"),
        can_verify=True,
    )
    return {
        "carol": AccountCard(
            account=person(
                "carol", "Carol", "Clark", locked=True, locked_since=at(11, 20, 8, 15), bad_password_count=5,
                password_last_set=at(9, 1, 7, 30), password_expires=at(12, 1, 7, 30),
            ),
            eligible=True,
            ineligible_reason="",
            enrollment=enrolled,
            enrolled_questions=(CITY.text, PET.text, STREET.text),
            throttle=ThrottleStatus(0, None),
        ),
        "caroline": AccountCard(
            account=person("caroline", "Caroline", "Cross", bad_password_count=1, password_last_set=at(11, 3, 16, 5)),
            eligible=True,
            ineligible_reason="",
            enrollment=replace(enrolled, state="partial", last_used_at=at(11, 18, 10, 40)),
            enrolled_questions=(CITY.text, PET.text, "(removed: first-concert)"),
            throttle=ThrottleStatus(5, at(11, 20, 9, 30).timestamp()),
            enrolled_before_password_set=True,
        ),
        "carlos": AccountCard(
            account=person("carlos", "Carlos", "Castro", must_change_password=True, password_last_set=at(11, 19, 12)),
            eligible=False,
            ineligible_reason="member of a denied group",
            enrollment=EnrollmentStatus("not_enrolled"),
            enrolled_questions=(),
            throttle=ThrottleStatus(0, None),
        ),
    }


@dataclass(eq=False)
class FakeVisit:
    sam: str
    reference: str = "K-000000"


@dataclass
class FakeHelpdesk:
    """The Helpdesk API with fixed data (no clock, no randomness); the card's
    actions by the backend's own rule (``offered_actions``)."""

    rules: HelpdeskSettings = field(default_factory=HelpdeskSettings)
    needs_operator_password: bool = True
    authorized: bool = False
    cards: dict[str, AccountCard] = field(default_factory=fixed_cards)
    verified: set[str] = field(default_factory=set)
    answers: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"carol": ("lyon", "misty", "oak lane")})

    def authorize(self, password: str | None = None) -> None:
        if password != OPERATOR_PASSWORD:
            raise InvalidCredentials("52e")
        self.authorized = True

    def search(self, text: str, *, limit: int = 50) -> list[Account]:
        return [c.account for sam, c in sorted(self.cards.items()) if sam.startswith(text.lower())][:limit]

    def card(self, account: Account) -> AccountCard:
        card = self.cards[account.sam]
        verified = account.sam in self.verified
        actions = offered_actions(self.rules, card.enrollment, card.throttle, verified)
        return replace(card, verified=verified, actions=actions)

    def caller_questions(self, account: Account):
        if self.cards[account.sam].enrollment.state == "not_enrolled":
            raise NotAllowed("the caller has not set up security questions")
        return FakeVisit(account.sam, "helpdesk"), (CITY, PET, STREET)

    def verify_caller(self, visit: FakeVisit, answers) -> None:
        if tuple(a.lower() for a in answers) != self.answers.get(visit.sam):
            raise VerificationFailed()
        self.verified.add(visit.sam)

    def unlock(self, account: Account) -> None:
        card = self.cards[account.sam]
        unlocked = replace(card.account, locked=False, locked_since=None, bad_password_count=0)
        self.cards[account.sam] = replace(card, account=unlocked)

    def reset(self, account: Account, *, revoke_answers: bool = False) -> str:
        self.verified.discard(account.sam)
        if revoke_answers:
            self.revoke(account)
        return TEMPORARY

    def revoke(self, account: Account) -> bool:
        card = self.cards[account.sam]
        self.cards[account.sam] = replace(card, enrollment=EnrollmentStatus("not_enrolled"), enrolled_questions=())
        return True

    def clear_attempts(self, account: Account, *, verified_elsewhere: bool = False) -> int:
        self.verified.discard(account.sam)
        card = self.cards[account.sam]
        self.cards[account.sam] = replace(card, throttle=ThrottleStatus(0, None))
        return card.throttle.failures


@pytest.fixture(autouse=True)
def fixed_world(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(helpdesk_app_module, "new_reference", lambda: "K-000000")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def helpdesk(fake: FakeHelpdesk | None = None, *, theme: str = "default", **rules: object) -> HelpdeskApp:
    settings = settings_from(
        {"directory": {"kind": "demo"}, "kiosk": {"theme": theme, "organisation": "Example Ltd"}, "helpdesk": rules}
    )
    environ = {"SSH_CLIENT": "192.0.2.7 50000 22"}
    fake = fake or FakeHelpdesk()
    fake.rules = settings.helpdesk
    return HelpdeskApp(settings, helpdesk=fake, operator="dana", environ=environ)


async def sign_in(pilot) -> None:
    await type_text(pilot, OPERATOR_PASSWORD)
    await pilot.press("enter")
    await settle(pilot)


async def open_card(pilot, query: str = "carol") -> None:
    await sign_in(pilot)
    await type_text(pilot, query)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def press_action(pilot, action: str) -> None:
    screen = pilot.app.screen
    screen.set_focus(screen.query_one(f"#action-{action}", Button))
    await pilot.press("enter")
    await settle(pilot)


async def verify_carol(pilot, *answers: str) -> None:
    await open_card(pilot)
    await press_action(pilot, "verify")
    for answer in answers:
        await type_text(pilot, answer)
        await pilot.press("enter")
    await settle(pilot)


def test_helpdesk_signin(snap_compare):
    async def run_before(pilot):
        await type_text(pilot, "hunter2")

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_signin_refused(snap_compare):
    async def run_before(pilot):
        await type_text(pilot, "wrong")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_search_results(snap_compare):
    async def run_before(pilot):
        await sign_in(pilot)
        await type_text(pilot, "car")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("down")

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_account_card(snap_compare):
    assert snap_compare(helpdesk(), run_before=open_card)


def test_helpdesk_account_card_partial_and_throttled(snap_compare):
    async def run_before(pilot):
        await open_card(pilot, "caroline")

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_account_card_not_enrolled_with_actions_switched_off(snap_compare):
    async def run_before(pilot):
        await open_card(pilot, "carlos")

    assert snap_compare(helpdesk(unlock=False, reset=False), run_before=run_before)


def test_helpdesk_verify(snap_compare):
    async def run_before(pilot):
        await open_card(pilot)
        await press_action(pilot, "verify")
        await type_text(pilot, "lyon")

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_verify_failed(snap_compare):
    async def run_before(pilot):
        await verify_carol(pilot, "lyon", "misty", "elm street")

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_confirm_unlock(snap_compare):
    async def run_before(pilot):
        await verify_carol(pilot, "lyon", "misty", "oak lane")
        await press_action(pilot, "unlock")

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_unlocked(snap_compare):
    async def run_before(pilot):
        await verify_carol(pilot, "lyon", "misty", "oak lane")
        await press_action(pilot, "unlock")
        await pilot.press("tab", "enter")
        await settle(pilot)

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_temporary_password(snap_compare):
    async def run_before(pilot):
        await verify_carol(pilot, "lyon", "misty", "oak lane")
        await press_action(pilot, "reset")
        await pilot.press("tab", "enter")
        await settle(pilot)

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_sign_out_question_vt_theme(snap_compare):
    async def run_before(pilot):
        await sign_in(pilot)
        await pilot.press("escape")
        await pilot.pause()

    assert snap_compare(helpdesk(theme="vt"), run_before=run_before)


# --- issue 14: the answers and the last password change; clearing wrong answers --------------------


def test_helpdesk_confirm_reset_with_revoke(snap_compare):
    """The reset's confirmation offers to revoke the answers in the same step,
    saying when they were set up."""

    async def run_before(pilot):
        await open_card(pilot, "caroline")
        await press_action(pilot, "reset")

    assert snap_compare(helpdesk(require_verification=False), run_before=run_before)


def test_helpdesk_confirm_clear_for_a_blocked_caller(snap_compare):
    """A blocked caller cannot answer their questions: the operator ticks that
    they verified them another way before Clear can be chosen."""

    async def run_before(pilot):
        await open_card(pilot, "caroline")
        await press_action(pilot, "clear")

    assert snap_compare(helpdesk(), run_before=run_before)


def test_helpdesk_cleared(snap_compare):
    async def run_before(pilot):
        await open_card(pilot, "caroline")
        await press_action(pilot, "clear")
        await pilot.press("tab", "space", "tab", "tab", "enter")  # Cancel -> the tick box -> Cancel -> Clear
        await settle(pilot)

    assert snap_compare(helpdesk(), run_before=run_before)
