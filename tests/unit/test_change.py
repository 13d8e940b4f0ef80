"""SelfService's change of a known password (demo directory, real store, real audit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import AccountLocked, InvalidCredentials, NotAllowed, PasswordRejected, Throttled
from kiosk.backend.notice_texts import NOTICE_EVENTS
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.config import FeatureSettings
from support import fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1",
             answers={"birth-city": "Paris", "first-pet": "Rex", "first-school": "Hillside"}),
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44", groups=("CN=Domain Admins,CN=Users,DC=demo,DC=example",)),
    DemoUser("erin", "Erin", "Early", "Temp!Erin55", never_logged_on=True),  # must change (773)
)
NEW = "Fresh#Pass-2026"


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory(USERS)


def make(tmp_path: Path, directory: DemoDirectory, **sections) -> SelfService:
    sections.setdefault("features", {"change": True})
    return build_service(fast(demo_settings(tmp_path), **sections), directory=directory)


@pytest.fixture
def service(tmp_path, directory) -> SelfService:
    return make(tmp_path, directory)


def audit(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def change(service: SelfService, name: str, old: str, new: str = NEW) -> tuple[str, bool]:
    visit = service.begin(name, "tty1")
    service.check_current_password(visit, old)
    return service.change_password(visit, old, new)


def test_the_feature_is_off_by_default(tmp_path, directory):
    assert FeatureSettings().change is False
    service = build_service(fast(demo_settings(tmp_path)), directory=directory)
    visit = service.begin("alice", "tty1")
    with pytest.raises(NotAllowed):
        service.check_current_password(visit, "Demo!Alice1")
    with pytest.raises(NotAllowed):
        service.change_password(visit, "Demo!Alice1", NEW)


def test_a_must_change_password_is_changed_and_the_new_one_signs_in(service, directory):
    visit = service.begin("erin", "tty1")
    rules = service.check_current_password(visit, "Temp!Erin55")  # 773 on a bind: still the right one
    assert rules.policy.min_length == 8
    assert service.change_password(visit, "Temp!Erin55", NEW) == ("DEMO\\erin", False)
    account = directory.refresh(visit.account)
    assert not account.must_change_password
    directory.verify_password(account, NEW)
    with pytest.raises(InvalidCredentials):
        directory.verify_password(account, "Temp!Erin55")


def test_an_enrolled_person_is_not_asked_to_enroll(service):
    visit = service.begin("alice", "tty1")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")])
    assert change(service, "alice", "Demo!Alice1") == ("DEMO\\alice", True)


@pytest.mark.parametrize("name, password", [
    ("alice", "Not-Hers-1"),  # a wrong current password
    ("nobody", "Demo!Alice1"),  # an unknown name
    ("dana", "Demo!Dana44"),  # an ineligible (privileged) account, its right password
])
def test_wrong_unknown_and_ineligible_get_the_same_refusal(service, name, password):
    visit = service.begin(name, "tty1")
    with pytest.raises(InvalidCredentials) as first:
        service.check_current_password(visit, password)
    with pytest.raises(InvalidCredentials) as second:
        service.change_password(visit, password, NEW)
    assert str(first.value) == str(second.value) == "invalid_credentials"


def test_reusing_a_recent_password_is_refused_in_words(service, directory):
    change(service, "alice", "Demo!Alice1")
    visit = service.begin("alice", "tty1")
    service.check_current_password(visit, NEW)
    with pytest.raises(PasswordRejected) as refusal:
        service.change_password(visit, NEW, NEW)
    assert refusal.value.reason == "in_history"
    directory.verify_password(directory.refresh(visit.account), NEW)  # unchanged


def test_a_weak_new_password_never_reaches_the_directory(service, directory):
    visit = service.begin("alice", "tty1")
    with pytest.raises(PasswordRejected) as refusal:
        service.change_password(visit, "Demo!Alice1", "short")
    assert refusal.value.reason == "too_short"
    directory.verify_password(directory.refresh(visit.account), "Demo!Alice1")


def test_a_locked_account_is_told_to_unlock_first(service, directory):
    directory.lock_out("alice")
    visit = service.begin("alice", "tty1")
    with pytest.raises(AccountLocked):
        service.check_current_password(visit, "Demo!Alice1")
    with pytest.raises(AccountLocked):
        service.change_password(visit, "Demo!Alice1", NEW)


def test_wrong_current_passwords_are_throttled(tmp_path, directory):
    service = make(tmp_path, directory, throttle={"account_max_failures": 2})
    for _ in range(2):
        visit = service.begin("alice", "tty1")
        with pytest.raises(InvalidCredentials):
            service.check_current_password(visit, "Not-Hers-1")
    visit = service.begin("alice", "tty1")
    with pytest.raises(Throttled):
        service.check_current_password(visit, "Demo!Alice1")
    with pytest.raises(Throttled):
        service.change_password(visit, "Demo!Alice1", NEW)


def test_unknown_names_are_throttled_like_real_ones(tmp_path, directory):
    service = make(tmp_path, directory, throttle={"account_max_failures": 2})
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            service.check_current_password(service.begin("nobody", "tty1"), "x-Pass-1")
    with pytest.raises(Throttled):
        service.check_current_password(service.begin("DEMO\\Nobody", "tty1"), "x-Pass-1")


def test_the_change_is_audited_without_secrets_and_has_a_notice(service, tmp_path):
    change(service, "erin", "Temp!Erin55")
    with pytest.raises(InvalidCredentials):
        service.check_current_password(service.begin("alice", "tty1"), "Not-Hers-1")
    events = [(e["event"], e["outcome"]) for e in audit(tmp_path) if e["event"] == "change"]
    assert events == [("change", "success"), ("change", "failure")]
    success = next(e for e in audit(tmp_path) if e["event"] == "change")
    assert success["account"] == "DEMO\\erin" and success["fields"]["was_must_change"] is True
    raw = (tmp_path / "audit.jsonl").read_text()
    assert "Temp!Erin55" not in raw and NEW not in raw and "Not-Hers-1" not in raw
    assert "change" in NOTICE_EVENTS
