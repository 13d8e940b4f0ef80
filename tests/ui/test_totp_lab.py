"""Reset with security questions + an authenticator's code against the Samba AD
lab (Pilot, real directory, real store, frozen clock for the use case; codes
from the test's own RFC 6238 implementation): a wrong and a replayed code are
refused and counted, the right one resets the password, and a recovery code
works once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import lab as lablib
import totp_reference as ref
from kiosk.app import KioskApp
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import open_backend
from kiosk.lab import lab_settings_from_env
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.code import CodeScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from support import fast
from ui.helpers import screen_text, settle, type_text
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)
ANSWERS = (("birth-city", "Gotham"), ("first-pet", "Ace"), ("first-school", "Wayne Prep"))
START = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
REFUSED = "answers or that code do not match"


class Clock:
    now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(lab, tmp_path, clock):
    settings = fast(
        lab_settings_from_env(lab.env, tmp_path),
        kiosk={"theme": "default", "lockdown": True},
        features={"totp": True},
        factors={"reset": [["questions", "totp"]], "totp_key_file": str(tmp_path / "kiosk_totp_key")},
    )
    service = SelfService(settings, open_backend(settings), clock=clock)
    yield service
    service.close()


async def settle_long(pilot) -> None:
    await settle(pilot, timeout=20.0)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle_long(pilot)


async def to_code(pilot, app, name: str) -> None:
    await choose(pilot, "reset")
    await identify(pilot, name)
    await settle_long(pilot)
    assert isinstance(app.screen, ChallengeScreen), screen_text(app)
    await answer_challenge(pilot, *(answer for _, answer in ANSWERS))
    assert isinstance(app.screen, CodeScreen), screen_text(app)


async def test_reset_with_questions_and_totp_against_samba(service, clock, lab, lab_user):
    visit = service.begin(lab_user.sam, "setup")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, ANSWERS)
    visit = service.begin(lab_user.sam, "setup")
    service.prove_password(visit, lab_user.password)
    setup = service.totp_begin(visit)
    confirming = ref.code(setup.secret, clock.now.timestamp())
    codes = service.totp_confirm(visit, confirming)
    throttle_key = f"account:{visit.account.guid}"

    app = KioskApp(service._settings, service=service)
    async with app.run_test(size=SIZE) as pilot:
        await settle_long(pilot)
        clock.now = START + timedelta(seconds=30)
        right = ref.code(setup.secret, clock.now.timestamp())
        wrong = f"{(int(right) + 1) % 10**6:06d}"
        for code in (wrong, confirming):  # wrong, then replayed (the enrollment's own)
            await to_code(pilot, app, lab_user.upn)
            await enter_text(pilot, code)
            assert isinstance(app.screen, ChallengeScreen), screen_text(app)
            assert REFUSED in screen_text(app)
            app.request_reset()
            await settle_long(pilot)
        assert service._throttle.status(throttle_key).failures == 2

        await to_code(pilot, app, lab_user.nt_name)
        await enter_text(pilot, right)
        assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
        new_password = "Kiosk#Totp-2026"
        await enter_text(pilot, new_password)
        await enter_text(pilot, new_password)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        assert "is changed" in screen_text(app)
        app.request_reset()
        await settle_long(pilot)
        assert lablib.can_bind(lab, lab_user.nt_name, new_password)

        # The same code again (its step is used), then a recovery code, twice.
        for code, works in ((right, False), (codes[0], True), (codes[0], False)):
            await to_code(pilot, app, lab_user.sam)
            await enter_text(pilot, code)
            if works:
                assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
            else:
                assert isinstance(app.screen, ChallengeScreen) and REFUSED in screen_text(app), screen_text(app)
            app.request_reset()
            await settle_long(pilot)
