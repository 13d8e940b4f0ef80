"""E-mailed one-time codes with a real relay (aiosmtpd, STARTTLS) and the demo
directory: the limits on sending, a relay that is down (plain words and an
audit line, the same for a person without an address), the masked address,
and the configuration's checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.email_codes import mask, typed_initial
from kiosk.backend.errors import CodeNotSent, ConfigError, TooManyCodes
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import open_backend
from kiosk.cli import demo_settings
from kiosk.config import FactorSettings
from kiosk.config.validation import validate
from kiosk.messages import error_text
from smtp import SmtpServer
from support import fast

USERS = (DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),)


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


@pytest.fixture
def service(tmp_path, relay):
    settings = fast(
        demo_settings(tmp_path),
        mail=relay.mail_settings(),
        factors={"reset": [["questions", "email"]], "email_code_sends": 2, "email_codes_per_hour": 3},
    )
    service = SelfService(settings, open_backend(settings, directory=DemoDirectory(USERS)),
                          clock=lambda: datetime(2026, 3, 1, 12, tzinfo=UTC))
    yield service
    service.close()


def audit(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_sends_are_limited_per_visit_and_per_account_for_everyone(service, relay):
    for name in ("alice", "nobody"):
        first = service.begin(name, "t1")
        assert service.send_code(first).endswith("***@demo.example")
        service.send_code(first)
        with pytest.raises(TooManyCodes):
            service.send_code(first)  # the visit's limit (2)
        second = service.begin(name, "t1")
        service.send_code(second)
        with pytest.raises(TooManyCodes):
            service.send_code(second)  # the account's (3 an hour), across visits
    assert len([r for r in relay.to("alice@demo.example") if r.message["Subject"] == "Your one-time code"]) == 3
    assert "Enough codes were sent" in error_text(TooManyCodes("x"))


def test_sends_are_limited_per_terminal_whoever_they_are_for(tmp_path, relay):
    settings = fast(
        demo_settings(tmp_path), mail=relay.mail_settings(),
        factors={"reset": [["questions", "email"]], "email_codes_per_terminal_hour": 2},
    )
    service = SelfService(settings, open_backend(settings, directory=DemoDirectory(USERS)))
    try:
        for name in ("alice", "bob"):
            service.send_code(service.begin(name, "t9"))
        with pytest.raises(TooManyCodes):
            service.send_code(service.begin("carol", "t9"))
        service.send_code(service.begin("carol", "t10"))  # another terminal
    finally:
        service.close()


def test_a_relay_that_is_down_gives_plain_words_and_an_audit_line(service, relay, tmp_path):
    relay.stop()
    for name in ("alice", "nobody"):
        visit = service.begin(name, "t1")
        with pytest.raises(CodeNotSent) as caught:
            service.send_code(visit)
        assert error_text(caught.value) == (
            "The code could not be sent just now. Please try again later or contact the help desk."
        )
    lines = [line for line in audit(tmp_path) if line.get("event") == "mail_code"]
    assert [line["outcome"] for line in lines] == ["error", "error"]
    assert all("connection refused" in line["reason"] for line in lines)


def test_the_address_is_masked():
    assert mask("alice.anders@example.com") == "a***@example.com"
    assert mask("B@Example.COM") == "b***@example.com"
    assert typed_initial("KIOSK\\Zed") == typed_initial("zed@kiosk.example") == "z"


def test_email_in_a_policy_needs_mail_and_one_code_per_alternative(tmp_path):
    from kiosk.config.loading import settings_from

    with pytest.raises(ConfigError, match="mail is off"):
        settings_from({"directory": {"kind": "demo"}, "factors": {"reset": [["questions", "email"]]}})
    with pytest.raises(ConfigError, match="one code"):
        validate(FactorSettings, {"unlock": [["totp", "email"]]}, "t")
    factors = validate(FactorSettings, {"unlock": [["questions"]], "groups": [
        {"group": "CN=Finance,DC=x", "unlock": [["email", "questions"]]}]}, "t")
    assert factors.choices("unlock") == [["questions"], ["questions", "email"]]
    assert factors.alternatives("unlock", lambda dn: dn.startswith("CN=Finance")) == [["questions", "email"]]
    assert factors.alternatives("unlock", lambda dn: False) == [["questions"]]
