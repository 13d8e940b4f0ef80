"""Notices after every change, through a real SMTP server on loopback (aiosmtpd,
STARTTLS with a certificate made by openssl): what arrives, that no secret is
in it, that a relay that is down neither slows nor fails a visit, and that a
notice is sent once however many senders flush."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.mail import MailError, SmtpMailer
from kiosk.backend.model import Identity
from kiosk.backend.errors import KioskError
from kiosk.backend.wiring import build_activation, build_helpdesk, build_service
from kiosk.cli import demo_settings
from kiosk.config import MailSettings
from smtp import SmtpServer, free_port
from support import fast

OPERATORS = "CN=Domain Admins,CN=Users,DC=demo,DC=example"  # dana, in the demo
NEW_PASSWORD = "Fresh#Start-2026"
SECRETS = ("Demo!Bob22", "Demo!Alice1", "Demo!Carol3", "Demo!Dana44", NEW_PASSWORD, "Paris", "Rex", "Hillside",
           "Lyon", "Misty", "Oak Lane", "Kestrel", "Seaview", "Marlow")


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    server = SmtpServer(tmp_path_factory.mktemp("smtp")).start()
    yield server
    server.stop()


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory()


def settings_for(workdir: Path, mail: dict):
    settings = fast(demo_settings(workdir), helpdesk={"operator_groups": [OPERATORS]})
    return dataclasses.replace(settings, mail=MailSettings(**{**mail, "ca_file": Path(mail["ca_file"])})
                               if "ca_file" in mail else MailSettings(**mail))


@pytest.fixture
def seeded(tmp_path, directory):
    """The demo's people enrolled (and carol locked) with mail off: no notices yet."""
    seed_demo(build_service(fast(demo_settings(tmp_path)), directory=directory), directory)
    return directory


def account(directory, sam):
    return directory.find_account(Identity(sam, "DEMO", sam=sam))


def audit(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "audit.jsonl").read_text().splitlines()]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"{secret!r} is in a notice"


