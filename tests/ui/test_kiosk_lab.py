"""The kiosk's screens against the Samba AD lab (Pilot, real directory, real store).

A throwaway user enrolls at the kiosk, is locked out by real failed binds,
unlocks at the kiosk and signs in again; another resets their password at the
kiosk after a refused one, and only the new password signs in.
"""

from __future__ import annotations

import pytest

import lab as lablib
from kiosk.app import KioskApp
from kiosk.backend.wiring import build_service
from kiosk.lab import lab_settings_from_env
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from support import fast
from ui.helpers import enroll_through_screens, screen_text, settle, type_text
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)
ANSWERS = (("birth-city", "Gotham"), ("first-pet", "Ace"), ("first-school", "Wayne Prep"))


@pytest.fixture
def settings(lab, tmp_path):
    return fast(lab_settings_from_env(lab.env, tmp_path), kiosk={"theme": "default", "lockdown": True})


def kiosk(settings) -> KioskApp:
    return KioskApp(settings, service_factory=lambda: build_service(settings))


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")


async def settle_long(pilot) -> None:
    await settle(pilot, timeout=20.0)  # real LDAP round trips on a busy machine


async def test_enroll_then_locked_out_by_real_binds_then_unlock_at_the_kiosk(settings, lab, lab_user):
    app = kiosk(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle_long(pilot)
        await enroll_through_screens(pilot, lab_user.sam, lab_user.password, ANSWERS, timeout=20.0)

        lablib.lock_by_bad_binds(lab, lab_user.nt_name, lablib.LOCKOUT_THRESHOLD)
        assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)

        await choose(pilot, "unlock")
        await identify(pilot, lab_user.upn)
        await settle_long(pilot)
        assert isinstance(app.screen, ChallengeScreen), screen_text(app)
        await answer_challenge(pilot, *(answer.lower() for _, answer in ANSWERS))
        await settle_long(pilot)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        assert f"{lab_user.nt_name} is unlocked" in screen_text(app)

    assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)


async def test_reset_at_the_kiosk_explains_a_refused_password_then_the_new_one_signs_in(settings, lab, lab_user):
    service = build_service(settings)
    visit = service.begin(lab_user.sam, "setup")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, ANSWERS)
    service.close()

    new_password = "Kiosk#Lab-2026"
    app = kiosk(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle_long(pilot)
        await choose(pilot, "reset")
        await identify(pilot, lab_user.nt_name)
        await settle_long(pilot)
        await answer_challenge(pilot, *(answer for _, answer in ANSWERS))
        await settle_long(pilot)
        assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
        await enter_text(pilot, "short")
        await enter_text(pilot, "short")
        assert "does not meet every rule" in screen_text(app)
        assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)  # nothing changed

        app.screen.wipe()
        app.screen.set_focus(app.screen.query_one("#new"))
        await enter_text(pilot, new_password)
        await enter_text(pilot, new_password)
        await settle_long(pilot)
        assert isinstance(app.screen, ResultScreen), screen_text(app)

    assert lablib.can_bind(lab, lab_user.nt_name, new_password)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)
