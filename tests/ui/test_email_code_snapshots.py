"""The second factor's new screens at 80x24 against the FakeService: which way
to prove it is you, and the code sent by e-mail (its resend and its refusal).

Regenerate after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_email_code_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

import pytest

from kiosk import app as app_module
from kiosk.app import KioskApp
from ui.conftest import make_settings
from ui.fakes import FakeService
from ui.helpers import settle, type_text
from ui.test_flows import answer_challenge, choose, identify


@pytest.fixture(autouse=True)
def fixed_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "new_reference", lambda: "K-000000")


def kiosk() -> KioskApp:
    fake = FakeService(email_actions={"reset"})
    return KioskApp(make_settings(), service=fake, result_tick=0)


async def to_email_code(pilot) -> None:
    await choose(pilot, "reset")
    await identify(pilot, "alice")
    await pilot.press("down", "enter")
    await settle(pilot)
    await answer_challenge(pilot, "Paris", "Rex", "Elm Street")


def test_factor_choice(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "reset")
        await identify(pilot, "alice")

    assert snap_compare(kiosk(), run_before=run_before)


def test_email_code_step(snap_compare):
    async def run_before(pilot):
        await to_email_code(pilot)
        await type_text(pilot, "4242")

    assert snap_compare(kiosk(), run_before=run_before)


def test_email_code_resent(snap_compare):
    async def run_before(pilot):
        await to_email_code(pilot)
        await pilot.press("f5")
        await settle(pilot)

    assert snap_compare(kiosk(), run_before=run_before)


def test_email_code_refused(snap_compare):
    async def run_before(pilot):
        await to_email_code(pilot)
        await type_text(pilot, "000000")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(kiosk(), run_before=run_before)
