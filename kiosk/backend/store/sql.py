"""The enrollment store, written once in SQL for both engines.

``SqlStore`` holds every query of the ``EnrollmentStore`` protocol, written
with ``?`` placeholders. The engines subclass it and supply a small dialect:

- ``_run(operation)``: a connection for one operation (SQLite: a pool of its
  own with retries while busy; PostgreSQL: a psycopg pool), and the engine's
  errors turned into ``StoreError``;
- ``_execute(conn, sql, params)``: the placeholder style (``?`` or ``%s``);
- ``_write(conn)``: a write transaction (``BEGIN IMMEDIATE`` | ``conn.transaction()``),
  and ``_write_one`` for a write of one statement (PostgreSQL runs it in
  autocommit, SQLite still takes the write lock first);
- ``_lock_failures(conn, key)``: what makes counting one key exact (nothing on
  SQLite, whose ``BEGIN IMMEDIATE`` already serialises writers; a per-key
  advisory lock on PostgreSQL, where several hosts write);
- ``_insert_failure(conn, key, at)``: the new row's id (``lastrowid`` |
  ``RETURNING id``);
- ``FOR_UPDATE``: the row lock of a read-modify-write (PostgreSQL only);
- ``shared_time``: the clock every host reads (the server's on PostgreSQL;
  SQLite has none: one host, whose own clock is everyone's);
- the schema: ``_migrate`` and ``schema_version`` (``PRAGMA user_version`` |
  the ``kiosk_schema`` table), sharing ``_apply_migrations``;
- ``close`` and ``_shown`` (how the store names itself in a repr).
"""

from __future__ import annotations

import json
import logging
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from kiosk.backend.errors import StoreError
from kiosk.backend.model import Enrollment, OutboxNotice, TotpEnrollment
from kiosk.backend.store import common
from kiosk.backend.store.common import (
    ENROLLMENT_COLUMNS,
    PAGE_SIZE,
    decode_answers,
    encode_answers,
    enrollment_from_row,
    enrollment_row,
    in_pages,
    micros,
)

__all__ = ["SqlStore"]

log = logging.getLogger("kiosk.store")

T = TypeVar("T")
#: The engine's connection type.
C = TypeVar("C")


