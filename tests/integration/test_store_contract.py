"""One store test suite for both engines: what a store keeps, counts and refuses,
whether it is the SQLite file of one kiosk host or the PostgreSQL database of several.

Engine-specific behaviour lives beside it: tests/unit/test_store_sqlite.py
(WAL, the file's mode, PRAGMAs) and tests/integration/test_store_postgres.py
(connection loss, the password in the URL).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kiosk.backend.errors import StoreError
from kiosk.backend.model import StoredAnswer
from kiosk.backend.store import common, open_store
from store_samples import GUID, HASH, enrollment



@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/kiosk.db"
    return request.getfixturevalue("pg_url")  # starts the cluster only when a PostgreSQL case runs


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
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
    assert len(common.encode_answers(e.answers).encode()) < 600


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


def _old_failure(store, key: str, at: float) -> None:
    """A failure record written behind the store's back (no add_failure, so no prune)."""
    store._run(lambda conn: store._insert_failure(conn, key, at))


def test_old_failures_of_keys_never_seen_again_are_pruned_by_the_next_process(store_url):
    # A kiosk process serves one session: it counts a failure or two in its whole life.
    with _opened(store_url) as one_visit:
        one_visit.add_failure("account:typed-once", 0.0, 900)  # a name nobody types again
        one_visit.add_failure("terminal:gone", 0.0, 900)  # a terminal taken away
    later = common.FAILURE_RETENTION_SECONDS + 1.0
    with _opened(store_url) as next_visit:
        next_visit.add_failure("terminal:tty1", later, 900)
        assert next_visit.failures("account:typed-once", later, 10**9) == (0, None)
        assert next_visit.failures("terminal:gone", later, 10**9) == (0, None)
        assert next_visit.failures("terminal:tty1", later, 900) == (1, later)


def test_holds_are_never_pruned_by_age_only_cleared(store_url):
    # The throttle's hold past the consecutive-failure cap lasts until someone clears it.
    hold = f"{common.HOLD_PREFIX}account:account:held"
    with _opened(store_url) as first:
        first.add_failure(hold, 0.0, 0.0)
        first.add_failure("account:account:held", 0.0, 900)
    later = 3 * common.FAILURE_RETENTION_SECONDS
    with _opened(store_url) as next_visit:
        next_visit.add_failure("terminal:tty1", later, 900)  # prunes
        assert next_visit.failures("account:account:held", later, later) == (0, None)
        assert next_visit.failures(hold, later, later) == (1, 0.0)
        next_visit.clear_failures(hold)
        assert next_visit.failures(hold, later, later) == (0, None)


def test_the_store_is_pruned_at_most_once_an_interval_whoever_adds(store_url):
    start = common.FAILURE_RETENTION_SECONDS + 1000.0
    with _opened(store_url) as first:
        first.add_failure("terminal:tty1", start, 900)  # prunes: never pruned before
    with _opened(store_url) as second:
        _old_failure(second, "account:old", 1.0)
        second.add_failure("terminal:tty2", start + common.PRUNE_INTERVAL_SECONDS - 1, 900)
        assert second.failures("account:old", 1.0, 10)[0] == 1  # not yet: pruned moments ago
    with _opened(store_url) as third:
        third.add_failure("terminal:tty3", start + common.PRUNE_INTERVAL_SECONDS + 1, 900)
        assert third.failures("account:old", 1.0, 10)[0] == 0


def test_one_prune_is_bounded_and_the_next_adds_go_on_until_done(store_url, monkeypatch):
    monkeypatch.setattr(common, "PRUNE_BATCH", 2)
    later = common.FAILURE_RETENTION_SECONDS + 100.0
    with _opened(store_url) as store:
        for n in range(5):
            _old_failure(store, f"account:old-{n}", float(n))
        left = []
        for step in range(4):
            store.add_failure("terminal:tty1", later + step, 900)
            left.append(sum(store.failures(f"account:old-{n}", 0.0, 10**9)[0] for n in range(5)))
        assert left == [3, 1, 0, 0]
        assert store.failures("terminal:tty1", later + 3, 900)[0] == 4  # recent records are kept


