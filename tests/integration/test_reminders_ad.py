"""A reminder against the Samba AD lab: an eligible lab user who has not
enrolled, with a mail attribute, is found by the directory's paged listing and
gets one enrollment reminder at that address, through a real SMTP server
(aiosmtpd, STARTTLS); a second run within the interval sends none."""

from __future__ import annotations

import dataclasses

import pytest

import lab as lablib
from kiosk.backend.reminders import Reminders
from kiosk.backend.wiring import open_backend
from kiosk.config import MailSettings, RemindersSettings
from kiosk.lab import lab_settings_from_env
from smtp import SmtpServer
from support import fast

pytestmark = pytest.mark.lab

ADDRESS = "remind.me@lab.example"


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


@pytest.fixture
def unenrolled_user(lab, lab_admin):
    dn, sam, _password = lablib.create_user(lab, lab_admin, groups=[lab.staff_team_dn], attributes={"mail": ADDRESS})
    yield sam
    lablib.delete_user(lab_admin, dn)


def test_an_unenrolled_lab_user_gets_one_enrollment_reminder(lab, tmp_path, relay, unenrolled_user):
    settings = fast(lab_settings_from_env(lab.env, tmp_path))
    settings = dataclasses.replace(
        settings,
        mail=MailSettings(**{**relay.mail_settings(), "ca_file": relay.ca_file}),
        reminders=RemindersSettings(enabled=True, expiry_within_days=0, kiosk_location="the lab terminal"),
    )
    for _ in range(2):  # the second run is within the interval: nothing more
        backend = open_backend(settings)
        try:
            result = Reminders(settings, backend).run()
            assert backend.notices is not None
            backend.notices.flush()
        finally:
            backend.close()
    arrived = relay.to(ADDRESS)
    assert [r.message["Subject"] for r in arrived] == ["Set up your security questions at the password kiosk"]
    body = arrived[0].message.get_payload(decode=True).decode()
    assert lab.nt_name(unenrolled_user) in body and "the lab terminal" in body and "two minutes" in body
    assert not [r for r in result.due if r.account == lab.nt_name(unenrolled_user)]


def test_a_lab_user_whose_directory_language_is_german_is_reminded_in_german(lab, lab_admin, tmp_path, relay):
    """preferredLanguage as AD holds it ("de-DE", RFC 2798) picks the reminder's
    language over the terminals' default (English here)."""
    address = "erinnere.mich@lab.example"
    dn, sam, _password = lablib.create_user(
        lab, lab_admin, groups=[lab.staff_team_dn], attributes={"mail": address, "preferredLanguage": "de-DE"}
    )
    try:
        settings = fast(lab_settings_from_env(lab.env, tmp_path))
        settings = dataclasses.replace(
            settings,
            mail=MailSettings(**{**relay.mail_settings(), "ca_file": relay.ca_file}),
            reminders=RemindersSettings(enabled=True, expiry_within_days=0, kiosk_location="the lab terminal"),
        )
        backend = open_backend(settings)
        try:
            Reminders(settings, backend).run()
            assert backend.notices is not None
            backend.notices.flush()
        finally:
            backend.close()
    finally:
        lablib.delete_user(lab_admin, dn)
    [arrived] = relay.to(address)
    assert arrived.subject == (
        "Richten Sie Ihre Sicherheitsfragen am Kennwort-Terminal ein"
    )
    body = arrived.message.get_payload(decode=True).decode()
    assert lab.nt_name(sam) in body and "(the lab terminal)" in body  # a location as written stays as written
