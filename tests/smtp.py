"""A real SMTP server on loopback for the notices' tests (aiosmtpd): STARTTLS
with a certificate made here by the ``openssl`` program (as tests/pg.py makes
PostgreSQL's), an optional login, and the mail that arrived to read back.

Start and stop it at will (``start`` / ``stop``): the same port, the same
certificate, so a test can take the relay down and bring it back."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

try:
    import pg as pglib
except ImportError:  # tests/ became a package
    from tests import pg as pglib


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.raw)

    @property
    def subject(self) -> str:
        """The Subject as the person reads it (encoded words decoded, folding undone)."""
        return str(email.message_from_bytes(self.raw, policy=email.policy.default)["Subject"]).strip()

    @property
    def text(self) -> str:
        """Headers and body, decoded: what a test greps for secrets."""
        message = self.message
        body = message.get_payload(decode=True) or b""
        return self.raw.decode("utf-8", "replace") + "\n" + body.decode("utf-8", "replace")


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS required; ``ca_file`` trusts it."""

    def __init__(self, directory: Path, *, username: str = "", password: str = "") -> None:
        tls = directory / "smtp-tls"
        self.ca_file, ca_key = pglib.make_ca(tls, "kiosk smtp test CA")
        cert, key = pglib.make_server_certificate(tls, (self.ca_file, ca_key), names=("localhost",))
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(str(cert), str(key))
        self.host = "localhost"
        self.port = free_port()
        self.username, self.password = username, password
        self.handler = _Handler()
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == self.username and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        auth = {"authenticator": self._authenticate, "auth_require_tls": True} if self.username else {
            "auth_require_tls": True
        }
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, tls_context=self._context,
            require_starttls=True, server_hostname="localhost", ready_timeout=10, **auth,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def mail_settings(self, **extra) -> dict:
        """The [mail] section that sends here."""
        return {
            "enabled": True, "host": self.host, "port": self.port, "tls": "starttls",
            "ca_file": str(self.ca_file), "from_address": "kiosk@demo.example", **extra,
        }