def test_each_change_sends_a_notice_without_a_secret(tmp_path, relay, seeded):
    directory = seeded
    settings = settings_for(tmp_path, relay.mail_settings(security_copy="security@demo.example"))
    before = len(relay.received)
    service = build_service(settings, directory=directory)
    notices = service.backend.notices
    assert notices is not None

    # enrollment (bob, new), then its replacement
    for answers in ([("birth-city", "Kestrel"), ("first-pet", "Seaview"), ("first-school", "Marlow")],
                    [("birth-city", "Marlow"), ("first-pet", "Kestrel"), ("first-school", "Seaview")]):
        visit = service.begin("bob", "tty7")
        service.prove_password(visit, "Demo!Bob22")
        service.enroll(visit, answers)
    # unlock (carol, locked)
    visit = service.begin("carol", "tty7")
    service.challenge(visit)
    service.verify(visit, ["lyon", "misty", "oak lane"])
    service.unlock(visit)
    # reset (alice)
    visit = service.begin("alice", "tty7")
    service.challenge(visit)
    service.verify(visit, ["paris", "rex", "hillside"])
    service.reset_password(visit, NEW_PASSWORD)
    # activation (erin)
    activation = build_activation(settings, directory=directory)
    erin = account(directory, "erin")
    code = activation.issue_code(erin, "admin")[0]
    visit = activation.begin("erin", "tty7")
    activation.prove(visit, [code])
    activation.complete(visit, [("birth-city", "Kestrel"), ("first-pet", "Seaview"), ("first-school", "Marlow")],
                        NEW_PASSWORD)
    # helpdesk: unlock carol again after her verification, then revoke bob's questions
    desk = build_helpdesk(settings, operator="dana", terminal="ssh:192.0.2.7", directory=directory)
    desk.authorize("Demo!Dana44")
    visit, _ = desk.caller_questions(account(directory, "carol"))
    desk.verify_caller(visit, ["lyon", "misty", "oak lane"])
    desk.unlock(account(directory, "carol"))
    visit, _ = desk.caller_questions(account(directory, "alice"))
    desk.verify_caller(visit, ["paris", "rex", "hillside"])
    temporary = desk.reset(account(directory, "alice"))
    desk.revoke(account(directory, "bob"))

    for owner in (service, activation, desk):
        assert owner.backend.notices is not None
        owner.backend.notices.wait()
        owner.backend.notices.flush()  # whatever a background attempt left (none, normally)
    arrived = relay.received[before:]
    subjects = {(r.recipients[0], r.message["Subject"]) for r in arrived}
    expected = {
        ("bob@demo.example", "Your security questions were set up"),
        ("bob@demo.example", "Your security questions were changed"),
        ("carol@demo.example", "Your account was unlocked"),
        ("alice@demo.example", "Your password was reset"),
        ("erin@demo.example", "Your account was activated"),
        ("carol@demo.example", "Your account was unlocked by the helpdesk"),
        ("alice@demo.example", "Your password was reset by the helpdesk"),
        ("bob@demo.example", "Your security questions were removed by the helpdesk"),
    }
    assert expected <= subjects
    people = [r for r in arrived if r.recipients != ["security@demo.example"]]
    copies = [r for r in arrived if r.recipients == ["security@demo.example"]]
    assert len(people) == len(expected) == len(copies)  # each once, and a copy of each
    for received in arrived:
        assert_no_secret(received.text)
        assert temporary not in received.text
        assert received.message["From"] == "kiosk@demo.example"
    reset = next(r for r in people if r.message["Subject"] == "Your password was reset")
    body = reset.message.get_payload(decode=True).decode()
    assert "DEMO\\alice" in body and "terminal tty7" in body and "UTC" in body
    assert "If it was not you, contact the IT helpdesk right away" in body
    by_helpdesk = next(r for r in people if r.message["Subject"] == "Your account was unlocked by the helpdesk")
    assert "(dana)" in by_helpdesk.message.get_payload(decode=True).decode()
    assert service.backend.store.notices_waiting() == 0
    sent = [e for e in audit(tmp_path) if e["event"] == "notice"]
    assert len(sent) == 2 * len(expected) and {e["outcome"] for e in sent} == {"success"}
    assert not any("@" in json.dumps(e["fields"]) for e in sent)  # no address in the audit


def test_the_helpdesk_clearing_a_blocked_callers_attempts_sends_a_notice(tmp_path, relay, seeded):
    directory = seeded
    settings = settings_for(tmp_path, relay.mail_settings())
    service = build_service(settings, directory=directory)
    for _ in range(settings.throttle.account_max_failures):  # blocked by wrong answers
        visit = service.begin("alice", "tty7")
        service.challenge(visit)
        with pytest.raises(KioskError):
            service.verify(visit, ["wrong", "wrong", "wrong"])
    assert service.backend.notices is not None
    service.backend.notices.wait()  # the alert that the kiosk stopped verifying her (its own test)
    service.backend.notices.flush()
    before = len(relay.received)
    desk = build_helpdesk(settings, operator="dana", terminal="ssh:192.0.2.7", directory=directory)
    desk.authorize("Demo!Dana44")
    assert desk.clear_attempts(account(directory, "alice"), verified_elsewhere=True) > 0
    assert desk.backend.notices is not None
    desk.backend.notices.wait()
    desk.backend.notices.flush()
    [notice] = relay.received[before:]
    assert notice.recipients == ["alice@demo.example"]
    assert notice.message["Subject"] == "The helpdesk cleared your account's wrong attempts"
    assert_no_secret(notice.message.get_payload(decode=True).decode())


