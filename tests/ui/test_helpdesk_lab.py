"""The helpdesk against the Samba AD lab, driven with Pilot.

The operator is a throwaway user in a throwaway operator group (named in
[helpdesk] operator_groups); svc-kiosk does the directory writes. The caller
is the throwaway ``lab_user``, enrolled through the real SelfService first.
"""

from __future__ import annotations

import json
import secrets

import pytest
from textual.widgets import Button, DataTable

import lab as lablib
from kiosk.backend.errors import VerificationFailed
from kiosk.backend.wiring import build_service
from kiosk.helpdesk_app import HelpdeskApp
from kiosk.lab import lab_settings_from_env
from kiosk.screens.helpdesk.account import HelpdeskAccountScreen
from kiosk.screens.helpdesk.confirm import HelpdeskConfirmScreen
from kiosk.screens.helpdesk.search import HelpdeskSearchScreen
from kiosk.screens.helpdesk.signin import HelpdeskSignInScreen
from kiosk.screens.helpdesk.temporary_password import HelpdeskTemporaryPasswordScreen
from kiosk.screens.helpdesk.verify import HelpdeskVerifyScreen
from support import fast
from ui.helpers import screen_text, settle, type_text

SIZE = (80, 24)
ANSWERS = [("birth-city", "Springfield"), ("first-pet", "Snowball"), ("first-school", "Elementary")]
TIMEOUT = 30.0  # LDAP over loopback TLS, a few binds per step


@pytest.fixture
def operator_group(lab, lab_admin):
    dn = f"CN=Helpdesk Operators {secrets.token_hex(3)},{lab.groups_ou}"
    name = dn.split(",")[0].removeprefix("CN=")
    assert lab_admin.add(dn, ["top", "group"], {"sAMAccountName": name, "description": lablib.THROWAWAY_MARK})
    yield dn
    lab_admin.delete(dn)


@pytest.fixture
def operator(lab, lab_admin, operator_group):
    dn, sam, password = lablib.create_user(lab, lab_admin, groups=[operator_group])
    yield sam, password
    lablib.delete_user(lab_admin, dn)


@pytest.fixture
def outsider(lab, lab_admin):
    dn, sam, password = lablib.create_user(lab, lab_admin, groups=[lab.staff_team_dn])
    yield sam, password
    lablib.delete_user(lab_admin, dn)


@pytest.fixture
def settings(lab, tmp_path, operator_group):
    return fast(
        lab_settings_from_env(lab.env, tmp_path),
        helpdesk={"operator_groups": [operator_group]},
        kiosk={"theme": "default", "lockdown": True, "terminal_id": "lab-helpdesk"},
    )


async def wait(pilot) -> None:
    await settle(pilot, timeout=TIMEOUT)


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await wait(pilot)


async def act(pilot, action: str) -> None:
    screen = pilot.app.screen
    screen.set_focus(screen.query_one(f"#action-{action}", Button))
    await pilot.press("enter")
    await wait(pilot)
    if action != "verify":
        assert isinstance(pilot.app.screen, HelpdeskConfirmScreen)
        await pilot.press("tab", "enter")
        await wait(pilot)


def enroll(settings, name: str, password: str) -> None:
    service = build_service(settings)
    try:
        visit = service.begin(name, "lab-setup")
        service.prove_password(visit, password)
        service.enroll(visit, ANSWERS)
    finally:
        service.close()


async def test_every_helpdesk_action_on_samba(settings, lab, lab_user, operator):
    operator_sam, operator_password = operator
    enroll(settings, lab_user.sam, lab_user.password)
    lablib.lock_by_bad_binds(lab, lab_user.nt_name, lablib.LOCKOUT_THRESHOLD)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)

    app = HelpdeskApp(settings, operator=operator_sam)  # builds the real Helpdesk itself
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait(pilot)
            assert isinstance(app.screen, HelpdeskSignInScreen)
            await enter_text(pilot, operator_password)
            assert isinstance(app.screen, HelpdeskSearchScreen), screen_text(app)

            await enter_text(pilot, lab_user.sam)
            table = app.screen.query_one(DataTable)
            assert table.row_count == 1
            assert [str(c) for c in table.get_row_at(0)][0] == lab_user.sam
            await pilot.press("enter")
            await wait(pilot)
            assert isinstance(app.screen, HelpdeskAccountScreen), screen_text(app)
            words = screen_text(app)
            assert "Locked         YES" in words and "Questions      set up" in words

            await act(pilot, "verify")
            assert isinstance(app.screen, HelpdeskVerifyScreen)
            for _, answer in ANSWERS:
                await type_text(pilot, answer)
                await pilot.press("enter")
            await wait(pilot)
            assert "VERIFIED in this session" in screen_text(app), screen_text(app)

            await act(pilot, "unlock")
            assert "Locked         no" in screen_text(app), screen_text(app)
            assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)

            # One verification, one action: the unlock used it up; the caller answers again.
            await act(pilot, "verify")
            for _, answer in ANSWERS:
                await type_text(pilot, answer)
                await pilot.press("enter")
            await wait(pilot)
            assert "VERIFIED in this session" in screen_text(app), screen_text(app)
            await act(pilot, "reset")
            screen = app.screen
            assert isinstance(screen, HelpdeskTemporaryPasswordScreen), screen_text(app)
            temporary = str(screen.query_one("#password").render()).replace(" ", "")
            await pilot.press("enter")
            await wait(pilot)
            assert isinstance(app.screen, HelpdeskAccountScreen)
            assert temporary not in screen_text(app)
            assert "must change at next logon" in screen_text(app)

            bound, result = lablib.try_bind(lab, lab_user.nt_name, temporary)
            assert not bound and "data 773" in result.get("message", ""), result  # right password, must change
            assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)

            await act(pilot, "revoke")
            assert "Questions      not set up" in screen_text(app), screen_text(app)
            await pilot.press("f10")
            await pilot.pause()
    finally:
        if app.service is not None:
            app.service.close()
    assert app.return_code == 0
    audit = (settings.audit.file).read_text()
    for event in ("helpdesk_login", "helpdesk_unlock", "helpdesk_reset", "revoke"):
        assert f'"event":"{event}"' in audit
    assert temporary not in audit and operator_password not in audit


