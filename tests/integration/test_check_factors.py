"""``kiosk check`` on the [factors] policy: each mistake on its own line, with
its cause and its fix. The demo directory, a real SQLite store and a real SMTP
relay (aiosmtpd) for most; the Samba AD lab for the mail attribute people lack."""

from __future__ import annotations

import dataclasses
import os
import re
import time

import pytest

import totp_reference as ref
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service, open_backend
from kiosk.check import CheckResult, run_checks
from kiosk.cli import demo_settings
from kiosk.config import MailSettings
from smtp import SmtpServer
from support import fast


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


def settings_for(workdir, *, totp=True, mail=None, **factors):
    sections = {
        "features": {"totp": totp},
        "factors": {"totp_key_file": str(workdir / "totp_key"), **factors},
        "answers": {"pepper_file": str(workdir / "pepper")},
    }
    if mail is not None:
        sections["mail"] = mail
    return fast(demo_settings(workdir), **sections)


def named(results: list[CheckResult], name: str) -> list[CheckResult]:
    return [r for r in results if r.name == name]


def seed(settings) -> DemoDirectory:
    """The demo's people in the store: alice and carol have security questions, bob not."""
    directory = DemoDirectory()
    plain = dataclasses.replace(settings, mail=MailSettings(), factors=dataclasses.replace(
        settings.factors, unlock=[["questions"]], reset=[["questions"]], helpdesk=[["questions"]],
    ))
    seed_demo(build_service(plain, directory=directory), directory)
    return directory


def enroll_totp(settings, directory, sam: str, password: str) -> None:
    settings = dataclasses.replace(settings, mail=MailSettings())
    backend = open_backend(settings, directory=directory)
    try:
        service = SelfService(settings, backend)
        visit = service.begin(sam, "setup")
        service.prove_password(visit, password)
        setup = service.totp_begin(visit)
        service.totp_confirm(visit, ref.code(setup.secret, time.time()))
    finally:
        backend.close()


def test_questions_alone_says_nothing_about_factors(tmp_path):
    results = run_checks(settings_for(tmp_path, totp=False))
    assert [r for r in results if r.name.startswith("factors")] == []


def test_totp_required_while_totp_enrollment_is_off_fails(tmp_path):
    settings = settings_for(tmp_path, totp=False, reset=[["questions", "totp"]], unlock=[["questions"], ["totp"]])
    [line] = named(run_checks(settings), "factors totp")
    assert line.state == "fail"
    assert "features.totp is off, so nobody can set up an authenticator app" in line.message
    assert "nobody passes reset for everyone:" in line.message and "unlock" not in line.message.split(";")[-1]

    # Only one alternative among others: a warning (that alternative is dead).
    settings = settings_for(tmp_path, totp=False, unlock=[["questions"], ["totp"]])
    [line] = named(run_checks(settings), "factors totp")
    assert line.state == "warn" and "the alternatives with totp cannot be used" in line.message


def test_an_email_policy_with_mail_off_is_refused_by_the_configuration(tmp_path):
    with pytest.raises(Exception, match=r'factors name "email" .* but mail is off'):
        settings_for(tmp_path, reset=[["questions", "email"]])


def test_an_email_policy_with_a_relay_that_fails(tmp_path, relay):
    mail = {**relay.mail_settings(), "ca_file": relay.ca_file}
    settings = settings_for(tmp_path, mail=mail, reset=[["questions", "email"]], unlock=[["questions"], ["email"]])
    assert named(run_checks(settings), "factors email") == []  # the relay works: nothing to say
    relay.stop()
    results = run_checks(settings)
    assert named(results, "mail reach")[0].state == "fail"
    [line] = named(results, "factors email")
    assert line.state == "fail"
    assert "the relay failed its check (mail reach): no e-mailed code can be sent" in line.message
    assert "nobody passes reset for everyone: every alternative needs email" in line.message


