"""Change my password in the real ``kiosk`` program (tmux, 80x24) against the Samba AD lab:
a person whose password must be changed at next logon (their own bind answers 773), and
one whose password has expired (532)."""

from __future__ import annotations

import signal

import pytest
from ldap3 import MODIFY_REPLACE

import lab as lablib
from conftest import PYTHON
from test_kiosk_terminal import DONE, IDENTIFY, LAB_CONFIG, WELCOME, boxes, new_password, start_demo

pytestmark = pytest.mark.e2e

CHANGE = "Change your password"


@pytest.mark.parametrize("why", ["must change", "expired"])
def test_a_password_that_must_change_is_changed_in_the_terminal(why, term, lab, lab_admin, lab_user, tmp_path):
    if why == "must change":
        assert lab_admin.modify(lab_user.dn, {"pwdLastSet": [(MODIFY_REPLACE, [0])]}), lab_admin.result
        code = "data 773"
    else:
        pso = lablib.expire_password(lab, lab_admin, lab_user.dn)
        code = "data 532"
    try:
        ok, result = lablib.try_bind(lab, lab_user.nt_name, lab_user.password)
        assert not ok and code in result.get("message", ""), result
        change_in_the_terminal(term, lab, lab_user, tmp_path)
    finally:
        if why == "expired":
            lablib.delete_entry(lab_admin, pso)


def change_in_the_terminal(term, lab, lab_user, tmp_path) -> None:

    env = lab.env
    config = tmp_path / "kiosk.toml"
    config.write_text(
        LAB_CONFIG.format(
            url=env["KIOSK_TEST_LDAP_URL"], ca=env["KIOSK_TEST_CA_FILE"], tls=env["KIOSK_TEST_TLS_SERVER_NAME"],
            svc=env["KIOSK_TEST_SVC_USER"], netbios=env["KIOSK_TEST_NETBIOS_DOMAIN"],
            dns=env["KIOSK_TEST_UPN_SUFFIX"], base=env["KIOSK_TEST_BASE_DN"], staff=env["KIOSK_TEST_STAFF_OU"],
            denied=env["KIOSK_TEST_KIOSK_DENIED_GROUP_DN"], dir=tmp_path,
        )
        + "\n[features]\nchange = true\n"
    )
    secret_env = {"KIOSK_DIRECTORY__SERVICE_PASSWORD": lab.svc_password}
    new = "Term#Change-2026x"

    start_demo(term, [PYTHON, "-m", "kiosk", "--config", str(config)], env=secret_env)
    term.wait_for("Change my password")
    term.wait_for(WELCOME)
    term.keys("Down", "Down", "Enter")  # unlock, reset, change
    term.wait_for(IDENTIFY)
    term.type(lab_user.sam)
    term.keys("Enter")
    term.wait_for(CHANGE, timeout=20)
    term.type(lab_user.password)
    term.wait_until(lambda s: boxes(s)[:1] == ["•" * len(lab_user.password)], what="the masked current password")
    term.keys("Enter")
    new_password(term, new)
    screen = term.wait_for(DONE, timeout=20)
    assert lab_user.nt_name in screen
    assert "security questions" in screen  # not enrolled: the next step is suggested
    shown = [screen, term.screen()]
    term.signal(signal.SIGTERM)
    assert term.wait_exit() == 0
    shown.append(term.scrollback())
    for text in shown:
        for secret in (new, lab_user.password, lab.svc_password):
            assert secret not in text

    assert lablib.can_bind(lab, lab_user.nt_name, new)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)
