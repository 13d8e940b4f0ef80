"""A demo directory named by a config file behaves like ``kiosk demo``: the same
people, enrolled in the configured store once, carol locked, and a banner that
says what is true (the directory lives as long as the session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.backend.demo_seed import PER_SESSION
from kiosk.backend.directory.demo import DEMO_HINT
from kiosk.backend.errors import NotAllowed, VerificationFailed
from kiosk.backend.wiring import build_helpdesk, build_service
from kiosk.config.loading import load_settings
from support import CHEAP_LOCAL_TOML, DEMO_DIRECTORY_TOML

CHEAP = CHEAP_LOCAL_TOML

DEMO_DOMAIN = DEMO_DIRECTORY_TOML


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text + CHEAP.format(dir=tmp_path))
    return path


def answers_pass(service, name: str, answers: dict[str, str]) -> bool:
    visit = service.begin(name, "tty1")
    questions = service.challenge(visit)
    try:
        service.verify(visit, [answers[q.id] for q in questions])
    except VerificationFailed:
        return False
    return True


ALICE = {"birth-city": "Paris", "first-pet": "Rex", "first-school": "Hillside"}


def test_a_configured_demo_has_the_demo_people_enrolled_and_carol_locked(tmp_path):
    settings = load_settings(write_config(tmp_path, DEMO_DOMAIN), {})
    service = build_service(settings)
    try:
        assert service.is_demo
        assert service.demo_hint == DEMO_HINT + PER_SESSION
        assert answers_pass(service, "alice", ALICE)
        carol = service.begin("carol", "tty1")
        assert carol.account is not None and carol.account.locked
        assert service.backend.store.count() == 2  # alice and carol, as in kiosk demo
    finally:
        service.close()


def test_every_session_finds_the_same_enrollments_and_does_not_enroll_again(tmp_path):
    settings = load_settings(write_config(tmp_path, DEMO_DOMAIN), {})
    first = build_service(settings)
    try:
        guid = first.begin("alice", "tty1").account.guid
        enrolled = first.backend.store.get(guid)
    finally:
        first.close()
    second = build_service(settings)  # the next SSH session: a new process, the same store
    try:
        assert second.backend.store.get(guid) == enrolled  # not enrolled again
        assert answers_pass(second, "alice", ALICE)
        assert second.begin("carol", "tty1").account.locked
    finally:
        second.close()


def test_the_helpdesk_of_a_configured_demo_sees_the_same_people(tmp_path):
    settings = load_settings(write_config(tmp_path, DEMO_DOMAIN), {})
    desk = build_helpdesk(settings, operator="dana", terminal="t")
    try:
        desk.authorize("Demo!Dana44")
        (alice,) = desk.search("alice")
        assert desk.card(alice).enrollment.state == "enrolled"
        (carol,) = desk.search("carol")
        assert desk.card(carol).account.locked
    finally:
        desk.close()


def test_a_demo_with_other_questions_says_nobody_is_enrolled(tmp_path):
    questions = """
[questions]
questions = [{ id = "colour", text = "Which colour do you like best?" }]
questionnaire = [{ question = "colour" }]
"""
    config = write_config(tmp_path, DEMO_DOMAIN + questions)
    service = build_service(load_settings(config, {}))
    try:
        assert service.backend.store.count() == 0
        assert "Nobody is enrolled" in service.demo_hint
        assert "alice (answers" not in service.demo_hint
        assert "bob (password Demo!Bob22: set up questions)" in service.demo_hint
        assert service.begin("carol", "tty1").account.locked
    finally:
        service.close()


def test_a_demo_config_without_domains_gets_the_demo_domain(tmp_path):
    from kiosk.backend.directory.demo import DEMO_BASE_DN, DEMO_DNS, DEMO_NETBIOS

    settings = load_settings(write_config(tmp_path, '[directory]\nkind = "demo"\n'), {})
    (domain,) = settings.directory.domains
    assert (domain.netbios, domain.dns, domain.base_dn) == (DEMO_NETBIOS, DEMO_DNS, DEMO_BASE_DN)
    service = build_service(settings)
    try:
        assert service.demo_hint == DEMO_HINT + PER_SESSION
        assert answers_pass(service, "alice", ALICE)
    finally:
        service.close()


def test_a_demo_whose_default_domain_is_not_the_demos_says_how_to_type_names(tmp_path):
    other = """
[directory]
kind = "demo"
default_domain = "EXAMPLE"
[[directory.domains]]
netbios = "EXAMPLE"
dns = "example.org"
base_dn = "DC=example,DC=org"
"""
    service = build_service(load_settings(write_config(tmp_path, other), {}))
    try:
        assert service.begin("alice", "tty1").account is None  # as configured: looked up in EXAMPLE
        assert "alice@demo.example" in service.demo_hint
        assert answers_pass(service, "alice@demo.example", ALICE)
    finally:
        service.close()


def test_a_directory_given_by_the_caller_is_not_seeded(tmp_path):
    from kiosk.backend.directory.demo import DemoDirectory

    settings = load_settings(write_config(tmp_path, DEMO_DOMAIN), {})
    service = build_service(settings, directory=DemoDirectory())
    try:
        assert service.backend.store.count() == 0
        assert service.demo_hint == DEMO_HINT
        with pytest.raises(NotAllowed):
            service.unlock(service.begin("alice", "tty1"))
    finally:
        service.close()
