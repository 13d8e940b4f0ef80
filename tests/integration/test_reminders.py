"""Reminders by mail (``kiosk remind``) on the demo directory, a real store
(SQLite, and PostgreSQL for several hosts at once) and a real SMTP relay
(aiosmtpd, STARTTLS): who is reminded of what, once per interval, with words
that hold no link, and a dry run that changes nothing."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.model import Identity
from kiosk.backend.reminders import Reminders
from kiosk.backend.wiring import build_service, open_backend
from kiosk.cli import demo_settings
from kiosk.config import MailSettings, RemindersSettings
from smtp import SmtpServer
from support import fast

WHERE = "the terminal by the reception desk, ground floor"


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    server = SmtpServer(tmp_path_factory.mktemp("smtp")).start()
    yield server
    server.stop()


def settings_for(workdir: Path, relay: SmtpServer | None, *, store_url: str | None = None, **reminders):
    settings = fast(demo_settings(workdir))
    mail = MailSettings(**{**relay.mail_settings(), "ca_file": relay.ca_file}) if relay else MailSettings()
    config = RemindersSettings(**{"enabled": True, "kiosk_location": WHERE, **reminders})
    settings = dataclasses.replace(settings, mail=mail, reminders=config)
    if store_url:
        settings = dataclasses.replace(settings, store=dataclasses.replace(settings.store, url=store_url))
    return settings


def seed(settings) -> DemoDirectory:
    """The demo's people in the store: alice and carol enrolled, bob not, erin
    new (must change her password), dana an admin (not eligible)."""
    directory = DemoDirectory(max_password_age_days=10)
    seed_demo(build_service(dataclasses.replace(settings, mail=MailSettings()), directory=directory), directory)
    return directory


def make_partial(settings, directory: DemoDirectory, sam: str) -> None:
    """``sam``'s enrollment with one answer fewer than the questionnaire asks: enroll again."""
    backend = open_backend(settings, directory=directory)
    try:
        account = directory.find_account(Identity(sam, "DEMO", sam=sam))
        enrollment = backend.store.get(account.guid)
        backend.store.put(dataclasses.replace(enrollment, answers=enrollment.answers[:2]))
    finally:
        backend.close()


def run(settings, directory, *, dry_run=False, clock=None):
    backend = open_backend(settings, directory=directory)
    try:
        result = Reminders(settings, backend, clock=clock).run(dry_run=dry_run)
        if not dry_run and backend.notices is not None:
            backend.notices.flush()
        return result, backend.store.notices_waiting()
    finally:
        backend.close()


def arrived_for(relay, domain="demo.example") -> list[tuple[str, str]]:
    return sorted((r.recipients[0], r.message["Subject"]) for r in relay.received if r.recipients[0].endswith(domain))


def test_who_is_reminded_of_what_and_the_words_hold_no_link(tmp_path, relay):
    settings = settings_for(tmp_path, relay)
    directory = seed(settings)
    make_partial(settings, directory, "carol")
    before = len(relay.received)
    result, waiting = run(settings, directory)
    expires = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d")
    assert sorted((r.account, r.event) for r in result.due) == [
        ("DEMO\\alice", "reminder_expiry"),
        ("DEMO\\bob", "reminder_enroll"),
        ("DEMO\\bob", "reminder_expiry"),
        ("DEMO\\carol", "reminder_expiry"),
        ("DEMO\\carol", "reminder_reenroll"),
    ]  # not erin (must change her password first: activation), not dana (an admin)
    assert result.checked == 4 and waiting == 0
    arrived = relay.received[before:]
    assert sorted((r.recipients[0], r.message["Subject"]) for r in arrived) == sorted([
        ("alice@demo.example", f"Your password expires on {expires}"),
        ("bob@demo.example", f"Your password expires on {expires}"),
        ("bob@demo.example", "Set up your security questions at the password kiosk"),
        ("carol@demo.example", f"Your password expires on {expires}"),
        ("carol@demo.example", "Set up your security questions again at the password kiosk"),
    ])
    for received in arrived:
        body = received.message.get_payload(decode=True).decode()
        assert WHERE in body and "two minutes" in body
        assert "http" not in received.text.lower() and "www." not in received.text.lower()
        assert received.message["Auto-Submitted"] == "auto-generated"
    bob = next(r for r in arrived if r.message["Subject"] == "Set up your security questions at the password kiosk")
    assert "Hello Bob Brown" in bob.message.get_payload(decode=True).decode()
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    (summary,) = [e for e in events if e["event"] == "remind"]
    assert (summary["fields"]["queued"], summary["fields"]["enroll"], summary["fields"]["expiry"]) == (5, 2, 3)
    sent = [e for e in events if e["event"] == "notice" and e["outcome"] == "success"]
    assert sorted(e["fields"]["notice_event"] for e in sent) == sorted(r.event for r in result.due)


