"""Reset with security questions + a code sent by e-mail, against the Samba AD
lab: the address is the account's mail attribute as AD holds it (set here
through the lab's admin connection), the code arrives at a real SMTP server
(aiosmtpd, STARTTLS, verified), and a wrong, an expired and a replayed code are
refused and counted in the throttle before the right one resets the password."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from ldap3 import MODIFY_REPLACE

import lab as lablib
from kiosk.backend.errors import SecondFactorFailed
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import open_backend
from kiosk.lab import lab_settings_from_env
from smtp import SmtpServer
from support import fast

pytestmark = pytest.mark.lab

ANSWERS = (("birth-city", "Gotham"), ("first-pet", "Ace"), ("first-school", "Wayne Prep"))
ADDRESS = "second.factor@lab.example"
START = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
METHODS = ("questions", "email")


class Clock:
    now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(lab, tmp_path, relay, clock):
    settings = fast(
        lab_settings_from_env(lab.env, tmp_path),
        mail={**relay.mail_settings(), "ca_file": str(relay.ca_file)},
        factors={"reset": [["questions", "email"]]},
    )
    service = SelfService(settings, open_backend(settings), clock=clock)
    yield service
    service.close()


def codes(relay: SmtpServer, address: str) -> list[str]:
    found = []
    for received in relay.to(address):
        if received.message["Subject"] == "Your one-time code":
            body = received.message.get_payload(decode=True).decode()
            found.append(re.search(r"^\s+(\d{6})\s*$", body, re.MULTILINE).group(1))
    return found


def test_reset_with_questions_and_an_emailed_code_against_samba(service, clock, relay, lab, lab_admin, lab_user):
    assert lab_admin.modify(lab_user.dn, {"mail": [(MODIFY_REPLACE, [ADDRESS])]}), lab_admin.result
    visit = service.begin(lab_user.sam, "setup")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, ANSWERS)
    answers = [answer for _, answer in ANSWERS]
    throttle_key = f"account:{visit.account.guid}"

    # A wrong code: refused, counted.
    visit = service.begin(lab_user.sam, "tty-lab")
    service.challenge(visit)
    assert service.send_code(visit) == "s***@lab.example"
    right = codes(relay, ADDRESS)[-1]
    with pytest.raises(SecondFactorFailed):
        service.verify_factors(visit, "reset", METHODS, answers, f"{(int(right) + 1) % 10**6:06d}")
    assert service._throttle.status(throttle_key).failures == 1
    # The right code, 10 minutes and a second later: expired, refused, counted.
    clock.now = START + timedelta(minutes=10, seconds=1)
    with pytest.raises(SecondFactorFailed):
        service.verify_factors(visit, "reset", METHODS, answers, right)
    assert service._throttle.status(throttle_key).failures == 2

    # A new visit, a new code: it resets the password, once.
    visit = service.begin(lab_user.upn, "tty-lab")
    service.challenge(visit)
    service.send_code(visit)
    right = codes(relay, ADDRESS)[-1]
    service.verify_factors(visit, "reset", METHODS, answers, right)
    new_password = "Kiosk#Mail-2026x"
    service.reset_password(visit, new_password)
    assert lablib.can_bind(lab, lab_user.nt_name, new_password)

    # Replayed: in the same visit, and in another one (codes are bound to their visit).
    with pytest.raises(SecondFactorFailed):
        service.verify_factors(visit, "reset", METHODS, answers, right)
    other = service.begin(lab_user.sam, "tty-lab")
    service.challenge(other)
    with pytest.raises(SecondFactorFailed):
        service.verify_factors(other, "reset", METHODS, answers, right)
    assert service._throttle.status(throttle_key).failures == 2  # the success forgot the earlier ones
    assert len(codes(relay, ADDRESS)) == 2
    for received in relay.to(ADDRESS):
        for secret in (lab_user.password, new_password, *answers):
            assert secret.lower() not in received.text.lower()


def test_a_person_without_a_mail_attribute_is_shown_a_decoy_and_sent_nothing(service, relay, lab, lab_admin, lab_user):
    assert lab_admin.modify(lab_user.dn, {"mail": [(MODIFY_REPLACE, [])]}), lab_admin.result
    visit = service.begin(lab_user.sam, "setup")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, ANSWERS)
    visit = service.begin(lab_user.sam, "tty-lab")
    service.challenge(visit)
    shown = service.send_code(visit)
    unknown = service.begin("t-nobody-here", "tty-lab")
    service.challenge(unknown)
    assert shown == "t***@demo.example" == service.send_code(unknown)
    with pytest.raises(SecondFactorFailed):
        service.verify_factors(visit, "reset", METHODS, [a for _, a in ANSWERS], "123456")
    assert not [r for r in relay.received if r.message["Subject"] == "Your one-time code"]