def test_a_failed_prune_never_fails_the_count(store, monkeypatch, caplog):
    from kiosk.backend.errors import StoreError as Refused

    calls = []
    real_run = type(store)._run

    def run(self, operation):
        calls.append(operation)
        if len(calls) == 2:  # the prune, after the count
            raise Refused("disk full")
        return real_run(self, operation)

    monkeypatch.setattr(type(store), "_run", run)
    assert store.add_failure("k", 10.0, 100)[1] == 1
    assert len(calls) == 2 and "could not prune old failure records: disk full" in caplog.text
    monkeypatch.undo()
    assert store.failures("k", 10.0, 100)[0] == 1


def test_threads_at_once_all_see_the_same_data(store):
    store.put(enrollment())
    seen, errors = [], []

    def worker():
        try:
            store.add_failure("t", 10.0, 100)
            seen.append(store.get(GUID) is not None)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert seen == [True] * 8
    assert store.failures("t", 10.0, 100)[0] == 8


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(store):
    store.put(enrollment())  # the parent has a connection now
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            store.add_failure("child", 1.0, 100)
            code = 0 if store.get(GUID) is not None else 3
            store.close()
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.failures("child", 1.0, 100)[0] == 1  # and the parent's connection still works


# --- site secrets ---------------------------------------------------------------------------


def test_an_activation_code_is_kept_replaced_and_used_up_once(store):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    later = now + timedelta(hours=72)
    assert store.activation_code(GUID) is None
    store.put_activation_code(GUID, b"\x01" * 32, later, "admin")
    assert store.activation_code(GUID) == (b"\x01" * 32, later, "admin")
    store.put_activation_code(GUID, b"\x02" * 32, later, "root")  # a new code replaces the old
    assert store.take_activation_code(GUID, b"\x01" * 32, now) is False
    assert store.take_activation_code(GUID, b"\x02" * 32, later) is False  # expired then
    assert store.take_activation_code(GUID, b"\x02" * 32, now) is True
    assert store.take_activation_code(GUID, b"\x02" * 32, now) is False  # single use
    assert store.activation_code(GUID) is None


def _totp(**changes):
    from kiosk.backend.model import TotpEnrollment

    values = dict(account_guid=GUID, account_name="DEMO\\alice", secret=b"\x01sealed\x00bytes", last_step=100,
                  recovery=("d1", "d2", "d3"), enrolled_at=datetime(2026, 3, 1, tzinfo=UTC))
    return TotpEnrollment(**{**values, **changes})


def test_an_authenticator_comes_back_as_it_was_put_and_is_replaced_whole(store):
    assert store.totp(GUID) is None
    store.put_totp(_totp())
    assert store.totp(GUID) == _totp()
    store.put_totp(_totp(secret=b"other", last_step=7, recovery=("x",)))
    assert store.totp(GUID) == _totp(secret=b"other", last_step=7, recovery=("x",))


def test_a_time_step_is_accepted_once_and_never_an_earlier_one(store):
    store.put_totp(_totp(last_step=100))
    assert not store.use_totp_step(GUID, 100)  # the confirming code's step
    assert not store.use_totp_step(GUID, 99)
    assert store.use_totp_step(GUID, 101)
    assert not store.use_totp_step(GUID, 101)  # replay
    assert store.totp(GUID).last_step == 101
    assert not store.use_totp_step("no-such-guid", 500)


def test_a_recovery_code_is_used_up_once(store):
    store.put_totp(_totp())
    assert store.use_recovery_code(GUID, "d2")
    assert not store.use_recovery_code(GUID, "d2")
    assert not store.use_recovery_code(GUID, "nope")
    assert not store.use_recovery_code("no-such-guid", "d1")
    assert store.totp(GUID).recovery == ("d1", "d3")


def test_two_threads_using_the_same_step_or_code_at_once_win_once(store):
    store.put_totp(_totp())
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def use(kind: str) -> None:
        barrier.wait()
        results.append(store.use_totp_step(GUID, 200) if kind == "step" else store.use_recovery_code(GUID, "d1"))

    threads = [threading.Thread(target=use, args=(kind,)) for kind in ("step", "step", "code", "code")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, True, True]


def test_an_authenticator_can_be_removed(store):
    store.put_totp(_totp())
    assert store.delete_totp(GUID)
    assert not store.delete_totp(GUID)
    assert store.totp(GUID) is None