async def test_someone_outside_the_operator_group_is_refused_on_samba(settings, outsider):
    outsider_sam, outsider_password = outsider
    app = HelpdeskApp(settings, operator=outsider_sam)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait(pilot)
            await enter_text(pilot, outsider_password)
            assert isinstance(app.screen, HelpdeskSignInScreen)
            assert f"{outsider_sam} is not a helpdesk operator" in screen_text(app)
            await enter_text(pilot, "Wrong-" + outsider_password)
            assert f"That is not the password of {outsider_sam}" in screen_text(app)
    finally:
        if app.service is not None:
            app.service.close()


async def test_a_blocked_caller_is_cleared_then_reset_with_the_answers_revoked_on_samba(settings, lab, lab_user, operator):
    """Issue 14 items 1 and 8 on Samba: five wrong answers at a kiosk block the
    caller; the operator vouches for another route and clears them (audited);
    the caller then answers, and the reset revokes the answers in the same step."""
    operator_sam, operator_password = operator
    enroll(settings, lab_user.sam, lab_user.password)
    kiosk = build_service(settings)
    try:
        for _ in range(5):
            visit = kiosk.begin(lab_user.sam, "lab-kiosk")
            kiosk.challenge(visit)
            with pytest.raises(VerificationFailed):
                kiosk.verify(visit, ["wrong-1", "wrong-2", "wrong-3"])
    finally:
        kiosk.close()

    app = HelpdeskApp(settings, operator=operator_sam)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait(pilot)
            await enter_text(pilot, operator_password)
            await enter_text(pilot, lab_user.sam)
            await pilot.press("enter")
            await wait(pilot)
            assert isinstance(app.screen, HelpdeskAccountScreen), screen_text(app)
            words = screen_text(app)
            assert "Wrong answers  5 recently; blocked until" in words, words
            assert "Answers set up after the last password change." in words
            assert not app.screen.query("#action-verify") and not app.screen.query_one("#action-clear", Button).disabled

            app.screen.set_focus(app.screen.query_one("#action-clear", Button))
            await pilot.press("enter")
            await wait(pilot)
            assert isinstance(app.screen, HelpdeskConfirmScreen)
            await pilot.press("tab", "space", "tab", "tab", "enter")  # the operator's word, then Clear
            await wait(pilot)
            assert "Wrong answers  none recently" in screen_text(app), screen_text(app)

            await act(pilot, "verify")
            for _, answer in ANSWERS:
                await type_text(pilot, answer)
                await pilot.press("enter")
            await wait(pilot)
            assert "VERIFIED in this session" in screen_text(app), screen_text(app)

            app.screen.set_focus(app.screen.query_one("#action-reset", Button))
            await pilot.press("enter")
            await wait(pilot)
            assert isinstance(app.screen, HelpdeskConfirmScreen)
            await pilot.press("shift+tab", "space", "tab", "tab", "enter")  # tick "also revoke", then Reset
            await wait(pilot)
            assert isinstance(app.screen, HelpdeskTemporaryPasswordScreen), screen_text(app)
            temporary = str(app.screen.query_one("#password").render()).replace(" ", "")
            await pilot.press("enter")
            await wait(pilot)
            assert "Questions      not set up" in screen_text(app), screen_text(app)
            bound, result = lablib.try_bind(lab, lab_user.nt_name, temporary)
            assert not bound and "data 773" in result.get("message", ""), result
            await pilot.press("f10")
            await pilot.pause()
    finally:
        if app.service is not None:
            app.service.close()
    events = [json.loads(line) for line in settings.audit.file.read_text().splitlines()]
    cleared = [e for e in events if e["event"] == "helpdesk_clear_attempts"]
    assert [(e["outcome"], e["operator"]) for e in cleared] == [("success", operator_sam)]
    assert cleared[0]["fields"]["verified_by"] == "operator_confirmed_other_route"
    reset = [e for e in events if e["event"] == "helpdesk_reset"]
    assert reset and reset[-1]["fields"]["revoked_enrollment"] is True
    assert any(e["event"] == "revoke" and e["operator"] == operator_sam for e in events)
