"""The PostgreSQL store's own troubles: the server goes away and comes back,
the URL carries a password, the database is someone else's.

What every store keeps and counts is in test_store_contract.py (both engines).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from kiosk.backend.audit import read_events
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import ConfigError, StoreError
from kiosk.backend.wiring import build_service
from kiosk.backend.store import open_store, postgres
from kiosk.backend.store.postgres import PostgresStore
from kiosk.cli import demo_settings
from kiosk.messages import error_text
from store_samples import GUID, enrollment
from support import fast

USERS = (DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
STORE_WORDS = "Your security questions cannot be reached just now. Please try again later."


def _password_of(cluster) -> list[str]:
    """The password as it may appear: plain, and percent-encoded as in the URL."""
    return [cluster.password, quote(cluster.password, safe="")]


def _service(workdir: Path, url: str):
    settings = fast(demo_settings(workdir), store={"url": url})
    return build_service(settings, directory=DemoDirectory(USERS))


def _verify(service, answers) -> bool:
    visit = service.begin("alice", "tty1")
    service.challenge(visit)
    service.verify(visit, answers)
    return visit.verified


# --- the server goes away ------------------------------------------------------------------


def test_a_lost_server_fails_closed_and_the_kiosk_works_again_once_it_is_back(
    tmp_path, pg_cluster, pg_url, monkeypatch, caplog
):
    monkeypatch.setattr(postgres, "WAIT_SECONDS", 2.0)
    service = _service(tmp_path, pg_url)
    visit = service.begin("alice", "setup")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, ANSWERS)
    assert _verify(service, [a for _, a in ANSWERS])  # the pool holds a live connection now

    checked: list[str] = []
    hasher = service._hasher
    real = hasher.verify
    monkeypatch.setattr(hasher, "verify", lambda *a: checked.append("real") or real(*a))
    pg_cluster.stop_server()
    try:
        for _ in range(2):  # the dead pooled connection, then no server at all
            began = time.monotonic()
            with pytest.raises(StoreError) as lost:
                _verify(service, [a for _, a in ANSWERS])  # even the right answers
            assert time.monotonic() - began < postgres.WAIT_SECONDS + 5
            assert error_text(lost.value) == STORE_WORDS
            assert "database server 127.0.0.1" in lost.value.detail
        assert checked == []  # nothing was checked without being counted
    finally:
        pg_cluster.start_server()

    # Back: the very next visit works, on a new connection the pool made by itself.
    assert _verify(service, [a for _, a in ANSWERS])
    service.close()
    reasons = [e["reason"] for e in read_events(tmp_path / "audit.jsonl") if e["outcome"] == "error"]
    assert len(reasons) == 2 and all(r.startswith("store_unavailable: ") for r in reasons)
    everything = " ".join(reasons) + caplog.text
    assert not any(p in everything for p in _password_of(pg_cluster))


def test_a_store_that_was_never_reachable_says_so_in_bounded_time(pg_cluster):
    closed_port = pg_cluster.url("x").replace(f":{pg_cluster.port}/", ":1/")
    began = time.monotonic()
    with pytest.raises(StoreError) as failure:
        PostgresStore(closed_port, wait_seconds=1.0)
    assert time.monotonic() - began < 6
    assert "127.0.0.1:1/x" in failure.value.detail
    assert not any(p in failure.value.detail for p in _password_of(pg_cluster))


# --- the password in the URL ------------------------------------------------------------------


def test_the_password_in_the_url_is_never_shown(pg_cluster, pg_url, caplog, monkeypatch):
    monkeypatch.setattr(postgres, "WAIT_SECONDS", 1.0)
    caplog.set_level(logging.DEBUG)
    with open_store(pg_url) as store:
        shown = [repr(store), str(store.url)]
    wrong = pg_url.replace(quote(pg_cluster.password, safe=""), "not-the-password")
    with pytest.raises(StoreError) as refused:
        open_store(wrong)
    with pytest.raises(ConfigError) as unknown:
        open_store(pg_url.replace("postgresql://", "mysql://"))
    shown += [refused.value.detail, str(refused.value), str(unknown.value), caplog.text]
    assert "refused the login" in refused.value.detail
    assert "kiosk:***@127.0.0.1" in shown[0]
    for text in shown:
        assert not any(p in text for p in _password_of(pg_cluster)), text


def test_psycopg_errors_become_plain_words_without_sql(pg_url):
    with open_store(pg_url) as store:
        with pytest.raises(StoreError) as failure:
            store._run(lambda conn: conn.execute("SELECT * FROM no_such_table WHERE secret = 'hunter2'"))
    assert "not a kiosk store" in failure.value.detail
    assert "SELECT" not in failure.value.detail and "hunter2" not in failure.value.detail


# --- whose database ---------------------------------------------------------------------------


def test_another_programs_database_is_refused(pg_cluster, pg_url):
    name = pg_url.rsplit("/", 1)[1]
    pg_cluster.admin_sql(name, "CREATE TABLE customers (name TEXT)")
    with pytest.raises(StoreError, match="not a kiosk store"):
        open_store(pg_url)


def test_hosts_starting_together_migrate_once(pg_url):
    import threading

    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def start_a_host():
        barrier.wait()
        try:
            open_store(pg_url).close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start_a_host) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with open_store(pg_url) as store:
        store.put(enrollment())
        assert store.get(GUID) == enrollment()


# --- whose clock ------------------------------------------------------------------------------


def test_hosts_with_skewed_clocks_still_count_exactly(pg_url):
    """Failure times are the database server's: two hosts 1,000 s either side of
    it, guessing one person's answers in turn, get the limit and no more."""
    from kiosk.backend.errors import Throttled
    from kiosk.backend.throttle import Throttle
    from kiosk.config import ThrottleSettings

    limits = ThrottleSettings(
        account_max_failures=5, terminal_max_failures=1000, window_seconds=900, lock_seconds=900, delay_seconds=0
    )
    stores = [open_store(pg_url) for _ in range(2)]
    hosts = [
        Throttle(store, limits, clock=lambda skew=skew: time.time() + skew, sleep=lambda s: None)
        for store, skew in zip(stores, (1000.0, -1000.0))
    ]
    went_ahead = 0
    for guess in range(40):
        host = hosts[guess % 2]
        try:
            attempt = host.begin_attempt("alice", f"tty-{guess % 2}")
        except Throttled as refused:
            assert 0 < refused.retry_after <= limits.lock_seconds
            continue
        went_ahead += 1
        host.failed(attempt)
    assert went_ahead == limits.account_max_failures
    for host in hosts:
        status = host.status("alice")
        assert status.failures == limits.account_max_failures and status.locked_until is not None
    for store in stores:
        store.close()
