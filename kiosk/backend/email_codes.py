"""One-time codes sent by e-mail, as a second factor (``[factors]`` "email").

* A code is ``factors.email_code_digits`` random digits (``secrets``), valid
  ``factors.email_code_minutes``, good for one use, and bound to the visit that
  asked for it: it is kept only in that visit's record here (this process's
  memory), and only as an HMAC under a site secret with the visit's reference
  mixed in, never as sent.
* It goes to the account's directory address (``mail.address_attribute``) over
  the same relay as the notices (``mail.SmtpMailer``: STARTTLS or implicit TLS,
  verified), sent right away: the person is waiting for it. A failure to send
  is ``CodeNotSent`` (plain words for the person, an audit line by the caller).
* Unknown people, ineligible ones and those without an address take the same
  path: a code is made and kept (nobody ever learns it), the relay is reached,
  encrypted and logged in to just the same (``SmtpMailer.probe``) but no mail
  is sent, and the screen shows a masked address of the same shape (the first
  letter of the typed name at ``factors.email_decoy_domain``).
* Sends are limited: ``factors.email_code_sends`` per visit,
  ``factors.email_codes_per_hour`` per account across visits and hosts and
  ``factors.email_codes_per_terminal_hour`` per terminal (counters in the
  store, like the throttle's) -- for everyone, decoys included.
* Wrong codes: the caller counts them in the throttle; a code is given up
  after ``MAX_TRIES`` wrong tries (ask for a new one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Protocol

from kiosk.backend.errors import CodeNotSent, TooManyCodes
from kiosk.backend.notice_texts import compose_code, setting_in

if TYPE_CHECKING:
    from kiosk.backend.mail import RelayFacts
    from kiosk.backend.store.base import EnrollmentStore
    from kiosk.backend.usecase import Visit
    from kiosk.config import Settings

__all__ = ["CodeMailer", "EmailCodes", "mask"]

#: The site secret that keys the codes' digests.
CODE_SECRET = "email-code"
#: Wrong tries after which a code is given up (the throttle counts each as well).
MAX_TRIES = 3
#: The per-account counter's window.
HOUR = 3600.0


class CodeMailer(Protocol):
    """What sending a code needs of the relay (``mail.SmtpMailer``)."""

    def send(self, messages: list[EmailMessage]) -> list: ...
    def probe(self) -> RelayFacts: ...


def mask(address: str) -> str:
    """``alice@example.com`` -> ``a***@example.com``: the first character, then
    always three stars, whatever the length (the length says nothing)."""
    local, _, domain = address.strip().rpartition("@")
    first = (local or address.strip() or "?")[:1].lower()
    return f"{first}***@{domain.lower() or '?'}"


def typed_initial(typed_name: str) -> str:
    """The first letter of the account part of a typed name (``DOMAIN\\sam``,
    ``sam@domain``, ``sam``), for a decoy's masked address."""
    name = typed_name.strip().rpartition("\\")[2].partition("@")[0].strip()
    initial = name[:1].lower()
    return initial if initial.isalnum() else "x"


@dataclass
class _Code:
    digest: str
    expires_at: datetime
    sends: int = 1
    tries: int = 0
    used: bool = False


