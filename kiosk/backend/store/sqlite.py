"""The enrollment store in one SQLite file, shared by every kiosk process on a host.

- WAL, so readers never wait for the writer; ``busy_timeout`` plus a bounded
  retry of our own, so "database is locked" never reaches the caller while
  another process is merely busy; every write in ``BEGIN IMMEDIATE``.
- A small pool of connections, each used by one thread at a time (the UI
  calls from short-lived worker threads); a forked child starts its own.
- Schema versioned by ``PRAGMA user_version`` with forward migrations in
  ``MIGRATIONS``; ``PRAGMA application_id`` marks the file as a kiosk store.
- One row per person keyed by objectGUID; the answers are one compact JSON
  array of ``[question id, question text, argon2 hash]``.
- The file (and its -wal/-shm, which SQLite makes with the same mode) is
  0600; its directory is made 0700 if missing.
- Every sqlite3 error becomes ``StoreError`` with a plain detail.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from kiosk.backend.errors import StoreError
from kiosk.backend.model import Enrollment, StoredAnswer

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SqliteStore"]

log = logging.getLogger("kiosk.store")

#: "KIOS" — marks a file as a kiosk store (PRAGMA application_id).
APPLICATION_ID = 0x4B494F53

#: Forward migrations: MIGRATIONS[n] takes the schema from version n to n + 1.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE enrollment (
               guid TEXT PRIMARY KEY NOT NULL,
               account_name TEXT NOT NULL,
               answers TEXT NOT NULL,
               enrolled_at INTEGER NOT NULL,
               last_used_at INTEGER
           )""",
        """CREATE TABLE failure (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               key TEXT NOT NULL,
               at REAL NOT NULL
           )""",
        "CREATE INDEX failure_key_at ON failure (key, at)",
        "CREATE TABLE secret (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)

BUSY_TIMEOUT_MS = 5000
#: Our own retries on top of busy_timeout, for the cases SQLite does not wait on.
RETRIES = 8
#: ... but no new try after this long: a store held locked for good is reported, not waited on.
RETRY_BUDGET_SECONDS = 8.0
#: Failure records older than this are pruned whatever their key.
FAILURE_RETENTION_SECONDS = 30 * 86400
_PRUNE_EVERY = 256
#: Idle connections kept per store object.
_POOL_MAX = 4

T = TypeVar("T")