def test_reminders_are_in_the_terminals_default_language(tmp_path, relay):
    """Nobody picked a language for a reminder: the kiosk's default one, with
    the built-in location translated and a location given per language."""
    settings = settings_for(tmp_path, relay, enroll_every_days=30, expiry_within_days=0)
    settings = fast(settings, kiosk={"languages": ["en", "fr"], "default_language": "fr"})
    directory = seed(settings)
    before = len(relay.received)
    run(settings, directory)
    [bob] = relay.received[before:]
    assert bob.subject == (
        "Définissez vos questions de sécurité au terminal libre-service"
    )
    body = bob.message.get_payload(decode=True).decode()
    assert body.startswith("Bonjour Bob Brown,") and f"({WHERE})" in body  # as written: one text for all

    (tmp_path / "second").mkdir()
    settings = settings_for(tmp_path / "second", relay, enroll_every_days=30, expiry_within_days=0,
                            kiosk_location={"en": WHERE, "fr": "la borne près de l'accueil"})
    settings = fast(settings, kiosk={"languages": ["en", "fr"], "default_language": "fr"})
    directory = seed(settings)
    before = len(relay.received)
    run(settings, directory)
    [bob] = relay.received[before:]
    assert "(la borne près de l'accueil)" in bob.message.get_payload(decode=True).decode()


def test_each_reminder_is_sent_once_per_interval(tmp_path, relay):
    settings = settings_for(tmp_path, relay, enroll_every_days=30, expiry_every_days=7)
    directory = seed(settings)
    t0 = datetime.now(UTC)
    clock = {"now": t0}
    first, _ = run(settings, directory, clock=lambda: clock["now"])
    assert len(first.due) == 4  # bob: enroll, expiry; alice, carol: expiry
    again, _ = run(settings, directory, clock=lambda: clock["now"])
    assert (again.due, again.recent) == ([], 4)
    clock["now"] = t0 + timedelta(days=7, minutes=1)  # expiry's interval is over, enroll's is not
    week, _ = run(settings, directory, clock=lambda: clock["now"])
    assert sorted((r.account, r.kind) for r in week.due) == [
        ("DEMO\\alice", "expiry"), ("DEMO\\bob", "expiry"), ("DEMO\\carol", "expiry"),
    ]  # the passwords (set at t0) expire at t0 + 10 days: within 14
    clock["now"] = t0 + timedelta(days=30, minutes=2)  # enroll's interval over; the passwords have expired
    month, _ = run(settings, directory, clock=lambda: clock["now"])
    assert sorted((r.account, r.kind) for r in month.due) == [("DEMO\\bob", "enroll")]


def test_a_dry_run_lists_who_would_get_what_and_queues_nothing(tmp_path, relay):
    settings = settings_for(tmp_path, relay)
    directory = seed(settings)
    before = len(relay.received)
    dry, waiting = run(settings, directory, dry_run=True)
    assert sorted((r.account, r.kind) for r in dry.due) == [
        ("DEMO\\alice", "expiry"), ("DEMO\\bob", "enroll"), ("DEMO\\bob", "expiry"), ("DEMO\\carol", "expiry"),
    ]
    assert waiting == 0 and len(relay.received) == before
    real, _ = run(settings, directory)
    assert sorted((r.account, r.kind) for r in real.due) == sorted((r.account, r.kind) for r in dry.due)
    after, _ = run(settings, directory, dry_run=True)
    assert (after.due, after.recent) == ([], 4)  # the dry run reads what was sent


