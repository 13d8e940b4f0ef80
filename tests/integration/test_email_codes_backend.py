"""E-mailed codes through the privileged backend: ``kiosk backend`` as a
subprocess on a Unix socket (demo directory), a real SMTP relay (aiosmtpd,
STARTTLS), and the session's client in this process: the policy's choices,
the masked address, a refused code and the right one cross the socket as the
use case said them."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.backend.errors import SecondFactorFailed
from kiosk.client import connect_kiosk
from smtp import SmtpServer

from backend_support import Backend, demo_config

ALICE_ANSWERS = ["Paris", "Rex", "Hillside"]


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kiosk-backend-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def relay(workdir: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(workdir / "relay").start()
    yield server
    server.stop()


@pytest.fixture
def backend(workdir: Path, relay: SmtpServer) -> Iterator[Backend]:
    lines = [
        "[mail]", "enabled = true", f'host = "{relay.host}"', f"port = {relay.port}", 'tls = "starttls"',
        f'ca_file = "{relay.ca_file}"', 'from_address = "kiosk@demo.example"',
        "[factors]", 'reset = [["questions", "totp"], ["questions", "email"]]',
    ]
    config = demo_config(workdir, session_user=pwd.getpwuid(os.getuid()).pw_name, extra="\n        ".join(lines))
    running = Backend(config, workdir / "backend.sock")
    running.start()
    yield running
    running.stop()


def test_a_reset_with_an_emailed_code_through_the_backend(backend: Backend, relay: SmtpServer):
    service, _ = connect_kiosk(str(backend.socket), "t1")
    assert service.factor_choices("reset") == (("questions", "totp"), ("questions", "email"))
    visit = service.begin("alice", "t1")
    service.challenge(visit)
    assert service.send_code(visit) == "a***@demo.example"
    mail = [r for r in relay.to("alice@demo.example") if r.message["Subject"] == "Your one-time code"][-1]
    code = re.search(r"^\s+(\d{6})\s*$", mail.message.get_payload(decode=True).decode(), re.MULTILINE).group(1)
    with pytest.raises(SecondFactorFailed):
        service.verify_factors(visit, "reset", ("questions", "email"), ALICE_ANSWERS, f"{(int(code) + 1) % 10**6:06d}")
    service.verify_factors(visit, "reset", ("questions", "email"), ALICE_ANSWERS, code)
    assert service.reset_password(visit, "Brand#New-2026x") == "DEMO\\alice"
    service.end(visit)


def test_the_code_mail_is_in_the_language_the_session_names(backend: Backend, relay: SmtpServer):
    """The visit's language crosses the socket with ``begin``: the code comes in German."""
    service, _ = connect_kiosk(str(backend.socket), "t1")
    visit = service.begin("alice", "t1", "de")
    service.challenge(visit)
    service.send_code(visit)
    mail = relay.to("alice@demo.example")[-1]
    assert mail.subject == "Ihr Einmalcode"
    assert "Geben Sie ihn jetzt am Terminal ein" in mail.message.get_payload(decode=True).decode()
    service.end(visit)
