"""The helpdesk's caller check by an e-mailed code against the Samba AD lab:
the code goes to the account's mail attribute as AD holds it (set through the
lab's admin connection) over a real relay (aiosmtpd, STARTTLS); a wrong code
is refused and counted, the right one verifies the caller for one action."""

from __future__ import annotations

import re

import pytest
from ldap3 import MODIFY_REPLACE

from kiosk.backend.errors import NotAllowed, SecondFactorFailed
from kiosk.backend.wiring import build_helpdesk
from kiosk.lab import lab_settings_from_env
from smtp import SmtpServer
from support import fast

pytestmark = pytest.mark.lab

ADDRESS = "caller.check@lab.example"


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


def test_the_caller_check_by_an_emailed_code_against_samba(lab, tmp_path, relay, lab_admin, lab_user):
    assert lab_admin.modify(lab_user.dn, {"mail": [(MODIFY_REPLACE, [ADDRESS])]}), lab_admin.result
    settings = fast(
        lab_settings_from_env(lab.env, tmp_path),
        mail={**relay.mail_settings(), "ca_file": str(relay.ca_file)},
        factors={"helpdesk": [["questions"], ["email"]]},
        helpdesk={"require_operator_password": False},
    )
    desk = build_helpdesk(settings, operator="operator", terminal="tty-desk")
    desk.authorized = True  # the operator's own sign-in against AD is test_helpdesk_lab's
    try:
        account = desk.search(lab_user.sam)[0]
        card = desk.card(account)
        assert card.mail == "c***@lab.example" and dict(card.actions)["verify_email"]
        visit, shown = desk.caller_code(account, "email")
        assert shown == "c***@lab.example"
        mails = [r for r in relay.to(ADDRESS) if r.message["Subject"] == "Your one-time code"]
        code = re.search(r"^\s+(\d{6})\s*$", mails[-1].message.get_payload(decode=True).decode(), re.MULTILINE).group(1)
        with pytest.raises(SecondFactorFailed):
            desk.verify_caller_code(visit, f"{(int(code) + 1) % 10**6:06d}")
        assert desk.card(account).throttle.failures == 1
        desk.verify_caller_code(visit, code)
        assert desk.card(account).verified
        assert desk.reset(account)  # a temporary password, shown once
        with pytest.raises(NotAllowed):
            desk.unlock(account)  # the verification was used up
        with pytest.raises(NotAllowed):
            desk.verify_caller_code(visit, code)  # and the code with it
    finally:
        if desk.backend.notices is not None:
            desk.backend.notices.wait()
        desk.close()