def test_a_required_method_nobody_has_set_up_is_counted(tmp_path):
    settings = settings_for(tmp_path, reset=[["questions", "totp"]])
    directory = seed(settings)
    results = run_checks(settings)
    [people] = named(results, "factors people")
    assert people.state == "ok"
    assert people.message == (
        "of 4 eligible: 2 have security questions, 0 have an authenticator app; "
        "2 can pass unlock now, 0 can pass reset now, 2 can pass helpdesk now"
    )
    [line] = named(results, "factors totp")
    assert line.state == "warn"
    assert line.message.startswith("none of 4 eligible people has set up an authenticator app yet")
    assert "every alternative of reset for everyone needs it" in line.message and "kiosk remind" in line.message

    enroll_totp(settings, directory, "alice", "Demo!Alice1")
    results = run_checks(settings)
    assert named(results, "factors totp") == []
    assert "1 have an authenticator app" in named(results, "factors people")[0].message
    assert "1 can pass reset now" in named(results, "factors people")[0].message


def test_the_totp_key_file(tmp_path):
    settings = settings_for(tmp_path, reset=[["questions", "totp"]])
    key = tmp_path / "totp_key"
    [line] = named(run_checks(settings), "factors totp key")
    assert line.state == "warn" and "does not exist yet: the kiosk makes it on first use" in line.message

    directory = seed(settings)
    enroll_totp(settings, directory, "alice", "Demo!Alice1")  # makes the key, mode 0600
    [line] = named(run_checks(settings), "factors totp key")
    assert line.state == "ok" and "mode 0600" in line.message and "opens the 1 authenticator app(s)" in line.message

    key.chmod(0o644)
    [line] = named(run_checks(settings), "factors totp key")
    assert line.state == "fail" and "can be read by anyone: chmod o-rwx" in line.message

    key.chmod(0o600)
    key.write_bytes(os.urandom(32))  # another host's key
    [line] = named(run_checks(settings), "factors totp key")
    assert line.state == "fail" and "does not open the authenticator apps in the store" in line.message

    key.write_bytes(b"short")
    [line] = named(run_checks(settings), "factors totp key")
    assert line.state == "fail" and "is 5 bytes, not 32" in line.message

    key.unlink()
    [line] = named(run_checks(settings), "factors totp key")
    assert line.state == "fail" and "1 authenticator app(s) in the store were sealed with a key" in line.message


# --- against the Samba AD lab ----------------------------------------------------------------------


@pytest.mark.lab
def test_a_mail_attribute_most_eligible_people_lack(lab, lab_admin, tmp_path, relay):
    from ldap3 import MODIFY_REPLACE

    from kiosk.lab import lab_settings_from_env

    try:
        import lab as lablib
    except ImportError:  # tests/ became a package
        from tests import lab as lablib

    users = [
        lablib.create_user(lab, lab_admin, attributes={"mail": "has.one@lab.example"} if i == 0 else None)
        for i in range(3)
    ]
    group = lablib.create_group(lab, lab_admin, members=[dn for dn, _, _ in users])
    try:
        base = lab_settings_from_env(lab.env, tmp_path)
        settings = fast(
            base,
            eligibility={"allowed_groups": [group]},  # the three people: one with an address
            mail={**relay.mail_settings(), "ca_file": relay.ca_file},
            factors={"reset": [["questions", "email"]], "unlock": [["questions"], ["email"]]},
            answers={"pepper_file": str(tmp_path / "pepper")},
        )
        results = run_checks(settings)
        [line] = named(results, "factors email")
        assert line.state == "warn"
        assert line.message.startswith("mail is empty on 2 of 3 eligible accounts: they cannot get an e-mailed code")
        assert "mail.address_attribute" in line.message
        assert re.search(r"of 3 eligible: 0 have security questions, 1 have a mail address", named(results, "factors people")[0].message)

        # Most have one: an ok line that still counts those without.
        lab_admin.modify(users[1][0], {"mail": [(MODIFY_REPLACE, ["second@lab.example"])]})
        [line] = named(run_checks(settings), "factors email")
        assert line.state == "ok" and line.message.startswith("mail is empty on 1 of 3 eligible accounts")
    finally:
        lablib.delete_entry(lab_admin, group)
        for dn, _, _ in users:
            lablib.delete_user(lab_admin, dn)
