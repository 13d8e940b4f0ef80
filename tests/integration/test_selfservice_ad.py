"""The self-service flows end to end against the Samba AD lab (no UI).

Each story uses a throwaway user, so the stories don't depend on each other.
"""

from __future__ import annotations

import pytest

import lab as lablib
from kiosk.backend.errors import NotAllowed, PasswordRejected, VerificationFailed
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service
from kiosk.lab import lab_settings_from_env
from support import fast

ANSWERS = [("birth-city", "Springfield"), ("first-pet", "Snowball"), ("first-school", "Elementary")]


@pytest.fixture
def service(lab, tmp_path) -> SelfService:
    service = build_service(fast(lab_settings_from_env(lab.env, tmp_path)))
    yield service
    service.close()


def enroll(service: SelfService, name: str, password: str) -> None:
    visit = service.begin(name, "tty-test")
    service.prove_password(visit, password)
    service.enroll(visit, ANSWERS)


def verified_visit(service: SelfService, name: str):
    visit = service.begin(name, "tty-test")
    service.challenge(visit)
    service.verify(visit, [answer for _, answer in ANSWERS])
    return visit


def test_a_person_locked_out_by_real_bad_binds_unlocks_and_signs_in(service, lab, lab_user):
    enroll(service, lab_user.sam, lab_user.password)
    lablib.lock_by_bad_binds(lab, lab_user.nt_name, lablib.LOCKOUT_THRESHOLD)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)

    visit = verified_visit(service, lab_user.upn)
    assert visit.account.locked
    assert service.unlock(visit) == lab_user.nt_name

    assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)


def test_a_reset_password_signs_in_and_the_old_one_does_not(service, lab, lab_user):
    enroll(service, lab_user.nt_name, lab_user.password)
    visit = verified_visit(service, lab_user.sam.upper())
    new_password = "Brand#New-2026x"
    service.reset_password(visit, new_password)

    assert lablib.can_bind(lab, lab_user.nt_name, new_password)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)


def test_a_policy_violating_password_is_explained_and_nothing_changes(service, lab, lab_user):
    enroll(service, lab_user.sam, lab_user.password)
    visit = verified_visit(service, lab_user.sam)
    rules = service.password_rules(visit)
    assert (rules.policy.min_length, rules.policy.complexity) == (7, True)
    with pytest.raises(PasswordRejected) as refused:
        service.reset_password(visit, "short")
    assert refused.value.reason == "too_short"

    assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)


def test_wrong_answers_change_nothing_in_the_directory(service, lab, lab_user):
    enroll(service, lab_user.sam, lab_user.password)
    visit = service.begin(lab_user.sam, "tty-test")
    service.challenge(visit)
    with pytest.raises(VerificationFailed):
        service.verify(visit, ["Springfield", "Snowball", "wrong"])
    with pytest.raises(NotAllowed):
        service.reset_password(visit, "Brand#New-2026x")
    assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)


@pytest.mark.parametrize("who", ["dadmin", "mallory", "dave", "oscar"])
def test_refused_accounts_walk_the_same_path_and_fail_at_the_end(service, lab, who):
    """Privileged, denied-group, disabled and out-of-scope people get decoys."""
    visit = service.begin(who, "tty-test")
    assert visit.account is not None and not visit.eligibility.allowed
    questions = service.challenge(visit)
    assert len(questions) == service.questionnaire.answers_needed
    with pytest.raises(VerificationFailed):
        service.verify(visit, ["a", "b", "c"])