def test_a_site_secret_is_made_once_and_kept_for_good(store_url):
    with _opened(store_url) as one:
        secret = one.site_secret("decoys")
        assert len(secret) == 32
        assert one.site_secret("decoys") == secret
        assert one.site_secret("other") != secret
    with _opened(store_url) as two:
        assert two.site_secret("decoys") == secret
        assert two.site_secrets() == {"decoys": secret, "other": two.site_secret("other")}


def test_a_site_secret_is_adopted_only_where_there_is_none(store):
    mine = bytes(range(32))
    assert store.adopt_site_secret("decoys", mine) == mine
    assert store.adopt_site_secret("decoys", bytes(32)) == mine  # the first one stays
    assert store.site_secret("decoys") == mine


def test_two_stores_asking_at_once_get_the_same_site_secret(store_url):
    stores = [open_store(store_url) for _ in range(4)]
    got: list[bytes] = []
    barrier = threading.Barrier(len(stores))

    def ask(s):
        barrier.wait()
        got.append(s.site_secret("decoys"))

    threads = [threading.Thread(target=ask, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(got) == 4 and len(set(got)) == 1


# --- the schema and the life of a store ------------------------------------------------------


class _opened:
    def __init__(self, url: str, **kwargs) -> None:
        self.store = open_store(url, **kwargs)

    def __enter__(self):
        return self.store

    def __exit__(self, *exc):
        self.store.close()


def test_a_new_store_is_at_this_kiosks_schema_version(store):
    assert store.schema_version() == common.SCHEMA_VERSION


def test_reopening_an_existing_store_keeps_its_data(store_url):
    with _opened(store_url) as s:
        s.put(enrollment())
    with _opened(store_url) as s:
        assert s.get(GUID) == enrollment()


def test_an_older_schema_is_migrated_forward(store_url, monkeypatch):
    with _opened(store_url) as s:
        s.put(enrollment())
    extra = [*common.MIGRATIONS, ["CREATE TABLE extra (x {int64})"]]
    monkeypatch.setattr(common, "MIGRATIONS", extra)
    with _opened(store_url, migrate=False) as s:
        assert s.schema_version() == len(extra) - 1  # looked at, not changed
    with _opened(store_url) as s:
        assert s.get(GUID) == enrollment()
        assert s.schema_version() == len(extra)


def test_a_schema_newer_than_this_kiosk_is_refused_in_words(store_url, monkeypatch):
    extra = [*common.MIGRATIONS, ["CREATE TABLE extra (x {int64})"]]
    monkeypatch.setattr(common, "MIGRATIONS", extra)
    open_store(store_url).close()  # a newer kiosk made it
    monkeypatch.undo()
    with pytest.raises(StoreError, match="newer than this kiosk understands"):
        open_store(store_url)


def test_using_a_closed_store_is_a_store_error(store_url):
    s = open_store(store_url)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.count()


# --- the outbox of notices (kiosk.backend.notices) ---------------------------------------------


def _notice(n: int = 1, *, at: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)):
    from kiosk.backend.model import OutboxNotice

    return OutboxNotice(
        id=0, event="reset", account=f"DEMO\\user{n}", reference=f"K-00000{n}", recipient=f"user{n}@demo.example",
        message_id=f"<n{n}@demo.example>", subject="Your password was reset", body=f"Hello {n}\nÜber", created_at=at,
    )


def test_a_queued_notice_is_claimed_once_then_done(store):
    store.queue_notice(_notice(1))
    now = datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
    claimed = store.claim_notices("a", now, 300, 10)
    assert [(n.recipient, n.body, n.attempts, n.created_at) for n in claimed] == [
        ("user1@demo.example", "Hello 1\nÜber", 0, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    ]
    assert store.claim_notices("b", now, 300, 10) == []  # held by a
    assert store.notice_done(claimed[0].id, "b") is False  # not b's to finish
    assert store.notice_done(claimed[0].id, "a") is True
    assert store.notices_waiting() == 0


def test_a_failed_notice_waits_for_its_retry_and_counts_its_attempts(store):
    store.queue_notice(_notice(1))
    now = datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
    (first,) = store.claim_notices("a", now, 300, 10)
    assert store.notice_failed(first.id, "a", now + timedelta(minutes=2), "connection refused") is True
    assert store.claim_notices("b", now + timedelta(minutes=1), 300, 10) == []
    (again,) = store.claim_notices("b", now + timedelta(minutes=2), 300, 10)
    assert (again.id, again.attempts, again.last_error) == (first.id, 1, "connection refused")
    assert store.notices_waiting() == 1


def test_an_expired_claim_lets_another_sender_take_the_notice(store):
    store.queue_notice(_notice(1))
    now = datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
    (held,) = store.claim_notices("a", now, 60, 10)
    (taken,) = store.claim_notices("b", now + timedelta(seconds=61), 60, 10)
    assert taken.id == held.id
    assert store.notice_failed(held.id, "a", now, "late") is False  # a lost it
    assert store.notice_done(taken.id, "b") is True


def test_claims_take_the_oldest_first_up_to_the_limit(store):
    for n in range(1, 6):
        store.queue_notice(_notice(n))
    now = datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
    first = store.claim_notices("a", now, 300, 3)
    rest = store.claim_notices("b", now, 300, 3)
    assert [n.account for n in first] == ["DEMO\\user1", "DEMO\\user2", "DEMO\\user3"]
    assert [n.account for n in rest] == ["DEMO\\user4", "DEMO\\user5"]


def test_senders_claiming_at_once_get_disjoint_sets(store_url):
    stores = [open_store(store_url) for _ in range(4)]
    try:
        for n in range(1, 41):
            stores[0].queue_notice(_notice(n))
        now = datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
        got: dict[int, list[int]] = {}
        barrier = threading.Barrier(len(stores))

        def claim(i: int) -> None:
            barrier.wait()
            ids: list[int] = []
            while batch := stores[i].claim_notices(f"s{i}", now, 300, 3):
                ids += [n.id for n in batch]
            got[i] = ids

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        every = [nid for ids in got.values() for nid in ids]
        assert len(every) == 40 and len(set(every)) == 40
    finally:
        for s in stores:
            s.close()


# --- reminders (kiosk.backend.reminders) ----------------------------------------------------------

DAY = 86400.0


def test_a_reminder_is_claimed_once_per_interval_with_its_notice(store):
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert store.reminder_sent(GUID, "enroll") is None
    assert store.claim_reminder(GUID, "enroll", t0, 7 * DAY, [_notice(1, at=t0)]) is True
    assert store.reminder_sent(GUID, "enroll") == t0
    assert store.notices_waiting() == 1
    # within the interval: not again, and no notice queued
    assert store.claim_reminder(GUID, "enroll", t0 + timedelta(days=6), 7 * DAY, [_notice(2, at=t0)]) is False
    assert store.notices_waiting() == 1 and store.reminder_sent(GUID, "enroll") == t0
    # another kind and another person are their own
    assert store.claim_reminder(GUID, "expiry", t0, 7 * DAY, []) is True
    assert store.claim_reminder("other-guid", "enroll", t0, 7 * DAY, []) is True
    # once the interval is over: again
    later = t0 + timedelta(days=7)
    assert store.claim_reminder(GUID, "enroll", later, 7 * DAY, [_notice(3, at=later)]) is True
    assert store.reminder_sent(GUID, "enroll") == later
    assert store.notices_waiting() == 2


def test_a_reminder_whose_notice_cannot_be_queued_is_not_recorded(store):
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    broken = dataclasses.replace(_notice(1, at=t0), subject=None)  # NOT NULL: the insert fails
    with pytest.raises(StoreError):
        store.claim_reminder(GUID, "enroll", t0, DAY, [broken])
    assert store.reminder_sent(GUID, "enroll") is None and store.notices_waiting() == 0
    assert store.claim_reminder(GUID, "enroll", t0, DAY, [_notice(1, at=t0)]) is True


def test_hosts_claiming_the_same_reminders_at_once_claim_each_once(store_url):
    stores = [open_store(store_url) for _ in range(4)]
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    try:
        got: dict[int, list[str]] = {}
        barrier = threading.Barrier(len(stores))

        def claim(i: int) -> None:
            barrier.wait()
            # each "host" a few microseconds apart, as their clocks would be
            now = t0 + timedelta(microseconds=i)
            got[i] = [f"g{n}" for n in range(25) if stores[i].claim_reminder(f"g{n}", "enroll", now, DAY, [_notice(n, at=now)])]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        every = [g for claimed in got.values() for g in claimed]
        assert sorted(every) == sorted(f"g{n}" for n in range(25))  # each exactly once
        assert stores[0].notices_waiting() == 25
    finally:
        for s in stores:
            s.close()