def test_setting_up_an_authenticator_app_sends_a_notice(tmp_path, relay, seeded):
    import pyotp

    (tmp_path / "secrets").mkdir()
    settings = fast(settings_for(tmp_path, relay.mail_settings()), features={"totp": True},
                    factors={"totp_key_file": str(tmp_path / "secrets" / "kiosk_totp_key")})
    service = build_service(settings, directory=seeded)
    before = len(relay.received)
    visit = service.begin("alice", "tty7")
    service.prove_password(visit, "Demo!Alice1")
    setup = service.totp_begin(visit)
    codes = service.totp_confirm(visit, pyotp.TOTP(setup.secret).now())
    assert service.backend.notices is not None
    service.backend.notices.wait()
    service.backend.notices.flush()
    [notice] = relay.received[before:]
    assert notice.message["Subject"] == "An authenticator app was set up for your account"
    body = notice.message.get_payload(decode=True).decode()
    assert setup.secret not in body and not any(code in body for code in codes)


def test_each_mail_is_in_the_language_the_person_read(tmp_path, relay, seeded):
    """A visit's notice and e-mailed code are in the language picked on the
    welcome screen; a helpdesk action's (no visit of the person's) in the
    terminals' default. ``mail.contact`` by language, else its English."""
    directory = seeded
    mail = relay.mail_settings(contact={"en": "call 4242", "fr": "appelez le 4242"})
    settings = fast(settings_for(tmp_path, mail), kiosk={"languages": ["en", "fr", "de", "zh_Hans"], "default_language": "de"},
                    factors={"reset": [["questions", "email"]]})
    service = build_service(settings, directory=directory)
    before = len(relay.received)

    visit = service.begin("alice", "tty7", "fr")  # a French visit: a code, then a reset
    service.challenge(visit)
    service.send_code(visit)
    [code_mail] = relay.received[before:]
    assert code_mail.subject == "Votre code à usage unique"
    code_body = code_mail.message.get_payload(decode=True).decode()
    code = next(line.strip() for line in code_body.splitlines() if line.startswith("    "))
    assert "Saisissez-le maintenant au terminal" in code_body and "appelez le 4242" in code_body
    service.verify_factors(visit, "reset", ("questions", "email"), ["paris", "rex", "hillside"], code)
    service.reset_password(visit, NEW_PASSWORD)
    visit = service.begin("bob", "tty7", "zh_Hans")  # a Chinese one
    service.prove_password(visit, "Demo!Bob22")
    service.enroll(visit, [("birth-city", "Kestrel"), ("first-pet", "Seaview"), ("first-school", "Marlow")])
    desk = build_helpdesk(settings, operator="dana", terminal="ssh:192.0.2.7", directory=directory)
    desk.authorize("Demo!Dana44")
    desk.revoke(account(directory, "bob"))  # the helpdesk: the default language, German
    for owner in (service, desk):
        assert owner.backend.notices is not None
        owner.backend.notices.wait()
        owner.backend.notices.flush()

    notices = {r.recipients[0]: r for r in relay.received[before + 1:]}
    by_subject = {r.subject: r.message.get_payload(decode=True).decode() for r in relay.received[before + 1:]}
    assert set(by_subject) == {
        "Votre mot de passe a été réinitialisé",
        "您的安全问题已设置",
        "Ihre Sicherheitsfragen wurden vom IT-Support entfernt",
    }, by_subject
    french = by_subject["Votre mot de passe a été réinitialisé"]
    assert "Le mot de passe de votre compte DEMO\\alice a été réinitialisé" in french
    assert "Si ce n'était pas vous, appelez le 4242" in french and "terminal tty7" in french
    assert "如果不是您本人操作，请call 4242" in by_subject["您的安全问题已设置"]  # no zh_Hans contact: the English
    assert "Wenn Sie es nicht waren: call 4242" in by_subject["Ihre Sicherheitsfragen wurden vom IT-Support entfernt"]
    for body in by_subject.values():
        assert_no_secret(body)
        assert code not in body
    assert set(notices) == {"alice@demo.example", "bob@demo.example"}


