"""What the SQLite and PostgreSQL stores share: the schema's history, how an
enrollment is encoded in a row, and how a store URL is shown without its password.

Schema: ``MIGRATIONS[n]`` takes a store from version n to n + 1, on either
engine. The statements are written once, with the few column types that differ
between engines as ``{placeholders}`` (``SQLITE_TYPES``, ``POSTGRES_TYPES``), so
version N means the same tables, columns and indexes on both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from kiosk.backend.model import Enrollment, OutboxNotice, StoredAnswer, TotpEnrollment

#: "KIOS": marks a database as a kiosk store (SQLite's PRAGMA application_id,
#: a row of kiosk_schema on PostgreSQL).
APPLICATION_ID = 0x4B494F53

#: Forward migrations, engine-neutral; see ``migration_statements``.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE enrollment (
               guid TEXT PRIMARY KEY NOT NULL,
               account_name TEXT NOT NULL,
               answers TEXT NOT NULL,
               enrolled_at {int64} NOT NULL,
               last_used_at {int64}
           )""",
        """CREATE TABLE failure (
               id {never_reused_id},
               key TEXT NOT NULL,
               at {float64} NOT NULL
           )""",
        "CREATE INDEX failure_key_at ON failure (key, at)",
        "CREATE TABLE secret (name TEXT PRIMARY KEY NOT NULL, value {bytes} NOT NULL)",
    ],
    [
        # One activation code per account, kept only as an HMAC under a site secret.
        """CREATE TABLE activation_code (
               guid TEXT PRIMARY KEY NOT NULL,
               digest {bytes} NOT NULL,
               expires_at {int64} NOT NULL,
               issued_by TEXT NOT NULL
           )""",
    ],
    [
        # Version 3: the outbox of notices (kiosk.backend.notices). A row is
        # written when a change is recorded and deleted once sent or given up;
        # a sender claims rows (claim, claimed_until) so each is sent once.
        """CREATE TABLE notice (
               id {never_reused_id},
               event TEXT NOT NULL,
               account TEXT NOT NULL,
               reference TEXT NOT NULL,
               recipient TEXT NOT NULL,
               message_id TEXT NOT NULL,
               subject TEXT NOT NULL,
               body TEXT NOT NULL,
               created_at {int64} NOT NULL,
               due_at {int64} NOT NULL,
               attempts INTEGER NOT NULL DEFAULT 0,
               claim TEXT,
               claimed_until {int64},
               last_error TEXT
           )""",
        "CREATE INDEX notice_due ON notice (due_at)",
    ],
    [
        # Version 4: a person's authenticator app: the secret encrypted (AES-GCM, key outside
        # the store), the last accepted time step (no replay), and the unused
        # recovery codes as keyed digests (a JSON array of hex strings).
        """CREATE TABLE totp (
               guid TEXT PRIMARY KEY NOT NULL,
               account_name TEXT NOT NULL,
               secret {bytes} NOT NULL,
               last_step {int64} NOT NULL,
               recovery TEXT NOT NULL,
               enrolled_at {int64} NOT NULL
            )""",
    ],
    [
        # Version 5: the
        # reminders sent (kiosk.backend.reminders), one row per person and kind
        # ("enroll", "expiry", "factor") with when the last one was queued: a reminder is
        # claimed by moving last_sent forward, in the transaction that queues
        # its notice, so each is sent once per interval across hosts.
        """CREATE TABLE reminder (
               guid TEXT NOT NULL,
               kind TEXT NOT NULL,
               last_sent {int64} NOT NULL,
               PRIMARY KEY (guid, kind)
           )""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)

SQLITE_TYPES = {
    "int64": "INTEGER",
    "float64": "REAL",
    "bytes": "BLOB",
    # AUTOINCREMENT: an id is never handed out twice, even after its row is deleted.
    "never_reused_id": "INTEGER PRIMARY KEY AUTOINCREMENT",
}
POSTGRES_TYPES = {
    "int64": "BIGINT",
    "float64": "DOUBLE PRECISION",
    "bytes": "BYTEA",
    # A sequence never goes back, whatever is deleted or rolled back.
    "never_reused_id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}

#: Failure records older than this are pruned whatever their key (a key's own
#: records are pruned by its window each time a failure is added to it) ...
FAILURE_RETENTION_SECONDS = 30 * 86400
#: ... by the first add_failure, of any process on any host, once the store's
#: last prune is this old: the schedule lives in the store, not in a process
#: (a kiosk process serves one session and seldom adds many failures).
PRUNE_INTERVAL_SECONDS = 600
#: At most this many records are pruned by one add_failure; more left over are
#: pruned by the next ones (the "last pruned" time is kept only once all are).
PRUNE_BATCH = 1000
#: The failure-table key whose one record holds the time of the store's last
#: prune (the table serves as it is: no schema change). No throttle key looks like it.
PRUNED_KEY = "store:last-pruned"
#: Failure-table keys with this prefix are never pruned by age: the throttle's
#: hold on an account past its consecutive-failure cap lasts until cleared.
HOLD_PREFIX = "hold:"


def schema_version() -> int:
    """The version this kiosk writes (read at call time: tests add steps)."""
    return len(MIGRATIONS)


def migration_statements(step: int, types: Mapping[str, str]) -> list[str]:
    """The statements that take a store from version ``step`` to ``step + 1``."""
    return [statement.format_map(types) for statement in MIGRATIONS[step]]


def newer_schema_message(version: int) -> str:
    return (
        f"the store's schema version {version} is newer than this kiosk "
        f"understands ({schema_version()}); upgrade the kiosk"
    )


# --- rows -----------------------------------------------------------------------------

#: The columns of an enrollment row, in the order ``enrollment_from_row`` reads them.
ENROLLMENT_COLUMNS = "guid, account_name, answers, enrolled_at, last_used_at"


def encode_answers(answers: tuple[StoredAnswer, ...]) -> str:
    """One compact JSON array of ``[question id, question text, argon2 hash]``."""
    return json.dumps(
        [[a.question_id, a.question_text, a.answer_hash] for a in answers],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def decode_answers(text: str) -> tuple[StoredAnswer, ...]:
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("answers")
    return tuple(StoredAnswer(str(qid), str(qtext), str(h)) for qid, qtext, h in data)


def replace_answer_hash(
    answers: tuple[StoredAnswer, ...], question_id: str, answer_hash: str
) -> tuple[StoredAnswer, ...] | None:
    """``answers`` with one hash swapped, or None when there is no such question."""
    if not any(a.question_id == question_id for a in answers):
        return None
    return tuple(
        StoredAnswer(a.question_id, a.question_text, answer_hash) if a.question_id == question_id else a
        for a in answers
    )


def micros(when: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    seconds, fraction = divmod(int(value), 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=fraction)


def enrollment_row(enrollment: Enrollment) -> tuple[str, str, str, int, int | None]:
    """The values of ``ENROLLMENT_COLUMNS`` for one enrollment."""
    return (
        enrollment.account_guid,
        enrollment.account_name,
        encode_answers(enrollment.answers),
        micros(enrollment.enrolled_at),
        None if enrollment.last_used_at is None else micros(enrollment.last_used_at),
    )


def enrollment_from_row(row: tuple) -> Enrollment:
    guid, name, answers, enrolled_at, last_used_at = row
    return Enrollment(
        account_guid=guid,
        account_name=name,
        answers=decode_answers(answers),
        enrolled_at=from_micros(enrolled_at),
        last_used_at=None if last_used_at is None else from_micros(last_used_at),
    )


#: The columns of a notice row, in the order ``notice_from_row`` reads them.
NOTICE_COLUMNS = "id, event, account, reference, recipient, message_id, subject, body, created_at, attempts, last_error"


def notice_from_row(row: tuple) -> OutboxNotice:
    nid, event, account, reference, recipient, message_id, subject, body, created_at, attempts, last_error = row
    return OutboxNotice(
        id=int(nid), event=event, account=account, reference=reference, recipient=recipient,
        message_id=message_id, subject=subject, body=body, created_at=from_micros(created_at),
        attempts=int(attempts), last_error=last_error or "",
    )


#: The columns of a totp row, in the order ``totp_from_row`` reads them.
TOTP_COLUMNS = "guid, account_name, secret, last_step, recovery, enrolled_at"


def totp_row(totp: TotpEnrollment) -> tuple[str, str, bytes, int, str, int]:
    return (
        totp.account_guid,
        totp.account_name,
        totp.secret,
        int(totp.last_step),
        json.dumps(list(totp.recovery), separators=(",", ":")),
        micros(totp.enrolled_at),
    )


def totp_from_row(row: tuple) -> TotpEnrollment:
    guid, name, secret, last_step, recovery, enrolled_at = row
    codes = json.loads(recovery)
    if not isinstance(codes, list):
        raise ValueError("recovery")
    return TotpEnrollment(
        account_guid=str(guid),
        account_name=str(name),
        secret=bytes(secret),
        last_step=int(last_step),
        recovery=tuple(str(code) for code in codes),
        enrolled_at=from_micros(enrolled_at),
    )


# --- store URLs -------------------------------------------------------------------------

_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


#: Enrollments read per page when listing them all.
PAGE_SIZE = 500


#: What ``in_pages`` reads: rows of one person each, ordered by guid.
Paged = TypeVar("Paged", Enrollment, TotpEnrollment)


def in_pages(read_page: Callable[[str], list[Paged]]) -> Iterator[Paged]:
    """Every enrollment (or authenticator app) by guid, ``read_page(after_guid)`` giving the next
    PAGE_SIZE of them: no transaction is held between pages, so a report over
    100k people never blocks a kiosk's write."""
    after = ""
    while page := read_page(after):
        yield from page
        after = page[-1].account_guid


def redact_url(url: str) -> str:
    """``url`` fit for a message, a log line or a repr: any password replaced by ***.

    Errs on the side of hiding: everything between ``://`` and the last ``@``
    is taken as the user part, so a password with a stray ``@`` or ``/`` in it
    (which a URL should have percent-encoded) is still hidden.
    """
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        userinfo, _, after = rest.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if colon:
            rest = f"{user}:***@{after}"
    return _PASSWORD_PARAMETER.sub(r"\1***", f"{scheme}{sep}{rest}")
