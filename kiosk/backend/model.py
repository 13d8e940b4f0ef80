"""Plain data passed between the directory, the store and the screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kiosk.i18n import shipped_language


@dataclass(frozen=True)
class Identity:
    """What a person typed, resolved to a name the directory can look up.

    Exactly one of ``sam`` or ``upn`` is set; ``domain`` is the NetBIOS name of
    the domain to search (the default domain when the person typed none).
    """

    typed: str
    domain: str
    sam: str | None = None
    upn: str | None = None

    @property
    def display(self) -> str:
        return self.upn if self.upn else f"{self.domain}\\{self.sam}"


@dataclass(frozen=True)
class Account:
    """One directory account, as read at one moment.

    ``groups`` holds the DNs of every group the account is a member of,
    nested membership included, compared case-insensitively (lower-cased).
    """

    guid: str  # objectGUID as a canonical UUID string: the stable key
    dn: str
    sam: str
    domain: str  # NetBIOS name
    upn: str | None = None
    display_name: str = ""
    given_name: str = ""
    surname: str = ""
    enabled: bool = True
    locked: bool = False
    locked_since: datetime | None = None
    bad_password_count: int = 0
    password_last_set: datetime | None = None
    password_expires: datetime | None = None
    must_change_password: bool = False
    expired: bool = False  # accountExpires in the past
    admin_count: bool = False
    #: Why the directory itself finds the account privileged, by SID (well-known
    #: administrative groups in its token) or as the kiosk's own service account.
    privileged: tuple[str, ...] = ()
    groups: frozenset[str] = frozenset()
    never_logged_on: bool = False
    #: The person's mail address (the configured ``mail.address_attribute``), "" if none:
    #: where notices of changes to the account go.
    mail: str = ""
    #: The directory's ``preferredLanguage`` as written ("fr-CH"), "" if none:
    #: the language of mails no visit of the person's chose (``i18n.shipped_language``).
    preferred_language: str = ""
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.domain}\\{self.sam}"

    def mail_language(self, default: str) -> str:
        """The language of a mail no visit of the person's chose (a helpdesk
        action, a reminder, an alert): the shipped one ``preferred_language``
        names, else ``default`` (the terminals' default language)."""
        return shipped_language(self.preferred_language) or default

    def name_parts(self) -> tuple[str, ...]:
        """Parts of the account's names a password must not contain (AD rule)."""
        parts = [self.sam]
        for token in (self.display_name, self.given_name, self.surname):
            parts.extend(t for t in _split_name(token))
        return tuple(p for p in dict.fromkeys(parts) if len(p) >= 3)


def _split_name(text: str) -> list[str]:
    # AD splits the display name on these delimiters (MS-SAMR 3.1.1.7.2).
    import re

    return [p for p in re.split(r"[,.\-_ #\t\u2013\u2014]+", text) if p]


@dataclass(frozen=True)
class PasswordPolicy:
    """The effective password policy for one account (domain or fine-grained)."""

    min_length: int = 7
    complexity: bool = True
    history_length: int = 24
    min_age_seconds: int = 0
    max_age_seconds: int | None = None
    lockout_threshold: int = 0
    lockout_duration_seconds: int = 0
    source: str = "domain"  # "domain" or the PSO's DN


@dataclass(frozen=True)
class Eligibility:
    """Whether an account may use self-service, and if not, why (for the log)."""

    allowed: bool
    reason: str = ""

    @classmethod
    def ok(cls) -> Eligibility:
        return cls(True)

    @classmethod
    def refused(cls, reason: str) -> Eligibility:
        return cls(False, reason)


@dataclass(frozen=True)
class Question:
    """A security question as configured. ``id`` is stable; ``text`` may be edited.
    ``translations``: its wording in other languages, (language code, text) pairs."""

    id: str
    text: str
    min_length: int = 3
    max_length: int = 128
    case_sensitive: bool = False
    translations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StoredAnswer:
    """One enrolled answer: the question as it was asked, and the argon2id hash."""

    question_id: str
    question_text: str
    answer_hash: str


@dataclass(frozen=True)
class Enrollment:
    """A person's enrolled answers, keyed by the account's objectGUID."""

    account_guid: str
    account_name: str  # DOMAIN\sam when enrolled: for reports only, never a key
    answers: tuple[StoredAnswer, ...]
    enrolled_at: datetime
    last_used_at: datetime | None = None

    def __repr__(self) -> str:  # hashes are not secrets, but keep logs short
        return (
            f"Enrollment({self.account_name!r}, {len(self.answers)} answers, "
            f"enrolled_at={self.enrolled_at.isoformat()})"
        )


@dataclass(frozen=True)
class OutboxNotice:
    """A notice waiting in the store's outbox (``kiosk.backend.notices``): the
    whole mail as it will be sent, and what the sender needs to retry it."""

    id: int
    event: str
    account: str  # DOMAIN\sam, for the audit
    reference: str
    recipient: str
    message_id: str
    subject: str
    body: str
    created_at: datetime
    attempts: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class TotpEnrollment:
    """A person's authenticator app, as the store keeps it: the secret only
    encrypted (under a key kept outside the store), the last time step a code
    was accepted for (replay), and the unused recovery codes' keyed digests."""

    account_guid: str
    account_name: str
    secret: bytes = field(repr=False)
    last_step: int
    recovery: tuple[str, ...] = field(repr=False)
    enrolled_at: datetime


@dataclass(frozen=True)
class TotpSetup:
    """What the enrollment screen shows once: the new secret (base32), the
    ``otpauth://`` URI its QR code encodes, and the name the app will show."""

    secret: str = field(repr=False)
    uri: str = field(repr=False)
    label: str