def test_a_helpdesk_notice_is_in_the_language_the_directory_gives_the_person(tmp_path, relay, seeded):
    """No visit of carol's chose a language: her directory's preferredLanguage
    ("fr-CH") does, over the terminals' default (English); alice has none."""
    directory = seeded
    carol = account(directory, "carol")
    entry = directory._entries[carol.guid]
    entry.account = dataclasses.replace(entry.account, preferred_language="fr-CH")
    settings = settings_for(tmp_path, relay.mail_settings())
    desk = build_helpdesk(settings, operator="dana", terminal="ssh:192.0.2.7", directory=directory)
    desk.authorize("Demo!Dana44")
    before = len(relay.received)
    visit, _ = desk.caller_questions(account(directory, "carol"))
    desk.verify_caller(visit, ["lyon", "misty", "oak lane"])
    desk.unlock(account(directory, "carol"))
    desk.revoke(account(directory, "alice"))
    assert desk.backend.notices is not None
    desk.backend.notices.wait()
    desk.backend.notices.flush()
    subjects = {r.recipients[0]: r.subject for r in relay.received[before:]}
    assert subjects == {
        "carol@demo.example": "Votre compte a été débloqué par l'assistance",
        "alice@demo.example": "Your security questions were removed by the helpdesk",
    }


def test_failed_attempts_that_stop_verification_tell_the_person_once_a_day(tmp_path, relay, seeded):
    """Wrong answers for carol until the kiosk locks her account: one alert, in
    her directory's language, with a copy for security; the refused attempts
    after it send nothing, nor does a second lock the same day; a name that is
    nobody's, locked the same way, mails nobody."""
    directory = seeded
    carol = account(directory, "carol")
    entry = directory._entries[carol.guid]
    entry.account = dataclasses.replace(entry.account, preferred_language="de")
    settings = settings_for(tmp_path, relay.mail_settings(security_copy="security@demo.example"))
    service = build_service(settings, directory=directory)
    limit = settings.throttle.account_max_failures
    before = len(relay.received)

    def fail(name: str, times: int) -> str:
        for _ in range(times):
            visit = service.begin(name, "tty7")
            service.challenge(visit)
            with pytest.raises(KioskError):
                service.verify(visit, ["wrong", "wrong", "wrong"])
        return visit.throttle_key

    key = fail("carol", limit + 2)  # the last two are refused: locked
    fail("nobody-here", limit)
    service.backend.throttle.clear(key)  # the helpdesk cleared it; carol's account is locked again
    fail("carol", limit)
    assert service.backend.notices is not None
    service.backend.notices.wait()
    service.backend.notices.flush()
    arrived = relay.received[before:]
    assert sorted(r.recipients[0] for r in arrived) == ["carol@demo.example", "security@demo.example"]
    assert {r.subject for r in arrived} == {"Fehlgeschlagene Versuche, sich am Kennwort-Terminal als Sie auszuweisen"}
    body = arrived[0].message.get_payload(decode=True).decode()
    assert f"{limit}-mal" in body and "DEMO\\carol" in body and "terminal tty7" in body.lower()
    assert_no_secret(body) and "wrong" not in body
    alerts = [e for e in audit(tmp_path) if e["event"] == "notice" and e["fields"].get("notice_event") == "alert_locked"]
    assert [e["outcome"] for e in alerts] == ["success", "success"]  # the person and the copy


def test_failed_or_refused_steps_and_people_without_an_address_send_nothing(tmp_path, relay, seeded):
    settings = settings_for(tmp_path, relay.mail_settings())
    directory = seeded
    service = build_service(settings, directory=directory)
    visit = service.begin("alice", "tty7")
    service.challenge(visit)
    with pytest.raises(Exception):
        service.verify(visit, ["wrong", "wrong", "wrong"])
    alice = account(directory, "alice")
    entry = directory._entries[alice.guid]
    entry.account = dataclasses.replace(entry.account, mail="")  # nobody wrote her address in
    visit = service.begin("alice", "tty7")
    service.challenge(visit)
    service.verify(visit, ["paris", "rex", "hillside"])
    assert service.reset_password(visit, NEW_PASSWORD) == "DEMO\\alice"
    assert service.backend.store.notices_waiting() == 0
    assert not [e for e in audit(tmp_path) if e["event"] == "notice"]