class SqlStore(ABC, Generic[C]):
    #: Appended to the SELECT of a read-modify-write: the engine's row lock, if it needs one.
    FOR_UPDATE = ""
    #: The column types that differ between engines (``common.SQLITE_TYPES`` | ``POSTGRES_TYPES``).
    COLUMN_TYPES: Mapping[str, str] = {}

    def __init__(self) -> None:
        self._secrets: dict[str, bytes] = {}

    # --- the dialect -------------------------------------------------------------------

    @abstractmethod
    def _run(self, operation: Callable[[C], T]) -> T:
        """Run ``operation`` with a connection; every engine error becomes StoreError."""

    @abstractmethod
    def _execute(self, conn: C, sql: str, params: tuple = ()) -> Any:
        """Execute ``sql`` (written with ``?`` placeholders); return the cursor."""

    @abstractmethod
    def _write(self, conn: C) -> AbstractContextManager[Any]:
        """A write transaction: committed on leaving, rolled back on an error."""

    def _write_one(self, conn: C, sql: str, params: tuple = ()) -> Any:
        """A write of one statement."""
        with self._write(conn):
            return self._execute(conn, sql, params)

    def _lock_failures(self, conn: C, key: str) -> None:
        """Inside ``add_failure``'s transaction: make its count of ``key`` exact."""

    @abstractmethod
    def _insert_failure(self, conn: C, key: str, at: float) -> int:
        """Insert one failure row; its id."""

    @abstractmethod
    def _migrate(self, conn: C) -> None:
        """Create the schema, or take it forward to ``common.schema_version()``."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def _shown(self) -> str:
        """Where the store is, fit for a repr (never a password)."""

    def _apply_migrations(self, conn: C, version: int, target: int) -> None:
        for step in range(version, target):
            for statement in common.migration_statements(step, self.COLUMN_TYPES):
                self._execute(conn, statement)
            log.info("store %s: migrated schema to version %d", self._shown, step + 1)

    # --- enrollments -------------------------------------------------------------------

    def get(self, account_guid: str) -> Enrollment | None:
        def op(conn: C) -> Enrollment | None:
            row = self._execute(
                conn, f"SELECT {ENROLLMENT_COLUMNS} FROM enrollment WHERE guid = ?", (account_guid,)
            ).fetchone()
            return None if row is None else enrollment_from_row(row)

        return self._run(op)

    def put(self, enrollment: Enrollment) -> None:
        values = enrollment_row(enrollment)
        self._run(
            lambda conn: self._write_one(
                conn,
                f"INSERT INTO enrollment ({ENROLLMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (guid) DO UPDATE SET "
                "account_name = excluded.account_name, answers = excluded.answers, "
                "enrolled_at = excluded.enrolled_at, last_used_at = excluded.last_used_at",
                values,
            )
        )

    def delete(self, account_guid: str) -> bool:
        return self._run(
            lambda conn: self._write_one(conn, "DELETE FROM enrollment WHERE guid = ?", (account_guid,)).rowcount > 0
        )

    def mark_used(self, account_guid: str, when: datetime) -> None:
        self._run(
            lambda conn: self._write_one(
                conn, "UPDATE enrollment SET last_used_at = ? WHERE guid = ?", (micros(when), account_guid)
            )
        )

    def replace_hash(self, account_guid: str, question_id: str, answer_hash: str) -> None:
        """Swap one answer's hash; nothing happens if there is no such answer."""

        def op(conn: C) -> None:
            with self._write(conn):
                row = self._execute(
                    conn, f"SELECT answers FROM enrollment WHERE guid = ?{self.FOR_UPDATE}", (account_guid,)
                ).fetchone()
                if row is None:
                    return
                updated = common.replace_answer_hash(decode_answers(row[0]), question_id, answer_hash)
                if updated is not None:
                    self._execute(
                        conn, "UPDATE enrollment SET answers = ? WHERE guid = ?", (encode_answers(updated), account_guid)
                    )

        self._run(op)

    def enrollments(self) -> Iterator[Enrollment]:
        """Every enrollment, by guid, read in pages (no transaction held between)."""

        def read_page(after: str) -> list[Enrollment]:
            def op(conn: C) -> list[Enrollment]:
                rows = self._execute(
                    conn,
                    f"SELECT {ENROLLMENT_COLUMNS} FROM enrollment WHERE guid > ? ORDER BY guid LIMIT {PAGE_SIZE}",
                    (after,),
                ).fetchall()
                return [enrollment_from_row(r) for r in rows]

            return self._run(op)

        return in_pages(read_page)

    def count(self) -> int:
        return self._run(lambda conn: int(self._execute(conn, "SELECT count(*) FROM enrollment").fetchone()[0]))

    # --- failure counters ------------------------------------------------------------------

    def add_failure(self, key: str, now: float, window_seconds: float) -> tuple[int, int]:
        def op(conn: C) -> tuple[tuple[int, int], bool]:
            with self._write(conn):
                self._lock_failures(conn, key)
                self._execute(conn, "DELETE FROM failure WHERE key = ? AND at < ?", (key, now - window_seconds))
                failure_id = self._insert_failure(conn, key, now)
                count = self._execute(
                    conn, "SELECT count(*) FROM failure WHERE key = ? AND at >= ?", (key, now - window_seconds)
                ).fetchone()[0]
            return (int(failure_id), int(count)), self._prune_due(conn, now)

        counted, due = self._run(op)
        if due:
            self.prune_failures(now)
        return counted

    def prune_failures(self, now: float) -> None:
        """Forget failure records of every key older than ``FAILURE_RETENTION_SECONDS``
        (but holds, ``HOLD_PREFIX``: they last until cleared),
        at most ``PRUNE_BATCH`` of them, unless another process did within
        ``PRUNE_INTERVAL_SECONDS``. Housekeeping: a failure is logged, never raised
        (the failure that was just counted stays counted)."""

        def op(conn: C) -> None:
            with self._write(conn):
                # One process prunes; one arriving meanwhile waits, then finds it done.
                self._lock_failures(conn, common.PRUNED_KEY)
                if not self._prune_due(conn, now):
                    return
                pruned = self._execute(
                    conn,
                    "DELETE FROM failure WHERE id IN "
                    "(SELECT id FROM failure WHERE at < ? AND key <> ? AND key NOT LIKE ? "
                    f"LIMIT {int(common.PRUNE_BATCH)})",
                    (now - common.FAILURE_RETENTION_SECONDS, common.PRUNED_KEY, common.HOLD_PREFIX + "%"),
                ).rowcount
                if pruned < common.PRUNE_BATCH:  # all done; else the next add_failure goes on
                    self._execute(conn, "DELETE FROM failure WHERE key = ?", (common.PRUNED_KEY,))
                    self._insert_failure(conn, common.PRUNED_KEY, now)

        try:
            self._run(op)
        except StoreError as exc:
            log.warning("store %s: could not prune old failure records: %s", self._shown, exc.detail)

    def _prune_due(self, conn: C, now: float) -> bool:
        """Is the store's last prune (by anyone) more than ``PRUNE_INTERVAL_SECONDS``
        ago, or never, or in the future (a clock was set back)?"""
        last = self._execute(conn, "SELECT max(at) FROM failure WHERE key = ?", (common.PRUNED_KEY,)).fetchone()[0]
        return last is None or not (now - common.PRUNE_INTERVAL_SECONDS <= float(last) <= now)

    def shared_time(self) -> float | None:
        """See ``EnrollmentStore.shared_time``: a store of one host has no clock of its own."""
        return None

    def remove_failure(self, key: str, failure_id: int) -> None:
        self._run(lambda conn: self._write_one(conn, "DELETE FROM failure WHERE id = ? AND key = ?", (failure_id, key)))

    def failures(self, key: str, now: float, window_seconds: float) -> tuple[int, float | None]:
        def op(conn: C) -> tuple[int, float | None]:
            count, newest = self._execute(
                conn, "SELECT count(*), max(at) FROM failure WHERE key = ? AND at >= ?", (key, now - window_seconds)
            ).fetchone()
            return int(count), newest

        return self._run(op)

    def clear_failures(self, key: str) -> None:
        self._run(lambda conn: self._write_one(conn, "DELETE FROM failure WHERE key = ?", (key,)))

    # --- activation codes ----------------------------------------------------------------------

    def put_activation_code(self, account_guid: str, digest: bytes, expires_at: datetime, issued_by: str) -> None:
        self._run(
            lambda conn: self._write_one(
                conn,
                "INSERT INTO activation_code (guid, digest, expires_at, issued_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (guid) DO UPDATE SET digest = excluded.digest, "
                "expires_at = excluded.expires_at, issued_by = excluded.issued_by",
                (account_guid, digest, micros(expires_at), issued_by),
            )
        )

    def activation_code(self, account_guid: str) -> tuple[bytes, datetime, str] | None:
        def op(conn: C) -> tuple[bytes, datetime, str] | None:
            row = self._execute(
                conn, "SELECT digest, expires_at, issued_by FROM activation_code WHERE guid = ?", (account_guid,)
            ).fetchone()
            return None if row is None else (bytes(row[0]), common.from_micros(row[1]), str(row[2]))

        return self._run(op)

    def take_activation_code(self, account_guid: str, digest: bytes, now: datetime) -> bool:
        return self._run(
            lambda conn: self._write_one(
                conn,
                "DELETE FROM activation_code WHERE guid = ? AND digest = ? AND expires_at > ?",
                (account_guid, digest, micros(now)),
            ).rowcount
            > 0
        )

    # --- the outbox of notices (kiosk.backend.notices) -------------------------------------------

    def queue_notice(self, notice: OutboxNotice) -> None:
        """Add a notice to the outbox, due now (``notice.id`` is ignored: the store numbers it)."""
        self._run(lambda conn: self._write_one(conn, *_notice_insert(notice)))

    def claim_notices(self, claim: str, now: datetime, lease_seconds: float, limit: int) -> list[OutboxNotice]:
        """Claim up to ``limit`` due notices nobody else holds, for ``lease_seconds``:
        only the holder of ``claim`` may then mark them sent or failed. Several
        hosts claiming at once get disjoint sets (PostgreSQL: ``FOR UPDATE SKIP
        LOCKED``; SQLite: ``BEGIN IMMEDIATE`` serialises the claims)."""
        at = micros(now)
        until = at + int(lease_seconds * 1_000_000)
        skip = f"{self.FOR_UPDATE} SKIP LOCKED" if self.FOR_UPDATE else ""

        def op(conn: C) -> list[OutboxNotice]:
            with self._write(conn):
                ids = [
                    int(row[0])
                    for row in self._execute(
                        conn,
                        "SELECT id FROM notice WHERE due_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) "
                        f"ORDER BY id LIMIT {int(limit)}{skip}",
                        (at, at),
                    ).fetchall()
                ]
                claimed = []
                for nid in ids:
                    self._execute(conn, "UPDATE notice SET claim = ?, claimed_until = ? WHERE id = ?", (claim, until, nid))
                    row = self._execute(
                        conn, f"SELECT {common.NOTICE_COLUMNS} FROM notice WHERE id = ?", (nid,)
                    ).fetchone()
                    claimed.append(common.notice_from_row(row))
            return claimed

        return self._run(op)

    def notice_done(self, notice_id: int, claim: str) -> bool:
        """Remove a claimed notice (sent, or given up); False if the claim was lost."""
        return self._run(
            lambda conn: self._write_one(
                conn, "DELETE FROM notice WHERE id = ? AND claim = ?", (notice_id, claim)
            ).rowcount
            > 0
        )

    def notice_failed(self, notice_id: int, claim: str, retry_at: datetime, error: str) -> bool:
        """Give a claimed notice back, due again at ``retry_at``; False if the claim was lost."""
        return self._run(
            lambda conn: self._write_one(
                conn,
                "UPDATE notice SET attempts = attempts + 1, due_at = ?, claim = NULL, claimed_until = NULL, "
                "last_error = ? WHERE id = ? AND claim = ?",
                (micros(retry_at), error[:500], notice_id, claim),
            ).rowcount
            > 0
        )

    def notices_waiting(self) -> int:
        """How many notices are in the outbox (due or waiting for a retry)."""
        return self._run(lambda conn: int(self._execute(conn, "SELECT count(*) FROM notice").fetchone()[0]))

    # --- authenticator apps (TOTP) ------------------------------------------------------------

    def put_totp(self, totp: TotpEnrollment) -> None:
        values = common.totp_row(totp)
        self._run(
            lambda conn: self._write_one(
                conn,
                f"INSERT INTO totp ({common.TOTP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guid) DO UPDATE SET account_name = excluded.account_name, "
                "secret = excluded.secret, last_step = excluded.last_step, "
                "recovery = excluded.recovery, enrolled_at = excluded.enrolled_at",
                values,
            )
        )

    def totp(self, account_guid: str) -> TotpEnrollment | None:
        def op(conn: C) -> TotpEnrollment | None:
            row = self._execute(
                conn, f"SELECT {common.TOTP_COLUMNS} FROM totp WHERE guid = ?", (account_guid,)
            ).fetchone()
            return None if row is None else common.totp_from_row(row)

        return self._run(op)

    def use_totp_step(self, account_guid: str, step: int) -> bool:
        """One statement, so two hosts accepting the same code at once cannot both win."""
        return self._run(
            lambda conn: self._write_one(
                conn, "UPDATE totp SET last_step = ? WHERE guid = ? AND last_step < ?", (int(step), account_guid, int(step))
            ).rowcount
            > 0
        )

    def use_recovery_code(self, account_guid: str, digest: str) -> bool:
        def op(conn: C) -> bool:
            with self._write(conn):
                row = self._execute(
                    conn, f"SELECT recovery FROM totp WHERE guid = ?{self.FOR_UPDATE}", (account_guid,)
                ).fetchone()
                if row is None:
                    return False
                codes = json.loads(row[0])
                if digest not in codes:
                    return False
                codes.remove(digest)
                self._execute(
                    conn, "UPDATE totp SET recovery = ? WHERE guid = ?",
                    (json.dumps(codes, separators=(",", ":")), account_guid),
                )
                return True

        return self._run(op)

    def delete_totp(self, account_guid: str) -> bool:
        return self._run(
            lambda conn: self._write_one(conn, "DELETE FROM totp WHERE guid = ?", (account_guid,)).rowcount > 0
        )

    # --- reminders (kiosk.backend.reminders) --------------------------------------------------

    def claim_reminder(
        self, account_guid: str, kind: str, now: datetime, every_seconds: float, notices: list[OutboxNotice]
    ) -> bool:
        """Move the person's ``kind`` reminder to ``now`` unless it was sent
        within ``every_seconds``, and queue ``notices`` in the same transaction;
        True if this caller claimed it. One statement decides: the upsert's
        WHERE runs on the row as committed by any other claimant (PostgreSQL
        waits for its row lock and re-checks; SQLite's ``BEGIN IMMEDIATE``
        serialises), so of several hosts at once exactly one gets the row back."""
        at = micros(now)
        due_before = at - int(every_seconds * 1_000_000)

        def op(conn: C) -> bool:
            with self._write(conn):
                row = self._execute(
                    conn,
                    "INSERT INTO reminder (guid, kind, last_sent) VALUES (?, ?, ?) "
                    "ON CONFLICT (guid, kind) DO UPDATE SET last_sent = excluded.last_sent "
                    "WHERE reminder.last_sent <= ? RETURNING guid",
                    (account_guid, kind, at, due_before),
                ).fetchone()
                if row is None:
                    return False
                for notice in notices:
                    self._execute(conn, *_notice_insert(notice))
            return True

        return self._run(op)

    def reminder_sent(self, account_guid: str, kind: str) -> datetime | None:
        def op(conn: C) -> datetime | None:
            row = self._execute(
                conn, "SELECT last_sent FROM reminder WHERE guid = ? AND kind = ?", (account_guid, kind)
            ).fetchone()
            return None if row is None else common.from_micros(row[0])

        return self._run(op)

    # --- site secrets -------------------------------------------------------------------------

    def site_secret(self, name: str) -> bytes:
        cached = self._secrets.get(name)
        if cached is not None:
            return cached
        value = self._run(lambda conn: self._read_secret(conn, name))
        if value is None:
            value = self.adopt_site_secret(name, secrets.token_bytes(32))
        self._secrets[name] = value
        return value

    def adopt_site_secret(self, name: str, value: bytes) -> bytes:
        def op(conn: C) -> bytes:
            with self._write(conn):
                # A host inserting the same name first wins; its value is the one read back.
                self._execute(
                    conn, "INSERT INTO secret (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, value)
                )
                kept = self._read_secret(conn, name)
            assert kept is not None
            return kept

        return self._run(op)

    def site_secrets(self) -> dict[str, bytes]:
        def op(conn: C) -> dict[str, bytes]:
            names = [row[0] for row in self._execute(conn, "SELECT name FROM secret ORDER BY name").fetchall()]
            return {name: value for name in names if (value := self._read_secret(conn, name)) is not None}

        return self._run(op)

    # --- moving a site to another store (kiosk store copy) ----------------------------------------

    def holds(self) -> dict[str, float]:
        """Every throttle hold (``HOLD_PREFIX`` keys): key -> when it was recorded."""

        def op(conn: C) -> dict[str, float]:
            rows = self._execute(
                conn, "SELECT key, min(at) FROM failure WHERE key LIKE ? GROUP BY key ORDER BY key",
                (common.HOLD_PREFIX + "%",),
            ).fetchall()
            return {str(key): float(at) for key, at in rows}

        return self._run(op)

    def adopt_hold(self, key: str, at: float) -> bool:
        """Record the hold ``key`` unless the store has one already; True if added."""
        if not key.startswith(common.HOLD_PREFIX):
            raise ValueError("not a hold key")

        def op(conn: C) -> bool:
            with self._write(conn):
                self._lock_failures(conn, key)
                if self._execute(conn, "SELECT 1 FROM failure WHERE key = ?", (key,)).fetchone() is not None:
                    return False
                self._insert_failure(conn, key, at)
                return True

        return self._run(op)

    def totps(self) -> Iterator[TotpEnrollment]:
        """Every authenticator app, in pages (the secrets stay encrypted)."""

        def read_page(after: str) -> list[TotpEnrollment]:
            def op(conn: C) -> list[TotpEnrollment]:
                rows = self._execute(
                    conn, f"SELECT {common.TOTP_COLUMNS} FROM totp WHERE guid > ? ORDER BY guid LIMIT {PAGE_SIZE}",
                    (after,),
                ).fetchall()
                return [common.totp_from_row(row) for row in rows]

            return self._run(op)

        return in_pages(read_page)

    def reminders(self) -> list[tuple[str, str, datetime]]:
        """Every reminder sent: (account guid, kind, when last)."""

        def op(conn: C) -> list[tuple[str, str, datetime]]:
            rows = self._execute(conn, "SELECT guid, kind, last_sent FROM reminder ORDER BY guid, kind").fetchall()
            return [(str(guid), str(kind), common.from_micros(at)) for guid, kind, at in rows]

        return self._run(op)

    def adopt_reminder(self, account_guid: str, kind: str, last_sent: datetime) -> bool:
        """Keep the later of this and the store's own time for the reminder; True if it moved."""
        return self._run(
            lambda conn: self._write_one(
                conn,
                "INSERT INTO reminder (guid, kind, last_sent) VALUES (?, ?, ?) "
                "ON CONFLICT (guid, kind) DO UPDATE SET last_sent = excluded.last_sent "
                "WHERE reminder.last_sent < excluded.last_sent",
                (account_guid, kind, micros(last_sent)),
            ).rowcount
            > 0
        )

    def activation_codes(self) -> list[tuple[str, bytes, datetime, str]]:
        """Every activation code: (account guid, digest, expires_at, issued_by)."""

        def op(conn: C) -> list[tuple[str, bytes, datetime, str]]:
            rows = self._execute(
                conn, "SELECT guid, digest, expires_at, issued_by FROM activation_code ORDER BY guid"
            ).fetchall()
            return [(str(g), bytes(d), common.from_micros(e), str(i)) for g, d, e, i in rows]

        return self._run(op)

    def adopt_activation_code(self, account_guid: str, digest: bytes, expires_at: datetime, issued_by: str) -> bool:
        """Keep this code unless the store's own expires later (was issued later); True if kept."""
        return self._run(
            lambda conn: self._write_one(
                conn,
                "INSERT INTO activation_code (guid, digest, expires_at, issued_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (guid) DO UPDATE SET digest = excluded.digest, "
                "expires_at = excluded.expires_at, issued_by = excluded.issued_by "
                "WHERE activation_code.expires_at < excluded.expires_at",
                (account_guid, digest, micros(expires_at), issued_by),
            ).rowcount
            > 0
        )

    def outbox(self) -> list[tuple[OutboxNotice, datetime]]:
        """Every notice waiting in the outbox, with when it is due."""

        def op(conn: C) -> list[tuple[OutboxNotice, datetime]]:
            rows = self._execute(conn, f"SELECT {common.NOTICE_COLUMNS}, due_at FROM notice ORDER BY id").fetchall()
            return [(common.notice_from_row(row[:-1]), common.from_micros(row[-1])) for row in rows]

        return self._run(op)

    def adopt_notice(self, notice: OutboxNotice, due_at: datetime) -> bool:
        """Add a waiting notice (its attempts and last error kept, nobody's claim)
        unless one with its Message-ID is there already; True if added."""

        def op(conn: C) -> bool:
            with self._write(conn):
                there = self._execute(
                    conn, "SELECT 1 FROM notice WHERE message_id = ?", (notice.message_id,)
                ).fetchone()
                if there is not None:
                    return False
                self._execute(
                    conn,
                    "INSERT INTO notice (event, account, reference, recipient, message_id, subject, body, "
                    "created_at, due_at, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (notice.event, notice.account, notice.reference, notice.recipient, notice.message_id,
                     notice.subject, notice.body, micros(notice.created_at), micros(due_at), int(notice.attempts),
                     notice.last_error or None),
                )
                return True

        return self._run(op)

    def _read_secret(self, conn: C, name: str) -> bytes | None:
        row = self._execute(conn, "SELECT value FROM secret WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        value = bytes(row[0])
        if len(value) != 32:
            raise ValueError("secret length")
        return value

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._shown!r})"


def _notice_insert(notice: OutboxNotice) -> tuple[str, tuple]:
    """The statement and values that add ``notice`` to the outbox, due now."""
    at = micros(notice.created_at)
    return (
        "INSERT INTO notice (event, account, reference, recipient, message_id, subject, body, "
        "created_at, due_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (notice.event, notice.account, notice.reference, notice.recipient, notice.message_id,
         notice.subject, notice.body, at, at),
    )