class SqliteStore:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._guard = threading.Lock()
        self._closed = False
        self._secrets: dict[str, bytes] = {}
        self._writes = 0
        self._create_file()
        self._run(self._migrate)

    # --- connections -----------------------------------------------------------

    def _create_file(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            os.close(fd)
        except PermissionError:
            # Maybe it exists and is only readable: let SQLite say what it can do.
            if not self.path.is_file():
                raise StoreError(f"cannot create the store file {self.path}: permission denied") from None
        except IsADirectoryError:
            raise StoreError(f"the store path {self.path} is a directory") from None
        except OSError as exc:
            raise StoreError(f"cannot create the store file {self.path}: {exc.strerror}") from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # pooled: used by one thread at a time, any thread
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("store %s: journal mode is %s, not wal", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _acquire(self) -> sqlite3.Connection:
        """An idle connection from the pool, or a new one. Worker threads come
        and go, so connections are pooled, not kept per thread: there are never
        more than the most operations that ran at once."""
        with self._guard:
            if self._closed:
                raise StoreError("the store is closed")
            if self._pid != os.getpid():
                # Forked: the parent's connections must not be used (nor closed) here.
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._guard:
            if not self._closed and self._pid == os.getpid() and len(self._idle) < _POOL_MAX:
                self._idle.append(conn)
                return
        conn.close()

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` with a pooled connection, retrying while the
        database is busy; turn every sqlite3 error into StoreError."""
        deadline = time.monotonic() + RETRY_BUDGET_SECONDS
        for attempt in range(RETRIES + 1):
            try:
                conn = self._acquire()
            except sqlite3.Error as exc:
                if _is_busy(exc) and attempt < RETRIES and time.monotonic() < deadline:
                    time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                    continue
                raise StoreError(_describe(exc, self.path)) from None
            try:
                return operation(conn)
            except sqlite3.Error as exc:
                if _is_busy(exc) and attempt < RETRIES and time.monotonic() < deadline:
                    time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                    continue
                raise StoreError(_describe(exc, self.path)) from None
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                # A row we cannot decode: someone else's file, or damage.
                raise StoreError(f"not a kiosk store / corrupt ({type(exc).__name__})") from None
            finally:
                self._release(conn)
        raise AssertionError("unreachable")

    @contextmanager
    def _write(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # Also when COMMIT itself failed (busy, disk full): leave no
            # transaction open, so a retry starts clean and counts once.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if version == SCHEMA_VERSION and app_id == APPLICATION_ID:
            return
        with self._write(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if app_id != 0 or tables:
                    raise StoreError("not a kiosk store / corrupt (another program's database)")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the store's schema version {version} is newer than this kiosk "
                    f"understands ({SCHEMA_VERSION}); upgrade the kiosk"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                log.info("store %s: migrated schema to version %d", self.path, step + 1)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- enrollments -------------------------------------------------------------

    def get(self, account_guid: str) -> Enrollment | None:
        def op(conn: sqlite3.Connection) -> Enrollment | None:
            row = conn.execute(
                "SELECT guid, account_name, answers, enrolled_at, last_used_at "
                "FROM enrollment WHERE guid = ?",
                (account_guid,),
            ).fetchone()
            return None if row is None else _enrollment(row)

        return self._run(op)

    def put(self, enrollment: Enrollment) -> None:
        answers = _encode_answers(enrollment.answers)
        values = (
            enrollment.account_guid,
            enrollment.account_name,
            answers,
            _micros(enrollment.enrolled_at),
            None if enrollment.last_used_at is None else _micros(enrollment.last_used_at),
        )

        def op(conn: sqlite3.Connection) -> None:
            with self._write(conn):
                conn.execute(
                    "INSERT INTO enrollment (guid, account_name, answers, enrolled_at, last_used_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guid) DO UPDATE SET "
                    "account_name = excluded.account_name, answers = excluded.answers, "
                    "enrolled_at = excluded.enrolled_at, last_used_at = excluded.last_used_at",
                    values,
                )

        self._run(op)

    def delete(self, account_guid: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            with self._write(conn):
                return conn.execute("DELETE FROM enrollment WHERE guid = ?", (account_guid,)).rowcount > 0

        return self._run(op)

    def mark_used(self, account_guid: str, when: datetime) -> None:
        def op(conn: sqlite3.Connection) -> None:
            with self._write(conn):
                conn.execute(
                    "UPDATE enrollment SET last_used_at = ? WHERE guid = ?",
                    (_micros(when), account_guid),
                )

        self._run(op)

    def replace_hash(self, account_guid: str, question_id: str, answer_hash: str) -> None:
        """Swap one answer's hash; nothing happens if there is no such answer."""

        def op(conn: sqlite3.Connection) -> None:
            with self._write(conn):
                row = conn.execute(
                    "SELECT answers FROM enrollment WHERE guid = ?", (account_guid,)
                ).fetchone()
                if row is None:
                    return
                answers = _decode_answers(row[0])
                if not any(a.question_id == question_id for a in answers):
                    return
                updated = tuple(
                    StoredAnswer(a.question_id, a.question_text, answer_hash)
                    if a.question_id == question_id
                    else a
                    for a in answers
                )
                conn.execute(
                    "UPDATE enrollment SET answers = ? WHERE guid = ?",
                    (_encode_answers(updated), account_guid),
                )

        self._run(op)

    def enrollments(self) -> Iterator[Enrollment]:
        """Every enrollment, by guid, read in pages (no transaction held between)."""
        after = ""
        while True:

            def op(conn: sqlite3.Connection, after: str = after) -> list[Enrollment]:
                rows = conn.execute(
                    "SELECT guid, account_name, answers, enrolled_at, last_used_at "
                    "FROM enrollment WHERE guid > ? ORDER BY guid LIMIT 500",
                    (after,),
                ).fetchall()
                return [_enrollment(r) for r in rows]

            page = self._run(op)
            if not page:
                return
            yield from page
            after = page[-1].account_guid

    def count(self) -> int:
        return self._run(lambda conn: conn.execute("SELECT count(*) FROM enrollment").fetchone()[0])

    # --- failure counters ------------------------------------------------------------

    def add_failure(self, key: str, now: float, window_seconds: float) -> tuple[int, int]:
        self._writes += 1
        prune = self._writes % _PRUNE_EVERY == 0

        def op(conn: sqlite3.Connection) -> tuple[int, int]:
            with self._write(conn):
                conn.execute("DELETE FROM failure WHERE key = ? AND at < ?", (key, now - window_seconds))
                if prune:
                    conn.execute("DELETE FROM failure WHERE at < ?", (now - FAILURE_RETENTION_SECONDS,))
                failure_id = conn.execute(
                    "INSERT INTO failure (key, at) VALUES (?, ?)", (key, now)
                ).lastrowid
                count = conn.execute(
                    "SELECT count(*) FROM failure WHERE key = ? AND at >= ?",
                    (key, now - window_seconds),
                ).fetchone()[0]
            assert failure_id is not None
            return failure_id, count

        return self._run(op)

    def remove_failure(self, key: str, failure_id: int) -> None:
        def op(conn: sqlite3.Connection) -> None:
            with self._write(conn):
                conn.execute("DELETE FROM failure WHERE id = ? AND key = ?", (failure_id, key))

        self._run(op)

    def failures(self, key: str, now: float, window_seconds: float) -> tuple[int, float | None]:
        def op(conn: sqlite3.Connection) -> tuple[int, float | None]:
            count, newest = conn.execute(
                "SELECT count(*), max(at) FROM failure WHERE key = ? AND at >= ?",
                (key, now - window_seconds),
            ).fetchone()
            return count, newest

        return self._run(op)

    def clear_failures(self, key: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            with self._write(conn):
                conn.execute("DELETE FROM failure WHERE key = ?", (key,))

        self._run(op)

    # --- site secrets -------------------------------------------------------------------

    def site_secret(self, name: str) -> bytes:
        cached = self._secrets.get(name)
        if cached is not None:
            return cached

        def op(conn: sqlite3.Connection) -> bytes:
            row = conn.execute("SELECT value FROM secret WHERE name = ?", (name,)).fetchone()
            if row is None:
                with self._write(conn):
                    conn.execute(
                        "INSERT OR IGNORE INTO secret (name, value) VALUES (?, ?)",
                        (name, secrets.token_bytes(32)),
                    )
                    row = conn.execute("SELECT value FROM secret WHERE name = ?", (name,)).fetchone()
            value = bytes(row[0])
            if len(value) != 32:
                raise ValueError("secret length")
            return value

        value = self._run(op)
        self._secrets[name] = value
        return value

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        with self._guard:
            connections, self._idle = self._idle, []
            self._closed = True
            if self._pid != os.getpid():
                return  # a forked child: the connections are the parent's
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"


# --- encoding ---------------------------------------------------------------------------


def _encode_answers(answers: tuple[StoredAnswer, ...]) -> str:
    return json.dumps(
        [[a.question_id, a.question_text, a.answer_hash] for a in answers],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _decode_answers(text: str) -> tuple[StoredAnswer, ...]:
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("answers")
    return tuple(StoredAnswer(str(qid), str(qtext), str(h)) for qid, qtext, h in data)


def _micros(when: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int) -> datetime:
    seconds, micros = divmod(int(value), 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


def _enrollment(row: tuple) -> Enrollment:
    guid, name, answers, enrolled_at, last_used_at = row
    return Enrollment(
        account_guid=guid,
        account_name=name,
        answers=_decode_answers(answers),
        enrolled_at=_from_micros(enrolled_at),
        last_used_at=None if last_used_at is None else _from_micros(last_used_at),
    )


# --- errors ---------------------------------------------------------------------------------


def _is_busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text


def _describe(exc: sqlite3.Error, path: Path) -> str:
    """Plain words for the log and the audit; never the SQL or the values."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if _is_busy(exc):
        return "locked by another process"
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return f"store file is read-only ({path})"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "disk full"
    if (
        name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
        or "not a database" in text
        or "malformed" in text
        or "no such table" in text
        or "no such column" in text
    ):
        return f"not a kiosk store / corrupt ({path})"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return f"cannot open the store file {path}"
    if name.startswith("SQLITE_PERM") or "permission" in text:
        return f"permission denied on the store file {path}"
    if name.startswith("SQLITE_IOERR") or "disk i/o" in text:
        return f"disk I/O error on the store file {path}"
    return f"store error ({name or type(exc).__name__})"