def test_mail_off_by_default_queues_nothing(tmp_path, seeded):
    service = build_service(fast(demo_settings(tmp_path)), directory=seeded)
    assert service.backend.notices is None
    visit = service.begin("carol", "tty7")
    service.challenge(visit)
    service.verify(visit, ["lyon", "misty", "oak lane"])
    service.unlock(visit)
    assert service.backend.store.notices_waiting() == 0


def test_with_the_relay_down_the_visit_succeeds_and_the_notice_follows(tmp_path, seeded):
    relay = SmtpServer(tmp_path / "relay")  # made, not started: the relay is down
    settings = settings_for(tmp_path, relay.mail_settings(timeout_seconds=2))
    service = build_service(settings, directory=seeded)
    visit = service.begin("carol", "tty7")
    service.challenge(visit)
    service.verify(visit, ["lyon", "misty", "oak lane"])
    assert service.unlock(visit) == "DEMO\\carol"  # the visit is done; the notice waits
    notices = service.backend.notices
    assert notices is not None
    notices.wait()
    store = service.backend.store
    assert store.notices_waiting() == 1
    retry = [e for e in audit(tmp_path) if e["event"] == "notice"]
    assert retry[-1]["outcome"] == "retry" and "connection refused" in retry[-1]["reason"]
    assert notices.flush().sent == 0  # not due yet: it waits for its retry

    relay.start()
    try:
        later = notices_at(settings, store, service, minutes=5)
        assert later.flush().sent == 1
        assert [r.message["Subject"] for r in relay.to("carol@demo.example")] == ["Your account was unlocked"]
        assert store.notices_waiting() == 0
    finally:
        relay.stop()


def notices_at(settings, store, service, *, minutes=0, days=0):
    """A sender whose clock is later (the retry is due, or the notice is old)."""
    from datetime import UTC, datetime, timedelta

    from kiosk.backend.notices import Notices

    later = datetime.now(UTC) + timedelta(minutes=minutes, days=days)
    return Notices(settings.mail, store, service.backend.audit, clock=lambda: later, send_at_once=False)


def test_a_notice_never_sent_is_given_up_after_the_days_allowed_and_audited(tmp_path, seeded):
    settings = settings_for(tmp_path, {**SmtpServer(tmp_path / "relay").mail_settings(), "give_up_days": 2})
    service = build_service(settings, directory=seeded)
    visit = service.begin("carol", "tty7")
    service.challenge(visit)
    service.verify(visit, ["lyon", "misty", "oak lane"])
    service.unlock(visit)
    assert service.backend.notices is not None
    service.backend.notices.wait()
    store = service.backend.store
    assert notices_at(settings, store, service, days=1).flush().retried == 1
    assert store.notices_waiting() == 1
    assert notices_at(settings, store, service, days=3).flush().given_up == 1
    assert store.notices_waiting() == 0
    given_up = [e for e in audit(tmp_path) if e["event"] == "notice" and e["outcome"] == "given_up"]
    assert len(given_up) == 1 and given_up[0]["account"] == "DEMO\\carol"


# --- the relay's TLS and login ------------------------------------------------------------------


def test_a_relay_signed_by_another_ca_is_refused_in_plain_words(tmp_path, relay):
    other = SmtpServer(tmp_path / "other")  # its own CA, never started: only its CA file is used
    mailer = SmtpMailer(MailSettings(**{**relay.mail_settings(), "ca_file": other.ca_file}))
    with pytest.raises(MailError) as refused:
        mailer.probe()
    assert refused.value.step == "tls"
    assert "certificate is not trusted" in refused.value.detail
    assert "set mail.ca_file to the CA that signed it" in refused.value.detail
    assert "Traceback" not in refused.value.detail


