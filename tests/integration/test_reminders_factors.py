"""Reminders for a second factor the [factors] policy needs and the person has
not set up, on the demo directory, a real SQLite store and a real SMTP relay
(aiosmtpd, STARTTLS): who is asked to set up an authenticator app, in words
that say what and where and hold no link or secret, once per interval; nobody
is asked for what they cannot set up or what they do not need."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

import totp_reference as ref
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.directory.demo import DEMO_BASE_DN, DemoDirectory, DemoUser
from kiosk.backend.model import Identity
from kiosk.backend.reminders import Reminders
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service, open_backend
from kiosk.cli import demo_settings
from kiosk.config import MailSettings
from smtp import SmtpServer
from support import fast

WHERE = "the terminal by the reception desk, ground floor"
TITLE = "Acme password desk"
TOTP_SUBJECT = "Set up an authenticator app at the password kiosk"
BOTH_SUBJECT = "Set up your security questions and an authenticator app"
ENROLL_SUBJECT = "Set up your security questions at the password kiosk"
FINANCE = f"CN=Finance,OU=Groups,{DEMO_BASE_DN}"


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    server = SmtpServer(tmp_path_factory.mktemp("smtp")).start()
    yield server
    server.stop()


def settings_for(workdir, relay, *, totp=True, reminders=None, **factors):
    return fast(
        demo_settings(workdir),
        mail={**relay.mail_settings(), "ca_file": relay.ca_file},
        reminders={"enabled": True, "kiosk_location": WHERE, "expiry_within_days": 0, **(reminders or {})},
        features={"totp": totp},
        factors={"totp_key_file": str(workdir / "totp_key"), **factors},
        kiosk={"title": TITLE},
    )


def seed(settings, directory=None) -> DemoDirectory:
    """The demo's people: alice and carol enrolled, bob not, erin new, dana an admin."""
    directory = directory or DemoDirectory()
    seed_demo(build_service(dataclasses.replace(settings, mail=MailSettings(), factors=dataclasses.replace(
        settings.factors, unlock=[["questions"]], reset=[["questions"]], helpdesk=[["questions"]], groups=[],
    )), directory=directory), directory)
    return directory


def enroll_totp(settings, directory, sam: str, password: str) -> str:
    """``sam`` sets up an authenticator at the kiosk, confirmed by a code this test computes."""
    settings = dataclasses.replace(settings, mail=MailSettings())  # its notice is not what this tests
    backend = open_backend(settings, directory=directory)
    try:
        service = SelfService(settings, backend)
        visit = service.begin(sam, "setup")
        service.prove_password(visit, password)
        setup = service.totp_begin(visit)
        service.totp_confirm(visit, ref.code(setup.secret, time.time()))
        service.end(visit)
    finally:
        backend.close()
    return setup.secret


def run(settings, directory, *, dry_run=False, clock=None):
    backend = open_backend(settings, directory=directory)
    try:
        result = Reminders(settings, backend, clock=clock).run(dry_run=dry_run)
        if not dry_run and backend.notices is not None:
            backend.notices.flush()
        return result
    finally:
        backend.close()


def reminders_in(relay, before: int) -> list:
    return [r for r in relay.received[before:] if r.message["Subject"].startswith("Set up ")]


