"""Every screen at 80x24, against the FakeService, cursor blink frozen (conftest).

Regenerate after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

import pytest
from textual.widgets import Select

from kiosk import app as app_module
from kiosk.app import KioskApp
from ui.conftest import make_settings
from ui.fakes import FakeService
from ui.helpers import settle, type_text
from ui.test_flows import answer_challenge, choose, identify


@pytest.fixture(autouse=True)
def fixed_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "new_reference", lambda: "K-000000")


def kiosk(fake: FakeService | None = None, **settings: object) -> KioskApp:
    # result_tick=0: the countdown never ticks, so a loaded machine cannot catch it mid-picture
    return KioskApp(make_settings(**settings), service=fake or FakeService(), result_tick=0)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")


def test_welcome(snap_compare):
    assert snap_compare(kiosk())


def test_welcome_demo(snap_compare):
    fake = FakeService(is_demo=True, demo_hint="Try alice (enrolled) or bob (password Bob-pass1).")
    assert snap_compare(kiosk(fake, organisation="Example Ltd"))


def test_welcome_vt_theme(snap_compare):
    assert snap_compare(kiosk(theme="vt"))


def test_welcome_high_contrast(snap_compare):
    assert snap_compare(kiosk(theme="high-contrast"))


def test_identify(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "unlock")
        await type_text(pilot, "alice")

    assert snap_compare(kiosk(), run_before=run_before)


def test_current_password(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        await type_text(pilot, "hunter2")

    assert snap_compare(kiosk(), run_before=run_before)


def test_enroll_single_question(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await settle(pilot)
        await type_text(pilot, "Lyon")

    assert snap_compare(kiosk(), run_before=run_before)


def test_enroll_group_question(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await settle(pilot)
        await enter_text(pilot, "Lyon")
        await enter_text(pilot, "Lyon")
        pilot.app.screen.query_one(Select).value = "first-school"
        await pilot.pause()

    assert snap_compare(kiosk(), run_before=run_before)


def test_enroll_answer_rejected(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await settle(pilot)
        await enter_text(pilot, "ab")
        await enter_text(pilot, "ab")

    assert snap_compare(kiosk(), run_before=run_before)


def test_enroll_review(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await settle(pilot)
        screen = pilot.app.screen
        for pick, answer in ((None, "Lyon"), ("first-pet", "Misty"), ("first-school", "Hillside")):
            if pick:
                screen.query_one(Select).value = pick
                screen.set_focus(screen.query_one("#answer"))
            await enter_text(pilot, answer)
            await enter_text(pilot, answer)
        await pilot.pause()

    assert snap_compare(kiosk(), run_before=run_before)


def test_challenge(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        await enter_text(pilot, "paris")

    assert snap_compare(kiosk(), run_before=run_before)


def test_challenge_failed(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "a-1", "b-2", "c-3")

    assert snap_compare(kiosk(), run_before=run_before)


def test_new_password(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "reset")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "paris", "rex", "elm street")
        await type_text(pilot, "Longer-one")

    assert snap_compare(kiosk(), run_before=run_before)


def test_new_password_refused_by_directory(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "reset")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "paris", "rex", "elm street")
        await enter_text(pilot, "Used-Before1")
        await enter_text(pilot, "Used-Before1")
        await settle(pilot)

    assert snap_compare(kiosk(), run_before=run_before)


def test_result_unlocked(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "paris", "rex", "elm street")

    assert snap_compare(kiosk(), run_before=run_before)


def test_error_panel(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "unlock")
        await identify(pilot, "alice")

    assert snap_compare(kiosk(FakeService(down=True)), run_before=run_before)


def test_terminal_too_small(snap_compare):
    assert snap_compare(kiosk(), terminal_size=(60, 20))
