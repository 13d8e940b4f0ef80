"""The enrollment store in one SQLite file, shared by every kiosk process on a host.

The queries are ``SqlStore``'s (``sql.py``); this is SQLite's dialect of them:

- WAL, so readers never wait for the writer; ``busy_timeout`` plus a bounded
  retry of our own, so "database is locked" never reaches the caller while
  another process is merely busy; every write in ``BEGIN IMMEDIATE``.
- A small pool of connections, each used by one thread at a time (the UI
  calls from short-lived worker threads); a forked child starts its own.
- Schema versioned by ``PRAGMA user_version`` with the forward migrations
  both engines share (``common.MIGRATIONS``); ``PRAGMA application_id`` marks
  the file as a kiosk store.
- One row per person keyed by objectGUID; the answers are one compact JSON
  array of ``[question id, question text, argon2 hash]``.
- The file (and its -wal/-shm, which SQLite makes with the same mode) is
  0600; its directory is made 0700 if missing.
- Every sqlite3 error becomes ``StoreError`` with a plain detail.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from kiosk.backend.errors import StoreError
from kiosk.backend.store import common
from kiosk.backend.store.common import APPLICATION_ID, SQLITE_TYPES
from kiosk.backend.store.sql import SqlStore

__all__ = ["APPLICATION_ID", "SqliteStore"]

log = logging.getLogger("kiosk.store")

BUSY_TIMEOUT_MS = 5000
#: Our own retries on top of busy_timeout, for the cases SQLite does not wait on.
RETRIES = 8
#: ... but no new try after this long: a store held locked for good is reported, not waited on.
RETRY_BUDGET_SECONDS = 8.0
#: Idle connections kept per store object.
_POOL_MAX = 4

T = TypeVar("T")


class SqliteStore(SqlStore[sqlite3.Connection]):
    COLUMN_TYPES = SQLITE_TYPES

    def __init__(self, path: str | os.PathLike[str], *, migrate: bool = True) -> None:
        super().__init__()
        self.path = Path(path)
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._guard = threading.Lock()
        self._closed = False
        self._create_file()
        if migrate:  # else opened as it is, only to be looked at (kiosk check, store migrate)
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

    def _execute(self, conn: sqlite3.Connection, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        return conn.execute(sql, params)

    def _insert_failure(self, conn: sqlite3.Connection, key: str, at: float) -> int:
        failure_id = conn.execute("INSERT INTO failure (key, at) VALUES (?, ?)", (key, at)).lastrowid
        assert failure_id is not None
        return failure_id

    # --- schema --------------------------------------------------------------------------

    def _migrate(self, conn: sqlite3.Connection) -> None:
        target = common.schema_version()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if version == target and app_id == APPLICATION_ID:
            return
        with self._write(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if app_id != 0 or tables:
                    raise StoreError("not a kiosk store / corrupt (another program's database)")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if version > target:
                raise StoreError(common.newer_schema_message(version))
            self._apply_migrations(conn, version, target)
            conn.execute(f"PRAGMA user_version = {target}")

    def schema_version(self) -> int:
        return self._run(lambda conn: conn.execute("PRAGMA user_version").fetchone()[0])

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

    @property
    def _shown(self) -> str:
        return str(self.path)


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
