from __future__ import annotations

import pytest
from textual.widgets import Input

from kiosk.app import KioskApp
from kiosk.config.loading import settings_from
from ui.fakes import FakeService


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    # Harlequin's fix: a frozen cursor makes snapshots deterministic.
    monkeypatch.setattr(Input, "_toggle_cursor", lambda _self: None)


def make_settings(**kiosk: object):
    data = {"directory": {"kind": "demo"}, "kiosk": {"theme": "default", **kiosk}}
    return settings_from(data)


@pytest.fixture
def fake() -> FakeService:
    return FakeService()


@pytest.fixture
def app(fake: FakeService) -> KioskApp:
    return KioskApp(make_settings(), service=fake)
