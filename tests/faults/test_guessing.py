"""Guessing: many wrong answers for one account, from several kiosk processes at once.

Each worker process is its own kiosk (its own SelfService) on the same SQLite
store, as on a multi-terminal host. Every attempt must end as either a checked,
counted failure or a Throttled refusal; never more than the limit get checked.
"""

from __future__ import annotations

import collections
import multiprocessing
import time
from pathlib import Path

import pytest

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import Throttled, VerificationFailed
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.messages import error_text
from support import fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),
)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
ACCOUNT_LIMIT = 7
PROCESSES = 4
ATTEMPTS_EACH = 250


def _settings(workdir: Path, **throttle):
    limits = {"account_max_failures": ACCOUNT_LIMIT, "terminal_max_failures": 100_000,
              "window_seconds": 86_400, "lock_seconds": 86_400, **throttle}
    return fast(demo_settings(workdir), throttle=limits, audit={"file": workdir / "audit.jsonl"})


def _service(workdir: Path, **throttle):
    return build_service(_settings(workdir, **throttle), directory=DemoDirectory(USERS))


def _enroll(service, name: str, password: str) -> None:
    visit = service.begin(name, "setup")
    service.prove_password(visit, password)
    service.enroll(visit, ANSWERS)


def _guess(service, name: str, terminal: str) -> str:
    visit = service.begin(name, terminal)
    service.challenge(visit)
    try:
        service.verify(visit, ["wrong", "wrong", "wrong"])
    except VerificationFailed:
        return "failed"
    except Throttled:
        return "throttled"
    return "verified"


def _worker(workdir: str, index: int, start, results) -> None:
    service = _service(Path(workdir))
    try:
        start.wait(30)  # all processes begin together: the most contention
        outcomes = collections.Counter(_guess(service, "alice", f"tty-p{index}") for _ in range(ATTEMPTS_EACH))
        results.put(dict(outcomes))
    finally:
        service.close()


def test_a_thousand_guesses_from_four_processes_are_all_counted_and_capped(tmp_path):
    setup = _service(tmp_path)
    _enroll(setup, "alice", "Demo!Alice1")
    context = multiprocessing.get_context("fork")
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(str(tmp_path), i, start, results)) for i in range(PROCESSES)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    totals: collections.Counter[str] = collections.Counter()
    for _ in workers:
        totals.update(results.get(timeout=60))
    for worker in workers:
        worker.join(10)
        assert worker.exitcode == 0
    elapsed = time.monotonic() - began

    assert sum(totals.values()) == PROCESSES * ATTEMPTS_EACH
    # Exactly the limit were checked (and failed); every other one was refused.
    assert totals == {"failed": ACCOUNT_LIMIT, "throttled": PROCESSES * ATTEMPTS_EACH - ACCOUNT_LIMIT}, elapsed
    visit = setup.begin("alice", "check")
    status = setup._throttle.status(visit.throttle_key)
    assert status.failures == ACCOUNT_LIMIT and status.locked_until is not None

    # The audit log has one line per attempt, and says which was which.
    from kiosk.backend.audit import read_events

    verify_events = collections.Counter(
        e["outcome"] for e in read_events(tmp_path / "audit.jsonl") if e["event"] == "verify"
    )
    assert verify_events == {"failure": ACCOUNT_LIMIT, "throttled": PROCESSES * ATTEMPTS_EACH - ACCOUNT_LIMIT}

    # The person reads words, not a count: and even the right answers are refused now.
    visit = setup.begin("alice", "tty-p0")
    setup.challenge(visit)
    with pytest.raises(Throttled) as refused:
        setup.verify(visit, [a for _, a in ANSWERS])
    assert "Too many attempts" in error_text(refused.value)

    # Another account on the same terminal is not throttled by alice's count.
    _enroll(setup, "bob", "Demo!Bob22")
    visit = setup.begin("bob", "tty-p0")
    setup.challenge(visit)
    setup.verify(visit, [a for _, a in ANSWERS])
    assert visit.verified
    setup.close()


def test_the_terminal_limit_stops_guessing_across_accounts(tmp_path):
    service = _service(tmp_path, account_max_failures=100, terminal_max_failures=5)
    names = ["nobody1", "nobody2", "alice", "bob", "nobody3"]
    assert [_guess(service, name, "tty-hall") for name in names] == ["failed"] * 5
    # The sixth try from that terminal is refused, whoever it is for...
    assert _guess(service, "nobody4", "tty-hall") == "throttled"
    assert _guess(service, "alice", "tty-hall") == "throttled"
    status = service._throttle.terminal_status("tty-hall")
    assert status.failures == 5 and status.locked_until is not None
    # ... while another terminal still works for the same people.
    assert _guess(service, "alice", "tty-lobby") == "failed"
    service.close()


class _Interleaved:
    """A store whose first add_failure lets another kiosk run a whole attempt
    first: the moment between one process's lock check and its count."""

    def __init__(self, store, other) -> None:
        self._store, self._other, self.fired = store, other, False

    def add_failure(self, key, now, window):
        if not self.fired:
            self.fired = True
            self._other()
        return self._store.add_failure(key, now, window)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_the_last_allowed_attempt_is_not_given_twice_when_two_kiosks_race(tmp_path):
    from kiosk.backend.store.sqlite import SqliteStore
    from kiosk.backend.throttle import Throttle

    limits = _settings(tmp_path, account_max_failures=3).throttle
    store = SqliteStore(tmp_path / "race.db")
    other = Throttle(store, limits)
    for _ in range(2):
        other.failed(other.begin_attempt("alice", "tty2"))
    went_ahead = []
    racer = Throttle(_Interleaved(store, lambda: went_ahead.append(other.begin_attempt("alice", "tty2"))), limits)
    with pytest.raises(Throttled):
        racer.begin_attempt("alice", "tty1")
    assert len(went_ahead) == 1  # the other kiosk had the third and last attempt
    assert other.status("alice").failures == 3
    assert racer.terminal_status("tty1").failures == 0  # the refused attempt was taken back
    store.close()
