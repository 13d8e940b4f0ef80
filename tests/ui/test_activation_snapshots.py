"""The activation screens at 80x24, against FakeService + FakeActivation
(fixed reference K-4F7A2C, no clocks on screen), cursor blink frozen (conftest).

Regenerate after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_activation_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

from textual.widgets import Select

from kiosk.app import KioskApp
from kiosk.config import FeatureSettings
from ui.conftest import make_settings
from ui.fakes import FakeActivation, FakeService
from ui.helpers import settle, type_text
from ui.test_flows import choose, identify


def kiosk(activation: FakeActivation | None = None) -> KioskApp:
    fake = FakeService(features=FeatureSettings(activate=True))
    return KioskApp(make_settings(), service=fake, activation=activation or FakeActivation(), result_tick=0)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")


async def activate(pilot, name: str = "erin", proof: str | None = "E2001") -> None:
    await choose(pilot, "activate")
    await identify(pilot, name)
    if proof is not None:
        await enter_text(pilot, proof)
        await settle(pilot)


async def answer_and_choose_password(pilot) -> None:
    screen = pilot.app.screen
    for pick, answer in ((None, "Lyon"), ("first-pet", "Misty"), ("first-school", "Hillside")):
        if pick:
            screen.query_one(Select).value = pick
            screen.set_focus(screen.query_one("#answer"))
        await enter_text(pilot, answer)
        await enter_text(pilot, answer)
    await settle(pilot)
    await enter_text(pilot, "Fresh#Start-2026")
    await enter_text(pilot, "Fresh#Start-2026")
    await settle(pilot)


def test_welcome_with_activation(snap_compare):
    assert snap_compare(kiosk())


def test_activate_proof(snap_compare):
    async def run_before(pilot):
        await activate(pilot, proof=None)
        await type_text(pilot, "E2001")

    assert snap_compare(kiosk(), run_before=run_before)


def test_activate_password(snap_compare):
    async def run_before(pilot):
        await activate(pilot)
        screen = pilot.app.screen
        for pick, answer in ((None, "Lyon"), ("first-pet", "Misty"), ("first-school", "Hillside")):
            if pick:
                screen.query_one(Select).value = pick
                screen.set_focus(screen.query_one("#answer"))
            await enter_text(pilot, answer)
            await enter_text(pilot, answer)
        await settle(pilot)
        await type_text(pilot, "Fresh#Start")

    assert snap_compare(kiosk(), run_before=run_before)


def test_activate_done(snap_compare):
    async def run_before(pilot):
        await activate(pilot)
        await answer_and_choose_password(pilot)

    assert snap_compare(kiosk(), run_before=run_before)


def test_activate_failed(snap_compare):
    async def run_before(pilot):
        await activate(pilot, "nobody", "E9999")

    assert snap_compare(kiosk(), run_before=run_before)


def test_activate_helpdesk(snap_compare):
    async def run_before(pilot):
        await activate(pilot, "fred", proof=None)

    assert snap_compare(kiosk(), run_before=run_before)


def test_activate_incomplete(snap_compare):
    async def run_before(pilot):
        await activate(pilot)
        await answer_and_choose_password(pilot)

    assert snap_compare(kiosk(FakeActivation(fail_complete=True)), run_before=run_before)