def test_the_system_store_does_not_trust_a_private_relay(relay):
    settings = {**relay.mail_settings()}
    del settings["ca_file"]
    with pytest.raises(MailError, match="system CA store"):
        SmtpMailer(MailSettings(**settings)).probe()


def test_a_closed_port_is_said_plainly():
    mailer = SmtpMailer(MailSettings(enabled=True, host="127.0.0.1", port=free_port(), from_address="k@x.example"))
    with pytest.raises(MailError, match="connection refused") as refused:
        mailer.probe()
    assert refused.value.step == "reach"


def test_login_with_the_password_from_the_secrets(tmp_path):
    from kiosk.config import Secret

    server = SmtpServer(tmp_path, username="kiosk-relay", password="relay-secret").start()
    try:
        good = MailSettings(**server.mail_settings(username="kiosk-relay"), password=Secret("relay-secret"))
        facts = SmtpMailer(good).probe()
        assert facts.logged_in and facts.tls_version.startswith("TLSv1.")
        bad = dataclasses.replace(good, password=Secret("wrong"))
        with pytest.raises(MailError, match="refused the login of kiosk-relay") as refused:
            SmtpMailer(bad).probe()
        assert "wrong" not in refused.value.detail
    finally:
        server.stop()


# --- several hosts on one PostgreSQL store ---------------------------------------------------------


