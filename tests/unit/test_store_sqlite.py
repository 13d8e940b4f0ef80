"""The SQLite enrollment store: what it keeps, how it fails, and how it grows."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kiosk.backend.errors import StoreError
from kiosk.backend.model import Enrollment, StoredAnswer
from kiosk.backend.store import open_store
from kiosk.backend.store import common
from kiosk.backend.store import sqlite as sqlite_module
from kiosk.backend.store.common import APPLICATION_ID, SCHEMA_VERSION
from kiosk.backend.store.sqlite import SqliteStore

GUID = "0b6d1c5e-2f2a-4c3e-9a51-6f1d2f5d7e10"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def enrollment(guid: str = GUID, **changes) -> Enrollment:
    data = dict(
        account_guid=guid,
        account_name="CORP\\ada",
        answers=(
            StoredAnswer("birth-city", "In which city or town were you born?", HASH),
            StoredAnswer("first-pet", "What was the name of your first pet?", HASH + "1"),
            StoredAnswer("first-concert", "What was the first concert you went to?", HASH + "2"),
        ),
        enrolled_at=datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
        last_used_at=None,
    )
    data.update(changes)
    return Enrollment(**data)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "kiosk.db")
    yield s
    s.close()


# --- enrollments -----------------------------------------------------------------


def test_an_enrollment_comes_back_as_it_was_put(store):
    e = enrollment()
    store.put(e)
    assert store.get(GUID) == e
    assert store.count() == 1


def test_an_unknown_guid_has_no_enrollment(store):
    assert store.get("no-such-guid") is None


def test_putting_again_replaces_the_whole_enrollment(store):
    store.put(enrollment())
    newer = enrollment(answers=(StoredAnswer("first-school", "School?", HASH),),
                       enrolled_at=datetime(2025, 1, 1, tzinfo=UTC))
    store.put(newer)
    assert store.get(GUID) == newer
    assert store.count() == 1


def test_times_keep_their_instant_and_come_back_in_utc(store):
    paris = timezone(timedelta(hours=2))
    store.put(enrollment(enrolled_at=datetime(2024, 5, 1, 14, 0, tzinfo=paris)))
    got = store.get(GUID)
    assert got.enrolled_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert got.enrolled_at.tzinfo is not None


def test_marking_used_records_when(store):
    store.put(enrollment())
    when = datetime(2024, 6, 1, 8, 0, 0, 5, tzinfo=UTC)
    store.mark_used(GUID, when)
    assert store.get(GUID).last_used_at == when


def test_revoking_removes_the_enrollment_and_says_whether_there_was_one(store):
    store.put(enrollment())
    assert store.delete(GUID) is True
    assert store.get(GUID) is None
    assert store.delete(GUID) is False


def test_one_hash_can_be_replaced_after_a_parameter_change(store):
    store.put(enrollment())
    store.replace_hash(GUID, "first-pet", "$argon2id$new")
    got = store.get(GUID)
    assert [a.answer_hash for a in got.answers] == [HASH, "$argon2id$new", HASH + "2"]
    store.replace_hash(GUID, "not-enrolled", "$argon2id$x")  # nothing happens
    store.replace_hash("nobody", "first-pet", "$argon2id$x")
    assert store.get(GUID) == got


def test_all_enrollments_can_be_listed_in_pages(store):
    for i in range(1203):
        store.put(enrollment(guid=f"guid-{i:05d}"))
    listed = list(store.enrollments())
    assert len(listed) == 1203 == store.count()
    assert len({e.account_guid for e in listed}) == 1203


def test_an_enrollment_with_three_answers_takes_well_under_a_kilobyte(store):
    e = enrollment()
    store.put(e)
    encoded = common.encode_answers(e.answers)
    assert len(encoded.encode()) < 600


def test_unicode_names_and_texts_survive(store):
    e = enrollment(account_name="CORP\\zoë", answers=(StoredAnswer("q", "Où êtes-vous né ? 🏠", HASH),))
    store.put(e)
    assert store.get(GUID) == e


# --- failure counters -------------------------------------------------------------------


def test_failures_count_within_the_window_only(store):
    for t in (100.0, 200.0, 300.0):
        store.add_failure("account:x", t, 150)
    assert store.failures("account:x", 300.0, 150) == (2, 300.0)
    assert store.failures("account:x", 1000.0, 150) == (0, None)
    assert store.failures("account:other", 300.0, 150) == (0, None)


def test_adding_a_failure_returns_its_id_and_the_count_now(store):
    first, n1 = store.add_failure("k", 10.0, 100)
    second, n2 = store.add_failure("k", 11.0, 100)
    assert (n1, n2) == (1, 2)
    assert first != second


def test_a_failure_can_be_taken_back_but_only_for_its_key(store):
    fid, _ = store.add_failure("k", 10.0, 100)
    store.remove_failure("other", fid)
    assert store.failures("k", 10.0, 100)[0] == 1
    store.remove_failure("k", fid)
    assert store.failures("k", 10.0, 100)[0] == 0


def test_failure_ids_are_never_reused(store):
    fid, _ = store.add_failure("k", 10.0, 100)
    store.remove_failure("k", fid)
    again, _ = store.add_failure("k", 10.0, 100)
    assert again > fid


def test_clearing_failures_forgets_only_that_key(store):
    store.add_failure("a", 10.0, 100)
    store.add_failure("b", 10.0, 100)
    store.clear_failures("a")
    assert store.failures("a", 10.0, 100)[0] == 0
    assert store.failures("b", 10.0, 100)[0] == 1


def test_old_failures_of_other_keys_are_pruned_eventually(store, monkeypatch):
    monkeypatch.setattr(common, "PRUNE_EVERY", 1)
    store.add_failure("gone", 0.0, 10)
    store.add_failure("new", common.FAILURE_RETENTION_SECONDS + 100.0, 10)
    rows = sqlite3.connect(store.path).execute("SELECT key FROM failure").fetchall()
    assert rows == [("new",)]


# --- site secrets ---------------------------------------------------------------------------


def test_a_site_secret_is_made_once_and_kept_for_good(tmp_path):
    path = tmp_path / "kiosk.db"
    with SqliteStore(path) as one:
        secret = one.site_secret("decoys")
        assert len(secret) == 32
        assert one.site_secret("decoys") == secret
        assert one.site_secret("other") != secret
    with SqliteStore(path) as two:
        assert two.site_secret("decoys") == secret


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


def test_reopening_an_existing_store_keeps_its_data(tmp_path):
    path = tmp_path / "kiosk.db"
    with SqliteStore(path) as s:
        s.put(enrollment())
    with SqliteStore(path) as s:
        assert s.get(GUID) == enrollment()


def test_an_older_schema_is_migrated_forward(tmp_path, monkeypatch):
    path = tmp_path / "kiosk.db"
    with SqliteStore(path) as s:
        s.put(enrollment())
    extra = [*common.MIGRATIONS, ["CREATE TABLE extra (x {int64})"]]
    monkeypatch.setattr(common, "MIGRATIONS", extra)
    with SqliteStore(path) as s:
        assert s.get(GUID) == enrollment()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(extra)
    conn.execute("SELECT count(*) FROM extra")


def test_a_newer_schema_is_refused_in_words(tmp_path):
    path = tmp_path / "kiosk.db"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this kiosk understands"):
        SqliteStore(path)


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


def test_using_a_closed_store_is_a_store_error(tmp_path):
    s = SqliteStore(tmp_path / "kiosk.db")
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.count()


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


def test_threads_at_once_all_see_the_same_data(store):
    store.put(enrollment())
    seen, errors = [], []

    def worker(i):
        try:
            store.add_failure("t", 10.0, 100)
            seen.append(store.get(GUID) is not None)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert seen == [True] * 8
    assert store.failures("t", 10.0, 100)[0] == 8


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection(store):
    store.put(enrollment())
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            store.add_failure("child", 1.0, 100)
            code = 0 if store.get(GUID) is not None else 3
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.failures("child", 1.0, 100)[0] == 1
