"""The screens of "Change my password" at 80x24 (FakeService, features.change on).

Regenerate after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_change_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

import pytest

from kiosk import app as app_module
from kiosk.app import KioskApp
from kiosk.config import FeatureSettings
from ui.conftest import make_settings
from ui.fakes import FakeService
from ui.helpers import settle, type_text
from ui.test_flows import choose, identify

NEW = "Brand-new#Pass9"


@pytest.fixture(autouse=True)
def fixed_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "new_reference", lambda: "K-000000")


def kiosk() -> KioskApp:
    fake = FakeService(features=FeatureSettings(change=True))
    return KioskApp(make_settings(), service=fake, result_tick=0)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot)


def test_change_welcome(snap_compare):
    assert snap_compare(kiosk())


def test_change_current_password(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "change")
        await identify(pilot, "bob")
        await type_text(pilot, "hunter2")

    assert snap_compare(kiosk(), run_before=run_before)


def test_change_wrong_current_password(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "change")
        await identify(pilot, "bob")
        await enter_text(pilot, "not-his-1")

    assert snap_compare(kiosk(), run_before=run_before)


def test_change_new_password(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "change")
        await identify(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await type_text(pilot, "Brand-new")

    assert snap_compare(kiosk(), run_before=run_before)


def test_change_in_history(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "change")
        await identify(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await type_text(pilot, "Used-Before1")
        await pilot.press("enter")
        await enter_text(pilot, "Used-Before1")

    assert snap_compare(kiosk(), run_before=run_before)


def test_change_done_suggests_questions(snap_compare):
    async def run_before(pilot):
        await choose(pilot, "change")
        await identify(pilot, "bob")
        await enter_text(pilot, "Bob-pass1")
        await type_text(pilot, NEW)
        await pilot.press("enter")
        await enter_text(pilot, NEW)

    assert snap_compare(kiosk(), run_before=run_before)
