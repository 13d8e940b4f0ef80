"""The SMTP relay: notices leave the kiosk here (standard library ``smtplib``).

Always encrypted and verified: STARTTLS (required, not opportunistic) or
implicit TLS, the relay's certificate checked against ``mail.ca_file`` or the
system store, its name against ``mail.host``. An optional login uses
``mail.username`` and the password from the secrets directory. Every failure
is a ``MailError`` in plain words; nothing here retries (the outbox does).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.backend.model import OutboxNotice
    from kiosk.config import MailSettings

__all__ = ["MailError", "RelayFacts", "SmtpMailer", "message_of"]


class MailError(Exception):
    """The relay could not be reached, trusted, logged in to, or refused the mail."""

    def __init__(self, detail: str, *, step: str = "send") -> None:
        super().__init__(detail)
        self.detail = detail
        #: "reach", "tls", "login" or "send": where it failed (``kiosk check`` names it).
        self.step = step


@dataclass(frozen=True)
class RelayFacts:
    """What ``SmtpMailer.probe`` found: for ``kiosk check``."""

    where: str
    tls_version: str
    logged_in: bool


def message_of(notice: OutboxNotice, sender: str) -> EmailMessage:
    """The mail of an outbox notice (its Message-ID is the one made when it was queued)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notice.recipient
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(notice.created_at)
    message["Message-ID"] = notice.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.body)
    return message


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.where = f"{settings.host}:{settings.port}"

    def _context(self) -> ssl.SSLContext:
        ca_file = self.settings.ca_file
        try:
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise MailError(f"mail.ca_file = '{ca_file}': cannot use it ({exc})", step="tls") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _trust(self) -> str:
        ca_file = self.settings.ca_file
        return f"the CA file {ca_file}" if ca_file else "the system CA store (mail.ca_file is not set)"

    def _connect(self) -> tuple[smtplib.SMTP, bool]:
        """A connection, encrypted and (if configured) logged in; (it, logged in)."""
        settings = self.settings
        context = self._context()
        smtp: smtplib.SMTP | None = None
        try:
            try:
                if settings.tls == "tls":
                    smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds, context=context)
                else:
                    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
            except ssl.SSLCertVerificationError as exc:
                raise MailError(self._untrusted(exc), step="tls") from None
            except ssl.SSLError as exc:
                raise MailError(f"TLS with the relay {self.where} failed: {exc.reason or exc}", step="tls") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise MailError(f"cannot reach the relay {self.where}: {_why(exc)}", step="reach") from None
            if settings.tls == "starttls":
                try:
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise MailError(
                            f"the relay {self.where} does not offer STARTTLS: mail is never sent unencrypted "
                            "(use a relay that does, or mail.tls = \"tls\" on its TLS port)",
                            step="tls",
                        )
                    smtp.starttls(context=context)
                    smtp.ehlo()
                except ssl.SSLCertVerificationError as exc:
                    raise MailError(self._untrusted(exc), step="tls") from None
                except ssl.SSLError as exc:
                    raise MailError(f"TLS with the relay {self.where} failed: {exc.reason or exc}", step="tls") from None
                except (OSError, smtplib.SMTPException) as exc:
                    raise MailError(f"STARTTLS with the relay {self.where} failed: {_why(exc)}", step="tls") from None
            logged_in = False
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                if not password:
                    raise MailError(
                        "mail.username is set but its password is missing: put it in the secrets file "
                        "kiosk_mail__password or in $KIOSK_MAIL__PASSWORD",
                        step="login",
                    )
                try:
                    smtp.login(settings.username, password)
                except smtplib.SMTPAuthenticationError:
                    raise MailError(
                        f"the relay {self.where} refused the login of {settings.username}: check the user and "
                        "the password in kiosk_mail__password",
                        step="login",
                    ) from None
                except (OSError, smtplib.SMTPException) as exc:
                    raise MailError(f"login at the relay {self.where} failed: {_why(exc)}", step="login") from None
                logged_in = True
            return smtp, logged_in
        except BaseException:
            if smtp is not None:
                _quietly_close(smtp)
            raise

    def _untrusted(self, exc: ssl.SSLCertVerificationError) -> str:
        return (
            f"the relay {self.where}'s certificate is not trusted ({exc.verify_message}), checked against "
            f"{self._trust()}: set mail.ca_file to the CA that signed it"
        )

    def probe(self) -> RelayFacts:
        """Reach, encrypt and log in, then say goodbye (``kiosk check``)."""
        smtp, logged_in = self._connect()
        try:
            sock = smtp.sock
            version = sock.version() if isinstance(sock, ssl.SSLSocket) else "?"
            return RelayFacts(self.where, version or "?", logged_in)
        finally:
            _quietly_close(smtp)

    def send(self, messages: list[EmailMessage]) -> list[MailError | None]:
        """Send each message over one connection; for each, None (accepted) or
        why not. A failure to connect raises MailError (nothing was sent)."""
        smtp, _ = self._connect()
        results: list[MailError | None] = []
        try:
            for message in messages:
                try:
                    refused = smtp.send_message(message)
                    results.append(
                        MailError(f"the relay refused {', '.join(refused)}") if refused else None
                    )
                except smtplib.SMTPRecipientsRefused as exc:
                    results.append(MailError(f"the relay refused the recipient: {_codes(exc.recipients)}"))
                except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                    results.append(MailError(f"the relay refused the mail: {exc.smtp_code} {_text(exc.smtp_error)}"))
                except (OSError, smtplib.SMTPException) as exc:
                    results.append(MailError(f"sending through {self.where} failed: {_why(exc)}"))
                    break
        finally:
            _quietly_close(smtp)
        results += [MailError("not sent: the connection was lost")] * (len(messages) - len(results))
        return results


def _why(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the relay running, and is mail.port right?)"
    if isinstance(exc, socket.gaierror):
        return "no such host (check mail.host)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer in time (a firewall, or the wrong port)"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _codes(recipients: dict) -> str:
    return "; ".join(f"{who}: {code} {_text(text)}" for who, (code, text) in recipients.items())


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:  # noqa: BLE001 - already done with it
        try:
            smtp.close()
        except Exception:  # noqa: BLE001
            pass