def test_totp_required_asks_those_without_one_once_per_interval(tmp_path, relay):
    settings = settings_for(tmp_path, relay, reset=[["questions", "totp"]], unlock=[["questions"], ["totp"]])
    directory = seed(settings)
    secret = enroll_totp(settings, directory, "alice", "Demo!Alice1")
    t0 = datetime.now(UTC)
    clock = {"now": t0}
    before = len(relay.received)
    result = run(settings, directory, clock=lambda: clock["now"])
    assert sorted((r.account, r.kind, r.event) for r in result.due) == [
        ("DEMO\\bob", "enroll", "reminder_enroll_totp"),  # neither: one mail for both
        ("DEMO\\carol", "factor", "reminder_totp"),  # questions, no authenticator
    ]  # not alice (both set up), not erin (a new account), not dana (an admin)
    arrived = reminders_in(relay, before)
    assert sorted((r.recipients[0], r.message["Subject"]) for r in arrived) == [
        ("bob@demo.example", BOTH_SUBJECT), ("carol@demo.example", TOTP_SUBJECT),
    ]
    for received in arrived:
        body = received.message.get_payload(decode=True).decode()
        assert WHERE in body and f'"{TITLE}"' in body and '"Set up an authenticator app"' in body
        assert "recovery codes" in body and "Hello " in body
        text = received.text.lower()
        assert "http" not in text and "www." not in text and secret.lower() not in text
        assert received.message["Auto-Submitted"] == "auto-generated"
    carol = next(r for r in arrived if r.recipients[0] == "carol@demo.example")
    assert "DEMO\\carol" in carol.message.get_payload(decode=True).decode()
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    (summary,) = [e for e in events if e["event"] == "remind"]
    assert (summary["fields"]["queued"], summary["fields"]["enroll"], summary["fields"]["factor"]) == (2, 1, 1)

    # Within the interval: nothing more; after it: both again (neither has set it up).
    again = run(settings, directory, clock=lambda: clock["now"] + timedelta(days=29))
    assert (again.due, again.recent) == ([], 2)
    clock["now"] = t0 + timedelta(days=30, minutes=1)
    month = run(settings, directory, clock=lambda: clock["now"])
    assert sorted((r.account, r.kind) for r in month.due) == [("DEMO\\bob", "enroll"), ("DEMO\\carol", "factor")]

    # carol (unlocked by the helpdesk) sets one up: she is not asked again, whatever the interval.
    directory.unlock(directory.find_account(Identity("carol", "DEMO", sam="carol")))
    enroll_totp(settings, directory, "carol", "Demo!Carol3")
    later = run(settings, directory, clock=lambda: clock["now"] + timedelta(days=61))
    assert [(r.account, r.kind) for r in later.due] == [("DEMO\\bob", "enroll")]


def test_no_reminder_when_something_the_person_has_will_do(tmp_path, relay):
    # questions + (TOTP or an e-mailed code): everyone with an address can reset once enrolled.
    settings = settings_for(tmp_path, relay, reset=[["questions", "totp"], ["questions", "email"]])
    directory = seed(settings)
    result = run(settings, directory, dry_run=True)
    assert sorted((r.account, r.event) for r in result.due) == [("DEMO\\bob", "reminder_enroll")]

    # Without an address, the e-mailed code cannot do: the authenticator is asked for --
    # but a person without an address gets no mail at all (counted).
    backend = open_backend(settings, directory=directory)
    try:
        listing = (dataclasses.replace(a, mail="") if a.sam == "carol" else a for a in directory.accounts())
        result = Reminders(settings, backend).run(dry_run=True, accounts=listing)
        assert sorted((r.account, r.event) for r in result.due) == [("DEMO\\bob", "reminder_enroll")]
        assert result.no_address == 1
    finally:
        backend.close()


def test_nobody_is_asked_for_an_authenticator_the_kiosk_cannot_set_up(tmp_path, relay):
    # TOTP required but features.totp off: no way to set one up (kiosk check fails this).
    settings = settings_for(tmp_path, relay, totp=False, reset=[["questions", "totp"]])
    directory = seed(settings)
    before = len(relay.received)
    result = run(settings, directory)
    assert [(r.account, r.event) for r in result.due] == [("DEMO\\bob", "reminder_enroll")]
    assert [r.message["Subject"] for r in reminders_in(relay, before)] == [ENROLL_SUBJECT]


