"""The TOTP screens at 80x24 against the FakeService (a fixed key and codes).

Regenerate after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_totp_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

import pytest

from kiosk import app as app_module
from kiosk.app import KioskApp
from kiosk.config import FeatureSettings
from ui.conftest import make_settings
from ui.fakes import FakeService
from ui.helpers import settle, type_text
from ui.test_flows import answer_challenge, choose, identify


@pytest.fixture(autouse=True)
def fixed_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "new_reference", lambda: "K-000000")


def kiosk() -> KioskApp:
    fake = FakeService(features=FeatureSettings(totp=True), code_actions={"reset"})
    return KioskApp(make_settings(), service=fake, result_tick=0)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot)


async def to_setup(pilot) -> None:
    await choose(pilot, "totp")
    await identify(pilot, "alice")
    await enter_text(pilot, "Alice-pass1")


def test_totp_welcome(snap_compare):
    assert snap_compare(kiosk())


def test_totp_setup(snap_compare):
    async def run_before(pilot):
        await to_setup(pilot)
        await type_text(pilot, "12")

    assert snap_compare(kiosk(), run_before=run_before)


def test_totp_setup_wrong_code(snap_compare):
    async def run_before(pilot):
        await to_setup(pilot)
        await enter_text(pilot, "654321")

    assert snap_compare(kiosk(), run_before=run_before)


def test_totp_recovery_codes(snap_compare):
    async def run_before(pilot):
        await to_setup(pilot)
        await enter_text(pilot, "123456")

    assert snap_compare(kiosk(), run_before=run_before)


def test_totp_code_step(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "reset")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "Paris", "Rex", "Elm Street")
        await type_text(pilot, "1234")

    assert snap_compare(kiosk(), run_before=run_before)


def test_totp_code_refused(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "reset")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "Paris", "Rex", "Elm Street")
        await enter_text(pilot, "000000")

    assert snap_compare(kiosk(), run_before=run_before)
