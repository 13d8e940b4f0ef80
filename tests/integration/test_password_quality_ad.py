"""The kiosk refuses a password worth nothing that the directory itself would take
(Samba AD lab): one check before the write, on the real reset path."""

from __future__ import annotations

import pytest

import lab as lablib
from kiosk.backend.errors import PasswordRejected
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service
from kiosk.lab import lab_settings_from_env
from support import fast

ANSWERS = [("birth-city", "Springfield"), ("first-pet", "Snowball"), ("first-school", "Elementary")]

pytestmark = pytest.mark.lab


@pytest.fixture
def service(lab, tmp_path) -> SelfService:
    settings = fast(lab_settings_from_env(lab.env, tmp_path), kiosk={"organisation": "Northwind Traders"})
    service = build_service(settings)
    yield service
    service.close()


def _verified(service: SelfService, lab_user):
    visit = service.begin(lab_user.sam, "tty-test")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, ANSWERS)
    visit = service.begin(lab_user.sam, "tty-test")
    service.challenge(visit)
    service.verify(visit, [answer for _, answer in ANSWERS])
    return visit


@pytest.mark.parametrize(("password", "reason"), [("Summer2026!", "common"), ("Northwind#2026", "context")])
def test_the_kiosk_refuses_what_ad_would_accept(service, lab, lab_user, password, reason):
    visit = _verified(service, lab_user)
    rules = service.password_rules(visit)
    assert rules.policy.complexity and len(password) >= rules.policy.min_length  # AD's own rules are met

    with pytest.raises(PasswordRejected) as refused:
        service.reset_password(visit, password)
    assert refused.value.reason == reason
    assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)  # nothing was written
    assert not lablib.can_bind(lab, lab_user.nt_name, password)

    # The same write without the kiosk's check: the directory takes it.
    directory = service._directory
    directory.reset_password(visit.account, password)
    assert lablib.can_bind(lab, lab_user.nt_name, password)


def test_a_long_random_passphrase_is_set(service, lab, lab_user):
    visit = _verified(service, lab_user)
    passphrase = f"Kestrel cobalt {lablib.new_password()[4:10]} lantern"
    service.reset_password(visit, passphrase)
    assert lablib.can_bind(lab, lab_user.nt_name, passphrase)
