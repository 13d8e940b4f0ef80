"""Many kiosk processes sharing one store (a SQLite file on one host, or a
PostgreSQL database for several): counters stay exact, "locked" never escapes."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from kiosk.backend.errors import StoreError
from kiosk.backend.store import open_store
from kiosk.backend.throttle import Throttle
from kiosk.config import ThrottleSettings

PROCESSES = 50
ATTEMPTS = 100

GENEROUS = ThrottleSettings(
    account_max_failures=10**9,
    terminal_max_failures=10**9,
    lifetime_max_failures=10**9,
    window_seconds=86400,
    lock_seconds=60,
    delay_seconds=0,
    max_delay_seconds=0,
)


def _kiosk_process(url: str, worker: int, start, results) -> None:
    errors = 0
    other = 0
    store = open_store(url)
    throttle = Throttle(store, GENEROUS, sleep=lambda s: None)
    start.wait()
    for i in range(ATTEMPTS):
        try:
            attempt = throttle.begin_attempt("shared-account", "shared-terminal")
            throttle.failed(attempt)
        except StoreError:
            errors += 1
        except Exception:  # anything else escaping is a failure too
            other += 1
    store.close()
    results.put((worker, errors, other))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/kiosk.db"
    return request.getfixturevalue("pg_url")


def test_fifty_processes_counting_failures_on_one_store_lose_and_refuse_nothing(store_url):
    open_store(store_url).close()  # created and migrated once, as `kiosk store migrate` would
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    results = ctx.Queue()
    workers = [ctx.Process(target=_kiosk_process, args=(store_url, w, start, results)) for w in range(PROCESSES)]
    for w in workers:
        w.start()
    began = time.monotonic()
    start.set()
    outcomes = [results.get(timeout=240) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    elapsed = time.monotonic() - began
    assert all(w.exitcode == 0 for w in workers)

    store_errors = sum(e for _, e, _ in outcomes)
    other_errors = sum(o for _, _, o in outcomes)
    assert (store_errors, other_errors) == (0, 0)

    with open_store(store_url) as store:
        now = time.time()
        assert store.failures("account:shared-account", now, 86400)[0] == PROCESSES * ATTEMPTS
        assert store.failures("terminal:shared-terminal", now, 86400)[0] == PROCESSES * ATTEMPTS
    print(f"{PROCESSES}x{ATTEMPTS} attempts in {elapsed:.1f}s")
