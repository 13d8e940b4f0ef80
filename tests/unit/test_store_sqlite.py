"""The SQLite enrollment store: its file, its locks and its errors.

What every store keeps and counts is tested on both engines in
tests/integration/test_store_contract.py.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time

import pytest

from kiosk.backend.errors import StoreError
from kiosk.backend.store import open_store
from kiosk.backend.store import sqlite as sqlite_module
from kiosk.backend.store.common import APPLICATION_ID, SCHEMA_VERSION
from kiosk.backend.store.sqlite import SqliteStore
from store_samples import GUID, enrollment



@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "kiosk.db")
    yield s
    s.close()


# --- the file --------------------------------------------------------------------------------


def test_the_store_makes_its_directory_and_a_private_file(tmp_path):
    path = tmp_path / "deep" / "er" / "kiosk.db"
    with SqliteStore(path) as s:
        s.put(enrollment())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_store_uses_wal_and_marks_its_schema(store):
    store.count()
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_open_store_reads_a_sqlite_url(tmp_path):
    s = open_store(f"sqlite://{tmp_path}/x.db")
    try:
        assert isinstance(s, SqliteStore)
        assert s.count() == 0
    finally:
        s.close()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"this is a text file, certainly not sqlite " * 200)
    with pytest.raises(StoreError) as caught:
        SqliteStore(path)
    assert "not a kiosk store / corrupt" in caught.value.detail


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a kiosk store"):
        SqliteStore(path)


def test_a_damaged_row_is_a_store_error_not_a_crash(store):
    store.put(enrollment())
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE enrollment SET answers = 'not json'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="corrupt"):
        store.get(GUID)


def test_a_directory_in_the_way_is_a_store_error(tmp_path):
    (tmp_path / "kiosk.db").mkdir()
    with pytest.raises(StoreError):
        SqliteStore(tmp_path / "kiosk.db")


@pytest.mark.parametrize(
    "error, code, words",
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "SQLITE_READONLY", "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "SQLITE_FULL", "disk full"),
        (sqlite3.DatabaseError("database disk image is malformed"), "SQLITE_CORRUPT", "corrupt"),
        (sqlite3.OperationalError("unable to open database file"), "SQLITE_CANTOPEN", "cannot open"),
        (sqlite3.OperationalError("database is locked"), "SQLITE_BUSY", "locked by another process"),
    ],
)
def test_sqlite_errors_become_store_errors_in_plain_words(store, monkeypatch, error, code, words):
    error.sqlite_errorname = code
    monkeypatch.setattr(sqlite_module, "RETRIES", 1)
    monkeypatch.setattr(sqlite_module.time, "sleep", lambda s: None)

    def boom(conn):
        raise error

    with pytest.raises(StoreError) as caught:
        store._run(boom)
    assert words in caught.value.detail
    assert not isinstance(caught.value, sqlite3.Error)
    assert "SELECT" not in caught.value.detail


def test_a_briefly_locked_database_is_retried_not_reported(store, monkeypatch):
    monkeypatch.setattr(sqlite_module.time, "sleep", lambda s: None)
    calls = []

    def flaky(conn):
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "ok"

    assert store._run(flaky) == "ok"
    assert len(calls) == 3


def test_a_writer_holding_the_lock_briefly_does_not_fail_a_put(store):
    store.count()
    blocker = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.3, lambda: blocker.execute("COMMIT"))
    timer.start()
    try:
        store.put(enrollment())  # waits for the other writer, then succeeds
    finally:
        timer.join()
        blocker.close()
    assert store.get(GUID) is not None


def test_a_database_locked_for_good_is_reported_within_a_bounded_time(store, monkeypatch):
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(sqlite_module, "RETRY_BUDGET_SECONDS", 0.5)
    slow = SqliteStore(store.path)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked by another process"):
            slow.put(enrollment())
        assert time.monotonic() - started < 3
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        slow.close()


def test_short_lived_worker_threads_do_not_leak_connections(store):
    store.count()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(100):
        t = threading.Thread(target=store.count)
        t.start()
        t.join()
    assert len(os.listdir("/proc/self/fd")) <= before + 2
    assert len(store._idle) <= sqlite_module._POOL_MAX