def test_no_address_no_reminder_and_max_per_run_leaves_the_rest(tmp_path, relay):
    settings = settings_for(tmp_path, relay, max_per_run=2)
    directory = seed(settings)
    result, _ = run(settings, directory)
    assert len(result.due) == 2 and result.held_back == 2
    rest, _ = run(settings, directory)
    assert len(rest.due) == 2 and rest.held_back == 0 and rest.recent == 2

    nobody = settings_for(tmp_path / "nomail", relay, expiry_within_days=0)
    directory = seed(nobody)
    backend = open_backend(nobody, directory=directory)
    try:
        # bob's account as a directory without his mail attribute lists it
        listing = (dataclasses.replace(a, mail="") if a.sam == "bob" else a for a in directory.accounts())
        result = Reminders(nobody, backend).run(accounts=listing)
        assert (result.due, result.no_address, backend.store.notices_waiting()) == ([], 1, 0)
    finally:
        backend.close()


# --- several hosts on one PostgreSQL store ---------------------------------------------------------


def test_two_hosts_reminding_at_once_send_each_reminder_once(tmp_path, relay, pg_url):
    settings = settings_for(tmp_path, relay, store_url=pg_url)
    seed(settings)
    before = len(relay.received)
    results = {}
    barrier = threading.Barrier(2)

    def host(i: int) -> None:
        # each host its own directory connection and store pool, as two machines
        directory = DemoDirectory(max_password_age_days=10)
        barrier.wait()
        results[i], _ = run(settings, directory)

    threads = [threading.Thread(target=host, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    queued = [(r.account, r.kind) for i in (0, 1) for r in results[i].due]
    assert sorted(queued) == [
        ("DEMO\\alice", "expiry"), ("DEMO\\bob", "enroll"), ("DEMO\\bob", "expiry"), ("DEMO\\carol", "expiry"),
    ]
    assert results[0].recent + results[1].recent == 4
    arrived = [(r.recipients[0], r.message["Subject"]) for r in relay.received[before:]]
    assert len(arrived) == 4 and len(set(arrived)) == 4


# --- kiosk remind ------------------------------------------------------------------------------


def write_config(tmp_path: Path, mail: dict, reminders: dict) -> Path:
    def section(name, values):
        return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())

    config = tmp_path / "kiosk.toml"
    config.write_text("\n".join([
        '[directory]\nkind = "demo"\n',
        f'[store]\nurl = "sqlite://{tmp_path / "kiosk.db"}"\n',
        f'[audit]\nfile = "{tmp_path / "audit.jsonl"}"\n',
        section("mail", mail),
        section("reminders", reminders),
    ]))
    return config


def test_kiosk_remind_dry_run_then_for_real(tmp_path, relay, capsys):
    from kiosk.cli import main

    settings = settings_for(tmp_path, relay)
    seed(settings)  # the same store file; the command's own demo directory has the same people
    config = write_config(tmp_path, relay.mail_settings(), {"enabled": True, "kiosk_location": WHERE})
    before = len(relay.received)
    assert main(["--config", str(config), "remind", "--dry-run", "-q"]) == 0
    out = capsys.readouterr().out
    assert "DEMO\\bob" in out and "enroll" in out and "would remind 1 of 4 eligible" in out
    assert "dry run: nothing queued" in out and len(relay.received) == before
    assert main(["--config", str(config), "remind", "--json", "-q"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [(r["account"], r["kind"]) for r in payload["due"]] == [("DEMO\\bob", "enroll")]
    assert payload["sent"] == 1
    assert [r.message["Subject"] for r in relay.received[before:]] == [
        "Set up your security questions at the password kiosk"
    ]
    assert main(["--config", str(config), "remind", "-q"]) == 0
    assert "queued 0 of 4 eligible" in capsys.readouterr().out


def test_kiosk_remind_when_off_queues_nothing(tmp_path, relay, capsys):
    from kiosk.cli import main

    config = write_config(tmp_path, relay.mail_settings(), {"enabled": False})
    assert main(["--config", str(config), "remind"]) == 0
    assert "reminders are off (reminders.enabled = false): nothing queued" in capsys.readouterr().out
    config = write_config(tmp_path, {"enabled": False}, {"enabled": True})
    assert main(["--config", str(config), "remind"]) == 0
    assert "mail is off" in capsys.readouterr().out
