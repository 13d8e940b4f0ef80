"""A notice after a real reset against the Samba AD lab: the address is the
account's mail attribute as AD holds it, and the mail that arrives at a real
SMTP server (aiosmtpd, STARTTLS) holds neither the old nor the new password
nor an answer."""

from __future__ import annotations

import dataclasses

import pytest

import lab as lablib
from kiosk.backend.wiring import build_service
from kiosk.config import MailSettings
from kiosk.lab import lab_settings_from_env
from smtp import SmtpServer
from support import fast

pytestmark = pytest.mark.lab

ANSWERS = [("birth-city", "Springfield"), ("first-pet", "Snowball"), ("first-school", "Elementary")]


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


@pytest.fixture
def mailed_user(lab, lab_admin):
    dn, sam, password = lablib.create_user(
        lab, lab_admin, groups=[lab.staff_team_dn], attributes={"mail": "reset.me@lab.example"}
    )
    yield sam, password
    lablib.delete_user(lab_admin, dn)


def test_a_real_reset_mails_the_person_at_their_ad_address(lab, tmp_path, relay, mailed_user):
    sam, password = mailed_user
    settings = fast(lab_settings_from_env(lab.env, tmp_path))
    mail = MailSettings(**{**relay.mail_settings(), "ca_file": relay.ca_file})
    service = build_service(dataclasses.replace(settings, mail=mail))
    try:
        visit = service.begin(sam, "tty-lab")
        service.prove_password(visit, password)
        service.enroll(visit, ANSWERS)
        visit = service.begin(sam, "tty-lab")
        service.challenge(visit)
        service.verify(visit, [answer for _, answer in ANSWERS])
        new_password = "Brand#New-2026x"
        service.reset_password(visit, new_password)
        assert lablib.can_bind(lab, lab.nt_name(sam), new_password)
        assert service.backend.notices is not None
        service.backend.notices.wait()
        service.backend.notices.flush()
    finally:
        service.close()
    arrived = relay.to("reset.me@lab.example")
    assert [r.message["Subject"] for r in arrived] == [
        "Your security questions were set up", "Your password was reset"
    ]
    for received in arrived:
        for secret in (password, new_password, *(answer for _, answer in ANSWERS)):
            assert secret.lower() not in received.text.lower()
    body = arrived[1].message.get_payload(decode=True).decode()
    assert lab.nt_name(sam) in body and "terminal tty-lab" in body