def test_two_hosts_flushing_one_outbox_send_each_notice_once(tmp_path, relay, pg_url):
    import threading
    from datetime import UTC, datetime

    from kiosk.backend.audit import AuditLog
    from kiosk.backend.model import OutboxNotice
    from kiosk.backend.notices import Notices
    from kiosk.backend.store import open_store
    from kiosk.config import AuditSettings

    mail = MailSettings(**{**relay.mail_settings(), "ca_file": relay.ca_file})
    hosts = [open_store(pg_url), open_store(pg_url)]  # two kiosk hosts sharing the database
    try:
        now = datetime.now(UTC)
        for n in range(60):
            hosts[n % 2].queue_notice(OutboxNotice(
                id=0, event="reset", account=f"DEMO\\p{n}", reference=f"K-{n:06d}", recipient=f"p{n}@hosts.example",
                message_id=f"<hosts-{n}@demo.example>", subject="Your password was reset", body=f"notice {n}",
                created_at=now,
            ))
        senders = [
            Notices(mail, store, AuditLog(AuditSettings(file=tmp_path / f"audit{i}.jsonl")), send_at_once=False)
            for i, store in enumerate(hosts)
        ]
        barrier = threading.Barrier(2)
        results = {}

        def flush(i: int) -> None:
            barrier.wait()
            results[i] = senders[i].flush(limit=None)

        threads = [threading.Thread(target=flush, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        arrived = [r for r in relay.received if r.recipients[0].endswith("@hosts.example")]
        assert sorted(r.recipients[0] for r in arrived) == sorted(f"p{n}@hosts.example" for n in range(60))
        assert results[0].sent + results[1].sent == 60
        assert hosts[0].notices_waiting() == 0
    finally:
        for store in hosts:
            store.close()


# --- kiosk notify flush and kiosk check -----------------------------------------------------------


def write_config(tmp_path: Path, mail: dict) -> Path:
    lines = [
        '[directory]\nkind = "demo"\n',
        f'[store]\nurl = "sqlite://{tmp_path / "kiosk.db"}"\n',
        f'[audit]\nfile = "{tmp_path / "audit.jsonl"}"\n',
        "[mail]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in mail.items()),
    ]
    config = tmp_path / "kiosk.toml"
    config.write_text("\n".join(lines))
    return config


def test_notify_flush_sends_what_waits_and_says_so(tmp_path, capsys, seeded):
    from kiosk.cli import main

    relay = SmtpServer(tmp_path / "relay")  # down while the visit happens
    settings = settings_for(tmp_path, relay.mail_settings(timeout_seconds=2, retry_seconds=1))
    service = build_service(settings, directory=seeded)
    visit = service.begin("carol", "tty7")
    service.challenge(visit)
    service.verify(visit, ["lyon", "misty", "oak lane"])
    service.unlock(visit)
    assert service.backend.notices is not None
    service.backend.notices.wait()
    config = write_config(tmp_path, relay.mail_settings(timeout_seconds=2, retry_seconds=1))
    import time

    time.sleep(1.1)  # the first retry is due after retry_seconds
    assert main(["--config", str(config), "notify", "flush"]) == 1  # still down: kept for later
    assert "sent 0, to retry 1" in capsys.readouterr().out
    relay.start()
    try:
        time.sleep(2.1)  # the second retry waits twice as long
        assert main(["--config", str(config), "notify", "flush", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {
            "enabled": True, "sent": 1, "retry": 0, "given_up": 0, "waiting": 0
        }
        assert [r.message["Subject"] for r in relay.to("carol@demo.example")] == ["Your account was unlocked"]
    finally:
        relay.stop()


def test_notify_flush_with_mail_off_sends_nothing(tmp_path, capsys):
    from kiosk.cli import main

    config = write_config(tmp_path, {"enabled": False})
    assert main(["--config", str(config), "notify", "flush"]) == 0
    assert "mail is off" in capsys.readouterr().out


def test_check_names_the_relay_steps(tmp_path, relay):
    from kiosk.check import run_checks
    from kiosk.config.loading import load_settings

    good = load_settings(write_config(tmp_path, relay.mail_settings()), environ={})
    lines = {r.name: r for r in run_checks(good)}
    assert lines["mail reach"].ok and lines["mail tls"].ok and lines["mail login"].ok
    assert "certificate verified for localhost" in lines["mail tls"].message

    other = SmtpServer(tmp_path / "other")
    wrong = load_settings(write_config(tmp_path, relay.mail_settings(ca_file=str(other.ca_file))), environ={})
    lines = {r.name: r for r in run_checks(wrong)}
    assert lines["mail reach"].ok and not lines["mail tls"].ok
    assert "not trusted" in lines["mail tls"].message and "mail.ca_file" in lines["mail tls"].message
    assert "mail login" not in lines


def test_the_relay_password_never_comes_from_the_config_file(tmp_path, relay):
    from kiosk.backend.errors import ConfigError
    from kiosk.config.loading import load_settings

    config = write_config(tmp_path, relay.mail_settings(username="kiosk-relay", password="in-the-file"))
    with pytest.raises(ConfigError, match="mail.password must not be in the config file"):
        load_settings(config, environ={})
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kiosk_mail__password").write_text("from-the-secrets\n")
    config = write_config(tmp_path, relay.mail_settings(username="kiosk-relay"))
    settings = load_settings(config, environ={"KIOSK_SECRETS_DIR": str(secrets)})
    assert settings.mail.password is not None
    assert settings.mail.password.get_secret_value() == "from-the-secrets"
    assert "from-the-secrets" not in repr(settings.mail)


def test_a_store_that_cannot_queue_does_not_fail_the_visit(tmp_path, relay, seeded, monkeypatch):
    from kiosk.backend.errors import StoreError

    service = build_service(settings_for(tmp_path, relay.mail_settings()), directory=seeded)

    def broken(notice):
        raise StoreError("disk full")

    monkeypatch.setattr(service.backend.store, "queue_notice", broken)
    visit = service.begin("carol", "tty7")
    service.challenge(visit)
    service.verify(visit, ["lyon", "misty", "oak lane"])
    assert service.unlock(visit) == "DEMO\\carol"
    errors = [e for e in audit(tmp_path) if e["event"] == "notice"]
    assert [(e["outcome"], e["account"]) for e in errors] == [("error", "DEMO\\carol")]
    assert "not queued" in errors[0]["reason"]
