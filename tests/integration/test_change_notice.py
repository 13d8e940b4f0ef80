"""A change of password at the kiosk sends its notice (real SMTP relay on loopback), without a secret."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.config import MailSettings
from smtp import SmtpServer
from support import fast

NEW = "Fresh#Start-2026"


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    server = SmtpServer(tmp_path_factory.mktemp("smtp")).start()
    yield server
    server.stop()


def test_a_change_sends_a_notice_without_a_secret(tmp_path, relay):
    settings = fast(demo_settings(tmp_path), features={"change": True})
    mail = relay.mail_settings()
    settings = dataclasses.replace(settings, mail=MailSettings(**{**mail, "ca_file": Path(mail["ca_file"])}))
    service = build_service(settings, directory=DemoDirectory())
    before = len(relay.received)
    visit = service.begin("bob", "tty7")
    service.check_current_password(visit, "Demo!Bob22")
    service.change_password(visit, "Demo!Bob22", NEW)
    notices = service.backend.notices
    assert notices is not None
    notices.wait()
    notices.flush()
    arrived = relay.received[before:]
    assert [(r.recipients, r.message["Subject"]) for r in arrived] == [
        (["bob@demo.example"], "Your password was changed")
    ]
    body = arrived[0].message.get_payload(decode=True).decode()
    assert "DEMO\\bob" in body and "self-service kiosk" in body
    assert NEW not in arrived[0].text and "Demo!Bob22" not in arrived[0].text
    service.close()