class EmailCodes:
    """The codes of the visits of one use case: issued, sent, checked once."""

    def __init__(
        self,
        settings: Settings,
        store: EnrollmentStore,
        clock: Callable[[], datetime],
        *,
        mailer: CodeMailer | None = None,
    ) -> None:
        self._settings = settings
        self._factors = settings.factors
        self._store = store
        self._clock = clock
        self._mailer = mailer
        self._codes: weakref.WeakKeyDictionary[Visit, _Code] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @property
    def mailer(self) -> CodeMailer:
        if self._mailer is None:
            from kiosk.backend.mail import SmtpMailer

            self._mailer = SmtpMailer(self._settings.mail)
        return self._mailer

    @property
    def valid_minutes(self) -> int:
        return self._factors.email_code_minutes

    def decoy_domain(self) -> str:
        return (
            self._factors.email_decoy_domain
            or self._settings.mail.from_address.rpartition("@")[2]
            or "example.com"
        ).lower()

    def _digest(self, visit: Visit, code: str) -> str:
        key = self._store.site_secret(CODE_SECRET)
        typed = "".join(ch for ch in code if not ch.isspace() and ch != "-")
        return hmac.new(key, f"{visit.reference}\x00{typed}".encode(), hashlib.sha256).hexdigest()

    def _count_send(self, visit: Visit) -> None:
        """The limits, for everyone: per visit, then per account in the store."""
        with self._lock:
            earlier = self._codes.get(visit)
            sends = earlier.sends if earlier is not None else 0
        if sends >= self._factors.email_code_sends:
            raise TooManyCodes(f"{sends} codes sent in this visit")
        shared = self._store.shared_time()
        now = self._clock().timestamp() if shared is None else shared
        _, count = self._store.add_failure(f"mailcode:{visit.subject}", now, HOUR)
        if count > self._factors.email_codes_per_hour:
            raise TooManyCodes(f"{count - 1} codes sent to this account in the last hour")
        _, count = self._store.add_failure(f"mailcode-terminal:{visit.terminal}", now, HOUR)
        if count > self._factors.email_codes_per_terminal_hour:
            raise TooManyCodes(f"{count - 1} codes sent from this terminal in the last hour")

    def issue(self, visit: Visit, address: str | None, *, name: str, account: str) -> str:
        """Make, keep (as a digest) and send a new code for ``visit``; the
        masked address it went to. ``address`` None: the decoy path (a code
        nobody will see, the relay reached but no mail sent). Raises
        TooManyCodes past the limits, CodeNotSent if the relay failed."""
        self._count_send(visit)
        code = "".join(secrets.choice("0123456789") for _ in range(self._factors.email_code_digits))
        with self._lock:
            earlier = self._codes.get(visit)
            self._codes[visit] = _Code(
                digest=self._digest(visit, code),
                expires_at=self._clock() + timedelta(minutes=self._factors.email_code_minutes),
                sends=(earlier.sends if earlier is not None else 0) + 1,
            )
        shown = mask(address) if address else f"{typed_initial(visit.typed_name)}***@{self.decoy_domain()}"
        try:
            if address:
                self._send(address, code, name=name, account=account, terminal=visit.terminal, language=visit.language)
            else:
                self.mailer.probe()  # the same connection work, and the same failure if the relay is down
        except CodeNotSent:
            raise
        except Exception as exc:  # noqa: BLE001 - MailError, or anything the relay threw: plain words
            raise CodeNotSent(getattr(exc, "detail", None) or f"{type(exc).__name__}: {exc}") from None
        finally:
            del code
        return shown

    def _send(self, address: str, code: str, *, name: str, account: str, terminal: str, language: str) -> None:
        mail = self._settings.mail
        when = self._clock()
        subject, body = compose_code(
            code=code, account=account, name=name, when=when, terminal=terminal,
            minutes=self._factors.email_code_minutes, contact=setting_in(mail.contact, "mail.contact", language),
            language=language,
        )
        message = EmailMessage()
        message["From"] = mail.from_address
        message["To"] = address
        message["Subject"] = subject
        message["Date"] = format_datetime(when)
        message["Message-ID"] = make_msgid("kiosk", domain=mail.from_address.rpartition("@")[2] or None)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        results = self.mailer.send([message])
        if results and results[0] is not None:
            error = results[0]
            raise CodeNotSent(getattr(error, "detail", None) or str(error))

    def check(self, visit: Visit, code: str) -> bool:
        """Is ``code`` the visit's code, unexpired and unused? A right one is
        used up; a wrong one counts toward giving the code up. The same work
        whether or not a code was issued (a digest is always computed and compared)."""
        typed = self._digest(visit, code)
        now = self._clock()
        with self._lock:
            kept = self._codes.get(visit)
            expected = kept.digest if kept is not None else hmac.new(b"none", typed.encode(), hashlib.sha256).hexdigest()
            same = hmac.compare_digest(expected, typed)
            if kept is None:
                return False
            usable = not kept.used and kept.tries < MAX_TRIES and now < kept.expires_at
            if same and usable:
                kept.used = True
                return True
            if not same:
                kept.tries += 1
            return False

    def state(self, visit: Visit, code: str) -> str:
        """For the audit only, after ``check`` refused: why ("wrong", "expired", "used", "none")."""
        with self._lock:
            kept = self._codes.get(visit)
            if kept is None:
                return "none sent"
            if kept.used:
                return "used"
            if self._clock() >= kept.expires_at:
                return "expired"
            if kept.tries >= MAX_TRIES:
                return "given up after wrong tries"
            return "wrong"

    def forget(self, visit: Visit) -> None:
        with self._lock:
            self._codes.pop(visit, None)
