"""Throttling: every attempt counts before it is checked; locks hold; store trouble fails closed."""

from __future__ import annotations

import pytest

from kiosk.backend.errors import StoreError, Throttled
from kiosk.backend.store.sqlite import SqliteStore
from kiosk.backend.throttle import Throttle, ThrottleStatus
from kiosk.config import ThrottleSettings


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "kiosk.db")
    yield s
    s.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sleeps():
    return Sleeps()


def make(store, clock, sleeps, **changes) -> Throttle:
    values = dict(
        account_max_failures=3,
        terminal_max_failures=10,
        window_seconds=600,
        lock_seconds=900,
        delay_seconds=1.0,
        max_delay_seconds=8.0,
    )
    values.update(changes)
    return Throttle(store, ThrottleSettings(**values), clock=clock, sleep=sleeps, monotonic=lambda: 0.0)


def fail(throttle, account="ada", terminal="tty1") -> float:
    return throttle.failed(throttle.begin_attempt(account, terminal))


def test_an_attempt_counts_as_a_failure_before_anything_is_checked(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    throttle.begin_attempt("ada", "tty1")
    # The process could die here, mid-verification: the attempt is already counted.
    assert throttle.status("ada") == ThrottleStatus(failures=1, locked_until=None, consecutive_failures=1)
    assert throttle.terminal_status("tty1").failures == 1


def test_a_successful_attempt_is_taken_back_and_clears_earlier_failures(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    fail(throttle)
    fail(throttle, terminal="tty2")
    attempt = throttle.begin_attempt("ada", "tty1")
    throttle.succeeded(attempt)
    assert throttle.status("ada").failures == 0
    # the terminal keeps the earlier genuine failure, not this attempt's
    assert throttle.terminal_status("tty1").failures == 1


def test_reaching_the_limit_lets_that_attempt_proceed_but_refuses_the_next(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    fail(throttle)
    fail(throttle)
    third = throttle.begin_attempt("ada", "tty1")  # counted: 3 of 3, still goes ahead
    throttle.failed(third)
    clock.advance(5)
    with pytest.raises(Throttled) as caught:
        throttle.begin_attempt("ada", "tty1")
    assert caught.value.retry_after == pytest.approx(895)
    assert throttle.status("ada").locked_until == pytest.approx(clock.now - 5 + 900)


def test_the_attempt_that_reaches_a_limit_says_so_and_no_other(store, clock, sleeps):
    """What tells the owner (UseCase._failed): only the attempt that locks, or
    holds, the account; never the terminal's lock, never the attempts before."""
    throttle = make(store, clock, sleeps, lifetime_max_failures=6, terminal_max_failures=2)
    attempts = []
    for _ in range(6):
        attempt = throttle.begin_attempt("ada", f"tty{len(attempts)}")
        throttle.failed(attempt)
        attempts.append((attempt.locks_account, attempt.holds_account))
        clock.advance(901 if attempt.locks_account else 1)  # a lock waited out
    assert attempts == [(False, False), (False, False), (True, False), (False, False), (False, False), (True, True)]
    terminal_only = throttle.begin_attempt("bob", "tty9")
    throttle.failed(terminal_only)
    assert not throttle.begin_attempt("cy", "tty9").locks_account  # tty9 locked by this one: not an account's


def test_a_refused_attempt_is_not_counted(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    for _ in range(3):
        fail(throttle)
    for _ in range(5):
        with pytest.raises(Throttled):
            throttle.begin_attempt("ada", "tty1")
    assert throttle.status("ada").failures == 3


def test_the_lock_lasts_its_full_time_even_when_failures_leave_the_window(store, clock, sleeps):
    throttle = make(store, clock, sleeps, window_seconds=60, lock_seconds=1800)
    for _ in range(3):
        fail(throttle)
    clock.advance(600)  # the failures are out of the 60 s window
    assert throttle.status("ada").failures == 0
    with pytest.raises(Throttled):
        throttle.begin_attempt("ada", "tty1")
    clock.advance(1201)
    throttle.begin_attempt("ada", "tty1")


def test_the_lock_ends_after_lock_seconds(store, clock, sleeps):
    throttle = make(store, clock, sleeps, window_seconds=3600, lock_seconds=900)
    for _ in range(3):
        fail(throttle)
    clock.advance(899)
    with pytest.raises(Throttled):
        throttle.begin_attempt("ada", "tty1")
    clock.advance(2)
    # Failures are still in the window (3 >= 3): locked until newest + lock only.
    assert throttle.status("ada").locked_until is None
    throttle.begin_attempt("ada", "tty1")


def test_failures_older_than_the_window_do_not_count(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    fail(throttle)
    fail(throttle)
    clock.advance(601)
    fail(throttle)
    fail(throttle)
    assert throttle.status("ada").failures == 2
    throttle.begin_attempt("ada", "tty1")


def test_a_terminal_guessing_many_accounts_is_locked(store, clock, sleeps):
    throttle = make(store, clock, sleeps, terminal_max_failures=4)
    for name in ["a", "b", "c", "d"]:
        fail(throttle, account=name)
    with pytest.raises(Throttled):
        throttle.begin_attempt("e", "tty1")
    throttle.begin_attempt("e", "tty2")  # another terminal is fine


def test_a_locked_account_is_locked_on_every_terminal(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    for terminal in ["tty1", "tty2", "tty3"]:
        fail(throttle, terminal=terminal)
    with pytest.raises(Throttled):
        throttle.begin_attempt("ada", "tty9")


def test_the_pause_after_a_failure_doubles_up_to_the_maximum(store, clock, sleeps):
    throttle = make(store, clock, sleeps, account_max_failures=100, delay_seconds=1.0, max_delay_seconds=5.0)
    delays = [fail(throttle) for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert sleeps == delays


def test_the_pause_is_counted_from_the_attempts_start_so_every_failure_answers_after_the_same_time(
    store, clock, sleeps
):
    """A real account's wrong password costs the DC a bad-password write that
    an unknown name's decoy cannot copy; the pause hides it: both failures end
    one delay after their attempt began, whatever the work took."""
    elapsed = iter([0.0, 0.030, 10.0, 10.004])  # began, failed: 30 ms of work, then 4 ms
    throttle = Throttle(
        store,
        ThrottleSettings(account_max_failures=100, delay_seconds=1.0, max_delay_seconds=1.0),
        clock=clock,
        sleep=sleeps,
        monotonic=lambda: next(elapsed),
    )
    assert fail(throttle, "ada") == 1.0
    assert fail(throttle, "nobody") == 1.0
    assert sleeps == pytest.approx([0.970, 0.996])


def test_work_longer_than_the_delay_adds_no_pause(store, clock, sleeps):
    elapsed = iter([0.0, 2.5])
    throttle = Throttle(store, ThrottleSettings(delay_seconds=1.0), clock=clock, sleep=sleeps, monotonic=lambda: next(elapsed))
    assert fail(throttle) == 1.0
    assert sleeps == []


def test_no_pause_when_the_delay_is_zero(store, clock, sleeps):
    throttle = make(store, clock, sleeps, delay_seconds=0)
    assert fail(throttle) == 0
    assert sleeps == []


def test_the_helpdesk_can_clear_an_account(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    for _ in range(3):
        fail(throttle)
    throttle.clear("ada")
    assert throttle.status("ada") == ThrottleStatus(0, None)
    throttle.begin_attempt("ada", "tty1")


def test_a_success_after_a_concurrent_lock_unlocks_the_account(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    fail(throttle)
    fail(throttle)
    mine = throttle.begin_attempt("ada", "tty1")  # reaches 3: locks the next
    throttle.succeeded(mine)  # ...but it was the real person
    assert throttle.status("ada") == ThrottleStatus(0, None)
    throttle.begin_attempt("ada", "tty1")


def test_counters_are_shared_by_every_throttle_on_the_same_store(tmp_path, clock, sleeps):
    path = tmp_path / "shared.db"
    one = make(SqliteStore(path), clock, sleeps)
    two = make(SqliteStore(path), clock, sleeps)
    fail(one)
    fail(two)
    fail(one)
    with pytest.raises(Throttled):
        two.begin_attempt("ada", "tty7")


class BrokenStore:
    """Fails on the n-th call to any throttle method."""

    def __init__(self, real, fail_on: str, after: int = 0) -> None:
        self.real, self.fail_on, self.after = real, fail_on, after

    def __getattr__(self, name):
        method = getattr(self.real, name)
        if name != self.fail_on:
            return method

        def broken(*args, **kwargs):
            if self.after:
                self.after -= 1
                return method(*args, **kwargs)
            raise StoreError("disk full")

        return broken


@pytest.mark.parametrize(
    "fail_on, after", [("failures", 0), ("failures", 1), ("failures", 3), ("add_failure", 0), ("add_failure", 1)]
)
def test_any_store_error_while_beginning_refuses_the_attempt(store, clock, sleeps, fail_on, after):
    throttle = make(BrokenStore(store, fail_on, after), clock, sleeps)
    with pytest.raises(StoreError):
        throttle.begin_attempt("ada", "tty1")


def test_a_store_error_when_recording_the_lock_refuses_the_attempt(store, clock, sleeps):
    throttle = make(store, clock, sleeps)
    fail(throttle)
    fail(throttle)
    broken = make(BrokenStore(store, "add_failure", after=2), clock, sleeps)
    with pytest.raises(StoreError):
        broken.begin_attempt("ada", "tty1")


def test_a_store_error_after_success_only_leaves_the_throttle_stricter(store, clock, sleeps, caplog):
    throttle = make(store, clock, sleeps)
    attempt = throttle.begin_attempt("ada", "tty1")
    make(BrokenStore(store, "remove_failure"), clock, sleeps).succeeded(attempt)  # no exception
    assert throttle.status("ada").failures == 1
    assert "could not clear failures" in caplog.text


# --- the cap for good: consecutive failures per account (NIST SP 800-63B 5.2.2) ---------------


def _spend(throttle, clock, attempts: int, account="ada") -> int:
    """Fail up to ``attempts`` times, waiting out every windowed lock; how many went ahead."""
    went = 0
    for _ in range(attempts):
        try:
            fail(throttle, account, terminal=f"tty{went}")
        except Throttled as refused:
            if refused.retry_after == float("inf"):
                return went
            clock.advance(refused.retry_after + 1)
            fail(throttle, account, terminal=f"tty{went}")
        went += 1
    return went


def test_past_the_cap_an_account_is_held_with_no_end_until_cleared(store, clock, sleeps):
    throttle = make(store, clock, sleeps, lifetime_max_failures=7)
    assert _spend(throttle, clock, 20) == 7  # windowed locks waited out: exactly the cap went ahead
    with pytest.raises(Throttled) as refused:
        throttle.begin_attempt("ada", "elsewhere")
    assert refused.value.retry_after == float("inf")
    status = throttle.status("ada")
    assert status.locked_for_good and status.locked_until is None and status.consecutive_failures == 7
    # Neither time nor the store's pruning lifts it (prune runs on the next add, of anyone).
    clock.advance(90 * 86400)
    fail(throttle, "bob", "tty9")
    with pytest.raises(Throttled) as still:
        throttle.begin_attempt("ada", "tty1")
    assert still.value.retry_after == float("inf")
    assert throttle.status("ada").locked_for_good
    throttle.clear("ada")  # the helpdesk's and `kiosk throttle clear`'s way out
    assert throttle.status("ada") == ThrottleStatus(failures=0, locked_until=None)
    throttle.succeeded(throttle.begin_attempt("ada", "tty1"))


def test_a_success_resets_the_consecutive_count(store, clock, sleeps):
    throttle = make(store, clock, sleeps, lifetime_max_failures=7)
    assert _spend(throttle, clock, 6) == 6
    clock.advance(901)
    throttle.succeeded(throttle.begin_attempt("ada", "tty1"))
    assert throttle.status("ada").consecutive_failures == 0
    assert _spend(throttle, clock, 7) == 7  # the full count again
    assert throttle.status("ada").locked_for_good


def test_the_cap_is_per_account_never_per_terminal(store, clock, sleeps):
    throttle = make(store, clock, sleeps, lifetime_max_failures=2, terminal_max_failures=100)
    for n in range(5):
        fail(throttle, f"user{n}", "tty1")
        fail(throttle, f"user{n}", "tty1")
    assert throttle.terminal_status("tty1") == ThrottleStatus(failures=10, locked_until=None)
    throttle.succeeded(throttle.begin_attempt("someone-else", "tty1"))


def test_failures_older_than_the_horizon_leave_the_streak(store, clock, sleeps):
    throttle = make(store, clock, sleeps, lifetime_max_failures=5, lifetime_days=1)
    assert _spend(throttle, clock, 4) == 4
    clock.advance(86400 + 1)
    assert throttle.status("ada").consecutive_failures == 0
    assert _spend(throttle, clock, 5) == 5
    assert throttle.status("ada").locked_for_good


class Racing:
    """Another process counts the account's last allowed attempt between our check and our count."""

    def __init__(self, real) -> None:
        self.real, self.raced = real, False

    def __getattr__(self, name):
        return getattr(self.real, name)

    def add_failure(self, key, now, window):
        if key.startswith("streak:") and not self.raced:
            self.raced = True
            self.real.add_failure(key, now, window)
        return self.real.add_failure(key, now, window)


def test_a_race_for_the_last_allowed_attempt_is_refused_and_taken_back(store, clock, sleeps):
    settings = dict(account_max_failures=100, lifetime_max_failures=3)
    throttle = make(store, clock, sleeps, **settings)
    fail(throttle)
    fail(throttle)
    racing = make(Racing(store), clock, sleeps, **settings)
    with pytest.raises(Throttled) as refused:
        racing.begin_attempt("ada", "tty1")
    assert refused.value.retry_after == float("inf")
    assert throttle.status("ada").failures == 2  # ours taken back; the other one's streak row stays
    assert throttle.status("ada").consecutive_failures == 3


def test_a_hold_is_said_with_no_end_time():
    from kiosk.messages import error_text

    said = error_text(Throttled(float("inf")))
    assert said.startswith("Too many attempts") and "minute" not in said
    assert "2 minute(s)" in error_text(Throttled(90))


@pytest.mark.parametrize("key, value", [("lifetime_days", 31), ("lifetime_days", 0), ("lifetime_max_failures", 0)])
def test_the_horizon_stays_within_the_stores_pruning(key, value):
    from kiosk.backend.errors import ConfigError
    from kiosk.config.loading import settings_from

    with pytest.raises(ConfigError, match=key):
        settings_from(
            {
                "directory": {
                    "urls": ["ldaps://dc1.example.com"],
                    "domains": [{"netbios": "example", "dns": "example.com", "base_dn": "DC=example,DC=com"}],
                },
                "throttle": {key: value},
            }
        )


def test_the_longest_horizon_is_the_stores_retention():
    from kiosk.backend.store.common import FAILURE_RETENTION_SECONDS
    from kiosk.config.schema import ThrottleSettings as Schema

    from typing import get_type_hints

    hint = get_type_hints(Schema, include_extras=True)["lifetime_days"]
    bound = [m for m in hint.__metadata__ if hasattr(m, "limits")]
    assert bound and bound[0].limits["le"] * 86400 <= FAILURE_RETENTION_SECONDS
