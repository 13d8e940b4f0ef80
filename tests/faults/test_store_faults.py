"""The enrollment store in trouble, for real: held locked by another process,
on a read-only mount, on a full disk (a 1 MB tmpfs).

Every case fails closed: no answer is checked without being counted, the
person reads plain words, the audit log says what happened, and an earlier
enrollment survives whole.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.backend.audit import read_events
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import StoreError
from kiosk.backend.wiring import build_service
from kiosk.backend.store import sqlite as sqlite_store
from kiosk.cli import demo_settings
from kiosk.messages import error_text
from support import fast

USERS = (DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),)
FIRST = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
SECOND = [("birth-city", "Rome"), ("first-pet", "Tom"), ("childhood-street", "Elm")]
STORE_WORDS = "Your security questions cannot be reached just now. Please try again later."

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")


def _service(workdir: Path, store: Path):
    settings = fast(demo_settings(workdir), store={"url": f"sqlite://{store}"})
    return build_service(settings, directory=DemoDirectory(USERS))


def _enroll(service, answers) -> None:
    visit = service.begin("alice", "tty1")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, answers)


def _verify(service, answers):
    visit = service.begin("alice", "tty1")
    service.challenge(visit)
    service.verify(visit, [a for _, a in answers])
    return visit


def _errors(workdir: Path) -> list[dict]:
    return [e for e in read_events(workdir / "audit.jsonl") if e["outcome"] == "error"]


def _count_checks(service, monkeypatch) -> list[str]:
    """Every answer the hasher is asked to compare, real or decoy."""
    calls: list[str] = []
    hasher = service._hasher
    real, decoy = hasher.verify, hasher.decoy_verify
    monkeypatch.setattr(hasher, "verify", lambda *a: calls.append("real") or real(*a))
    monkeypatch.setattr(hasher, "decoy_verify", lambda *a: calls.append("decoy") or decoy(*a))
    return calls


@contextlib.contextmanager
def _tmpfs(where: Path, size: str = "1m"):
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


# --- locked -------------------------------------------------------------------------

_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(120)
"""


def test_a_store_held_locked_fails_closed_in_bounded_time(tmp_path, monkeypatch):
    store = tmp_path / "kiosk.db"
    service = _service(tmp_path, store)
    _enroll(service, FIRST)
    checks = _count_checks(service, monkeypatch)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        visit = service.begin("alice", "tty1")
        service.challenge(visit)  # WAL: reading still works
        began = time.monotonic()
        with pytest.raises(StoreError) as failure:
            service.verify(visit, [a for _, a in FIRST])  # even the right answers
        waited = time.monotonic() - began
    finally:
        holder.kill()
        holder.wait()
    # Bounded: SQLite's busy timeout, retried until our budget ran out (about 10 s).
    budget = sqlite_store.RETRY_BUDGET_SECONDS + sqlite_store.BUSY_TIMEOUT_MS / 1000
    assert sqlite_store.BUSY_TIMEOUT_MS / 1000 <= waited <= budget + 1, waited
    print(f"locked store: StoreError after {waited:.1f} s")
    assert failure.value.detail == "locked by another process"
    assert error_text(failure.value) == STORE_WORDS
    assert not visit.verified and checks == []  # no answer checked uncounted
    assert [(e["event"], e["reason"]) for e in _errors(tmp_path)] == [
        ("verify", "store_unavailable: locked by another process")
    ]
    # The lock is gone: the same person gets in, and nothing was left counted.
    assert _verify(service, FIRST).verified
    service.close()


# --- read-only ------------------------------------------------------------------------


@needs_root
def test_a_read_only_store_refuses_to_start_and_keeps_the_enrollment(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    service = _service(tmp_path, data / "kiosk.db")
    _enroll(service, FIRST)
    service.close()
    readonly = tmp_path / "ro"
    readonly.mkdir()
    subprocess.run(["mount", "--bind", str(data), str(readonly)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(readonly)], check=True)
        # A kiosk that cannot count failures must not check answers: it does not start.
        with pytest.raises(StoreError) as failure:
            _service(tmp_path, readonly / "kiosk.db")
        assert "Read-only file system" in failure.value.detail and str(readonly) in failure.value.detail
        assert error_text(failure.value) == STORE_WORDS
        # A writer already running when the mount went read-only: the same fail-closed
        # path as a full disk (below); writes raise, nothing is half-done.
    finally:
        subprocess.run(["umount", str(readonly)], check=False)
    service = _service(tmp_path, data / "kiosk.db")
    assert _verify(service, FIRST).verified
    service.close()


# --- disk full --------------------------------------------------------------------------


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 65536)
    with contextlib.suppress(OSError), open(filler, "ab", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 512)
    return filler


@needs_root
def test_a_full_disk_keeps_the_old_enrollment_whole(tmp_path, monkeypatch):
    with _tmpfs(tmp_path / "small") as disk:
        store = disk / "kiosk.db"
        service = _service(tmp_path, store)  # the audit log is elsewhere (tmp_path)
        _enroll(service, FIRST)
        before = service._store.get(service.begin("alice", "tty1").account.guid)
        filler = _fill(disk)

        with pytest.raises(StoreError) as failure:
            _enroll(service, SECOND)
        assert failure.value.detail == "disk full"
        assert error_text(failure.value) == STORE_WORDS

        # The old answers are there, whole; the new ones nowhere.
        visit = service.begin("alice", "tty1")
        assert [q.id for q in service.challenge(visit)] == [q for q, _ in FIRST]
        assert service._store.get(visit.account.guid) == before
        # Verifying needs a counted attempt, which cannot be written: closed.
        checks = _count_checks(service, monkeypatch)
        with pytest.raises(StoreError):
            service.verify(visit, [a for _, a in FIRST])
        assert not visit.verified and checks == []
        assert [(e["event"], e["reason"]) for e in _errors(tmp_path)] == [
            ("enroll", "store_unavailable: disk full"),
            ("verify", "store_unavailable: disk full"),
        ]
        service.close()

        filler.unlink()
        with sqlite3.connect(store) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        service = _service(tmp_path, store)
        assert _verify(service, FIRST).verified
        _enroll(service, SECOND)  # with room again, the new answers go in
        assert _verify(service, SECOND).verified
        service.close()