def test_a_groups_policy_asks_only_its_members(tmp_path, relay):
    users = (
        DemoUser("alice", "Alice", "Anders", "Demo!Alice1",
                 answers={"birth-city": "Paris", "first-pet": "Rex", "first-school": "Hillside"}),
        DemoUser("fred", "Fred", "Figures", "Demo!Fred11", groups=(FINANCE,),
                 answers={"birth-city": "Oslo", "first-pet": "Bello", "first-school": "Northside"}),
    )
    settings = settings_for(tmp_path, relay, groups=[{"group": FINANCE, "reset": [["questions", "totp"]]}])
    settings = fast(settings, eligibility={"allow_privileged": True})  # the demo counts any group as administrative
    directory = seed(settings, DemoDirectory(users))
    before = len(relay.received)
    result = run(settings, directory)
    assert [(r.account, r.kind, r.event) for r in result.due] == [("DEMO\\fred", "factor", "reminder_totp")]
    assert [(r.recipients[0], r.message["Subject"]) for r in reminders_in(relay, before)] == [
        ("fred@demo.example", TOTP_SUBJECT)
    ]


def test_kiosk_remind_counts_the_authenticator_reminders(tmp_path, relay, capsys):
    from kiosk.cli import main

    settings = settings_for(tmp_path, relay, reset=[["questions", "totp"]])
    seed(settings)  # the same store file; the command's own demo directory has the same people
    mail = relay.mail_settings()
    config = tmp_path / "kiosk.toml"
    config.write_text("\n".join([
        '[directory]\nkind = "demo"\n',
        f'[store]\nurl = "sqlite://{tmp_path / "kiosk.db"}"\n',
        f'[audit]\nfile = "{tmp_path / "audit.jsonl"}"\n',
        "[mail]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in mail.items()),
        f'[reminders]\nenabled = true\nexpiry_within_days = 0\nkiosk_location = "{WHERE}"\n',
        "[features]\ntotp = true\n",
        f'[factors]\nreset = [["questions", "totp"]]\ntotp_key_file = "{tmp_path / "totp_key"}"\n',
    ]))
    before = len(relay.received)
    assert main(["--config", str(config), "remind", "--dry-run", "-q"]) == 0
    out = capsys.readouterr().out
    assert "would remind 3 of 4 eligible (1 to enroll, 0 password expiry, 2 to set up an authenticator app)" in out
    assert main(["--config", str(config), "remind", "--json", "-q"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert sorted((r["account"], r["kind"], r["notice"]) for r in payload["due"]) == [
        ("DEMO\\alice", "factor", "reminder_totp"),
        ("DEMO\\bob", "enroll", "reminder_enroll_totp"),
        ("DEMO\\carol", "factor", "reminder_totp"),
    ]
    assert payload["sent"] == 3 and len(reminders_in(relay, before)) == 3


# --- against the Samba AD lab ----------------------------------------------------------------------

LAB_ADDRESS = "second.factor@lab.example"


@pytest.fixture
def lab_relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


@pytest.mark.lab
def test_a_lab_group_that_needs_an_authenticator_gets_one_mail_for_both(lab, lab_admin, tmp_path, lab_relay):
    import lab as lablib
    from kiosk.lab import lab_settings_from_env

    dn, sam, _password = lablib.create_user(
        lab, lab_admin, groups=[lab.staff_team_dn], attributes={"mail": LAB_ADDRESS}
    )
    try:
        settings = fast(
            lab_settings_from_env(lab.env, tmp_path),
            mail={**lab_relay.mail_settings(), "ca_file": lab_relay.ca_file},
            reminders={"enabled": True, "expiry_within_days": 0, "kiosk_location": "the lab terminal"},
            features={"totp": True},
            factors={"groups": [{"group": lab.staff_team_dn, "reset": [["questions", "totp"]]}]},
        )
        for _ in range(2):  # the second run is within the interval: nothing more
            backend = open_backend(settings)
            try:
                result = Reminders(settings, backend).run()
                assert backend.notices is not None
                backend.notices.flush()
            finally:
                backend.close()
        assert not [r for r in result.due if r.account == lab.nt_name(sam)]
        arrived = lab_relay.to(LAB_ADDRESS)
        assert [r.message["Subject"] for r in arrived] == [BOTH_SUBJECT]
        body = arrived[0].message.get_payload(decode=True).decode()
        assert lab.nt_name(sam) in body and "the lab terminal" in body and '"Set up an authenticator app"' in body
    finally:
        lablib.delete_user(lab_admin, dn)
