"""Activate my account, in the kiosk's screens, against the Samba AD lab.

A throwaway account that never logged on (pwdLastSet=0, a random password
nobody knows), issued an activation code, is claimed at the kiosk: who ->
activation code -> questions -> password. Afterwards the new password binds and the marker is set.
"""

from __future__ import annotations

import secrets

import pytest
from textual.widgets import Select

import lab as lablib
from kiosk.app import KioskApp
from kiosk.backend.wiring import build_service
from kiosk.lab import lab_settings_from_env
from kiosk.screens.activate_proof import ActivateProofScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from support import fast
from ui.helpers import screen_text, settle, type_text
from ui.test_flows import choose

SIZE = (80, 24)
ANSWERS = (("birth-city", "Gotham"), ("first-pet", "Ace"), ("first-school", "Wayne Prep"))


@pytest.fixture
def settings(lab, tmp_path):
    return fast(
        lab_settings_from_env(lab.env, tmp_path),
        features={"activate": True},  # [activation]: the defaults, an issued activation code
        kiosk={"theme": "default", "lockdown": True},
    )


@pytest.fixture
def newcomer(lab, lab_admin):
    employee_id = f"E{secrets.randbelow(10**6):06d}"
    dn, sam, _ = lablib.create_user(
        lab, lab_admin, name=f"nc-{secrets.token_hex(4)}", attributes={"employeeID": employee_id, "pwdLastSet": 0}
    )
    yield sam, dn, employee_id
    lablib.delete_user(lab_admin, dn)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")


async def settle_long(pilot) -> None:
    await settle(pilot, timeout=30.0)  # real LDAP round trips on a busy machine


async def test_activate_at_the_kiosk_then_the_new_password_binds(settings, lab, lab_admin, newcomer):
    sam, dn, employee_id = newcomer
    new_password = lablib.new_password()
    from kiosk.backend.model import Identity
    from kiosk.backend.wiring import build_activation

    admin = build_activation(settings)  # what `kiosk activation issue` does
    try:
        code, _ = admin.issue_code(admin.backend.directory.find_account(Identity(sam, lab.netbios, sam=sam)), "lab")
    finally:
        admin.close()
    app = KioskApp(settings, service_factory=lambda: build_service(settings))
    async with app.run_test(size=SIZE) as pilot:
        await settle_long(pilot)
        await choose(pilot, "activate")
        await settle_long(pilot)
        await enter_text(pilot, sam)
        await settle_long(pilot)
        assert isinstance(app.screen, ActivateProofScreen), screen_text(app)
        assert "Activation code" in screen_text(app)
        await enter_text(pilot, code.lower())
        await settle_long(pilot)
        screen = app.screen
        assert isinstance(screen, EnrollQuestionsScreen), screen_text(app)
        for index, (question_id, answer) in enumerate(ANSWERS):
            if index > 0:
                screen.query_one(Select).value = question_id
                screen.set_focus(screen.query_one("#answer"))
            await enter_text(pilot, answer)
            await enter_text(pilot, answer)
        await settle_long(pilot)
        assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
        assert lablib.first(lablib.read_entry(lab_admin, dn), "comment") is None  # nothing written yet
        await enter_text(pilot, new_password)
        await enter_text(pilot, new_password)
        await settle_long(pilot)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        assert f"{sam} is ready: sign in with your new password" in screen_text(app)
    assert lablib.can_bind(lab, lab.nt_name(sam), new_password)
    assert lablib.first(lablib.read_entry(lab_admin, dn), "comment") == "kiosk-activated"
