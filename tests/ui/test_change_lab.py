"""Change my password at the kiosk against the Samba AD lab (Pilot, real directory, real store).

A throwaway user who must change their password at next logon (pwdLastSet=0:
their own bind answers 773), and one whose password has expired (532),
change it at the kiosk; only the new password
signs in; changing back to the last one is refused in words (the lab keeps a
history of 24). A wrong current password, an unknown name and an ineligible
account get the same screen.
"""

from __future__ import annotations

import pytest
from ldap3 import MODIFY_REPLACE

import lab as lablib
from kiosk.app import KioskApp
from kiosk.backend.wiring import build_service
from kiosk.lab import lab_settings_from_env
from kiosk.screens.change import ChangeCurrentPasswordScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from support import fast
from ui.helpers import screen_text, settle, type_text
from ui.test_flows import choose, identify

SIZE = (80, 24)


@pytest.fixture
def settings(lab, tmp_path):
    settings = lab_settings_from_env(lab.env, tmp_path)
    return fast(settings, kiosk={"theme": "default", "lockdown": True}, features={"change": True})


def kiosk(settings) -> KioskApp:
    return KioskApp(settings, service_factory=lambda: build_service(settings))


async def settle_long(pilot) -> None:
    await settle(pilot, timeout=20.0)  # real LDAP round trips on a busy machine


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle_long(pilot)


async def change_at_the_kiosk(pilot, name: str, old: str, new: str) -> None:
    await choose(pilot, "change")
    await identify(pilot, name)
    await settle_long(pilot)
    assert isinstance(pilot.app.screen, ChangeCurrentPasswordScreen), screen_text(pilot.app)
    await enter_text(pilot, old)
    assert isinstance(pilot.app.screen, NewPasswordScreen), screen_text(pilot.app)
    await type_text(pilot, new)
    await pilot.press("enter")
    await enter_text(pilot, new)


def must_change(lab_admin, dn: str) -> None:
    assert lab_admin.modify(dn, {"pwdLastSet": [(MODIFY_REPLACE, [0])]}), lab_admin.result


async def test_a_must_change_password_is_changed_at_the_kiosk_and_history_is_kept(settings, lab, lab_admin, lab_user):
    must_change(lab_admin, lab_user.dn)
    ok, result = lablib.try_bind(lab, lab_user.nt_name, lab_user.password)
    assert not ok and "data 773" in result.get("message", ""), result

    new = "Kiosk#Change-2026"
    app = kiosk(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle_long(pilot)
        await change_at_the_kiosk(pilot, lab_user.nt_name, lab_user.password, new)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        words = screen_text(app)
        assert f"{lab_user.nt_name} is changed" in words
        assert "security questions" in words  # not enrolled: the next step is suggested
        await pilot.press("enter")
        await settle_long(pilot)

        assert lablib.can_bind(lab, lab_user.nt_name, new)
        assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)

        # Back to the last password: the directory's history refuses it, in words.
        await change_at_the_kiosk(pilot, lab_user.upn, new, lab_user.password)
        assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
        assert "You have used this password before" in screen_text(app)
    assert lablib.can_bind(lab, lab_user.nt_name, new)


async def first_screen_refusal(app, pilot, name: str, password: str) -> str:
    await choose(pilot, "change")
    await identify(pilot, name)
    await settle_long(pilot)
    await enter_text(pilot, password)
    assert isinstance(app.screen, ChangeCurrentPasswordScreen), screen_text(app)
    words = screen_text(app).replace(name, "NAME")
    for _ in range(2):  # back to Welcome
        await pilot.press("escape")
        await settle_long(pilot)
    return words


async def test_wrong_unknown_and_ineligible_look_the_same(settings, lab, lab_admin, lab_user):
    denied_dn, denied_sam, denied_password = lablib.create_user(
        lab, lab_admin, groups=[lab.staff_team_dn, lab.env["KIOSK_TEST_KIOSK_DENIED_GROUP_DN"]]
    )
    try:
        app = kiosk(settings)
        async with app.run_test(size=SIZE) as pilot:
            await settle_long(pilot)
            wrong = await first_screen_refusal(app, pilot, lab_user.sam, "Not!The-Right-1")
            unknown = await first_screen_refusal(app, pilot, "nobody-here-7", "Not!The-Right-1")
            ineligible = await first_screen_refusal(app, pilot, denied_sam, denied_password)
        assert "do not match" in wrong
        assert wrong == unknown == ineligible
        assert lablib.can_bind(lab, lab.nt_name(denied_sam), denied_password)  # nothing changed
        assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)
    finally:
        lablib.delete_user(lab_admin, denied_dn)


# --- an expired password (AD 532) ---------------------------------------------------
#
# On the shared lab: a PSO for the user alone with a maximum age of 2 days and
# pwdLastSet back-dated 3 days on the lab's own database (lablib.expire_password).


@pytest.fixture
def expired_user(lab, lab_admin, lab_user):
    pso = lablib.expire_password(lab, lab_admin, lab_user.dn)
    yield lab_user
    lablib.delete_entry(lab_admin, pso)


async def test_an_expired_password_is_changed_at_the_kiosk(settings, lab, expired_user):
    user = expired_user
    ok, result = lablib.try_bind(lab, user.nt_name, user.password)
    assert not ok and "data 532" in result.get("message", ""), result

    new = "Kiosk#Renewed-2026"
    app = kiosk(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle_long(pilot)
        await change_at_the_kiosk(pilot, user.sam, user.password, new)
        assert isinstance(app.screen, ResultScreen), screen_text(app)
        assert f"{user.nt_name} is changed" in screen_text(app)
    assert lablib.can_bind(lab, user.nt_name, new)
    assert not lablib.can_bind(lab, user.nt_name, user.password)
