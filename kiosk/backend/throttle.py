"""Throttling of answer guessing, per account and per terminal, fail closed.

Every attempt is counted as a failure *before* any answer is checked, and
taken back only when it succeeds. So a crash, a killed process or a pulled
plug in the middle of verifying counts against the guesser, and there is no
window in which answers are checked without being counted (LTB counts only
after a success: the bug we avoid).

Locks: when the failures of a key within ``window_seconds`` reach its limit,
the key is locked until the newest failure + ``lock_seconds``. The moment of
locking is also recorded (under ``lock:<key>``), so the lock lasts its full
``lock_seconds`` even if the failures that caused it leave the window sooner.

A cap for good (NIST SP 800-63B 5.2.2: at most 100 consecutive failures per
account): every attempt on an account is also counted under ``streak:<key>``
over a longer horizon (``lifetime_days``, within the store's 30-day pruning).
When that count reaches ``lifetime_max_failures``, a hold is recorded under
``hold:<key>``, which the store never prunes: from then on the account is
refused (``Throttled`` with an infinite ``retry_after``) until ``clear`` (the
``kiosk throttle clear`` command, the helpdesk). A success forgets the streak,
so only *consecutive* failures count. The terminal has no such cap (a kiosk
locked for good would be a denial of service on everyone who uses it).

All counters live in the store, so every kiosk process sharing the store
shares them. Any store error while beginning an attempt propagates as
StoreError: the caller refuses the attempt (never "unlimited attempts").
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.backend.errors import StoreError, Throttled
from kiosk.backend.store.base import EnrollmentStore
from kiosk.backend.store.common import HOLD_PREFIX
from kiosk.config import ThrottleSettings

__all__ = ["Attempt", "Throttle", "ThrottleStatus"]

log = logging.getLogger("kiosk.throttle")


@dataclass(frozen=True)
class Attempt:
    """An attempt in progress; opaque to callers.

    ``keys[i]`` holds failure ``failure_ids[i]``; the first key is the
    account's, the second the terminal's, the third the account's streak, then
    any lock marks (and the hold) this attempt set.
    """

    keys: tuple[str, ...]
    failure_ids: tuple[int, ...]
    account_failures: int = 1
    #: When the attempt began (this host's monotonic clock): the pause after a
    #: failure is counted from here (``Throttle.failed``).
    began: float = 0.0
    #: If it fails, the account is locked (``lock_seconds``), or held until cleared:
    #: the attempt that reached the limit (its owner is told, ``UseCase._failed``).
    locks_account: bool = False
    holds_account: bool = False


@dataclass(frozen=True)
class ThrottleStatus:
    """``failures``: in the window; ``locked_until``: when a lock by the window
    ends (None: none, or held for good); ``consecutive_failures``: since the
    last success, within the horizon; ``locked_for_good``: refused until cleared."""

    failures: int
    locked_until: float | None
    consecutive_failures: int = 0
    locked_for_good: bool = False


def _account(key: str) -> str:
    return f"account:{key}"


def _terminal(terminal: str) -> str:
    return f"terminal:{terminal}"


def _lock_key(key: str) -> str:
    return f"lock:{key}"


def _streak_key(key: str) -> str:
    return f"streak:{key}"


def _hold_key(key: str) -> str:
    # The store keeps keys with this prefix out of its 30-day pruning.
    return f"{HOLD_PREFIX}{key}"


class Throttle:
    def __init__(
        self,
        store: EnrollmentStore,
        settings: ThrottleSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic

    def _now(self) -> float:
        """The store's clock when several hosts share it (the database server's),
        so one host's skew cannot widen the window; else this host's."""
        shared = self._store.shared_time()
        return self._clock() if shared is None else shared

    def _limit(self, key: str) -> int:
        if key.startswith("terminal:"):
            return self._settings.terminal_max_failures
        return self._settings.account_max_failures

    def _locked_until(self, key: str, now: float) -> tuple[int, float | None]:
        """(failures in the window, locked-until time if locked now, else None)."""
        s = self._settings
        count, newest = self._store.failures(key, now, s.window_seconds)
        until: float | None = None
        if count >= self._limit(key) and newest is not None:
            until = newest + s.lock_seconds
        marks, locked_at = self._store.failures(_lock_key(key), now, s.lock_seconds)
        if marks and locked_at is not None:
            until = max(until or 0.0, locked_at + s.lock_seconds)
        if until is not None and until <= now:
            until = None
        return count, until

    @property
    def _horizon(self) -> float:
        """How far back consecutive failures are counted (what ``add_failure``
        is given for the streak key, so it keeps them that long)."""
        return self._settings.lifetime_days * 86400.0

    def _held(self, account: str, now: float) -> tuple[int, bool]:
        """(consecutive failures within the horizon, held for good?)."""
        streak, _ = self._store.failures(_streak_key(account), now, self._horizon)
        holds, _ = self._store.failures(_hold_key(account), now, now)  # any age
        return streak, bool(holds) or streak >= self._settings.lifetime_max_failures

    def begin_attempt(self, account_key: str, terminal: str) -> Attempt:
        """Refuse (Throttled) if the account or the terminal is locked, or the
        account is held for good; else count this attempt as a failure for
        both, and in the account's streak, before anything is checked."""
        began = self._monotonic()
        now = self._now()
        keys = (_account(account_key), _terminal(terminal))
        if self._store.failures(_hold_key(keys[0]), now, now)[0]:  # held: any age
            raise Throttled(math.inf, "held until cleared")
        locked = [until for key in keys if (until := self._locked_until(key, now)[1]) is not None]
        if locked:
            raise Throttled(max(locked) - now)
        held_keys: list[str] = []
        held_ids: list[int] = []
        counts: list[int] = []
        windows = (self._settings.window_seconds, self._settings.window_seconds, self._horizon)
        for key, window in zip((*keys, _streak_key(keys[0])), windows):
            failure_id, count = self._store.add_failure(key, now, window)
            held_keys.append(key)
            held_ids.append(failure_id)
            counts.append(count)
        # Past the cap: another process counted the last allowed attempt since our
        # check (and holds the account), or the cap was lowered since the streak grew.
        over_cap = counts[2] > self._settings.lifetime_max_failures
        if over_cap or any(self._raced(key, count, now) for key, count in zip(keys, counts)):
            # Refuse, and take ours back so the counts stay exact.
            for key, failure_id in zip(held_keys, held_ids):
                self._store.remove_failure(key, failure_id)
            if over_cap:
                raise Throttled(math.inf, "held until cleared")
            raise Throttled(float(self._settings.lock_seconds))
        for key, count in zip(keys, counts):
            if count >= self._limit(key):
                # This attempt was counted and goes ahead; the next one is refused.
                mark_id, _ = self._store.add_failure(_lock_key(key), now, self._settings.lock_seconds)
                held_keys.append(_lock_key(key))
                held_ids.append(mark_id)
        if counts[2] >= self._settings.lifetime_max_failures:
            # The last consecutive failure allowed: it goes ahead, then the account
            # is held until someone clears it. The hold outlives the streak's rows.
            log.warning("an account reached %d consecutive failures: held until cleared", counts[2])
            hold_id, _ = self._store.add_failure(_hold_key(keys[0]), now, now)
            held_keys.append(_hold_key(keys[0]))
            held_ids.append(hold_id)
        return Attempt(
            tuple(held_keys), tuple(held_ids), account_failures=counts[0], began=began,
            locks_account=_lock_key(keys[0]) in held_keys, holds_account=_hold_key(keys[0]) in held_keys,
        )

    def _raced(self, key: str, count: int, now: float) -> bool:
        """Was ``key`` already locked when this attempt was counted (``count``
        includes it)? Locked by count means: the limit reached, the newest
        failure less than ``lock_seconds`` ago (as in ``_locked_until``)."""
        if count <= self._limit(key):
            return False
        recent, _ = self._store.failures(key, now, self._settings.lock_seconds)
        return recent > 1  # another failure besides ours, recent enough to lock

    def succeeded(self, attempt: Attempt) -> None:
        """Take back this attempt's failures and forget the account's earlier ones.

        Never raises: if the store fails, the failures stay, which only makes
        the throttle stricter; it is logged.
        """
        try:
            for key, failure_id in zip(attempt.keys, attempt.failure_ids):
                self._store.remove_failure(key, failure_id)
            self._forget(attempt.keys[0])
        except StoreError as exc:
            log.warning("could not clear failures after a success: %s", exc.detail)

    def failed(self, attempt: Attempt) -> float:
        """Keep the failures; pause until the growing delay has passed since the
        attempt began, and return the delay.

        Counted from the attempt's start, not added after the work: every
        failure (an unknown name, a decoy, a real account's wrong password and
        the bad-password count AD writes for it) then answers after the same
        time, so the work behind it cannot be told apart by timing."""
        s = self._settings
        n = max(1, attempt.account_failures)
        delay = min(s.delay_seconds * 2 ** min(n - 1, 62), s.max_delay_seconds)
        remaining = delay - (self._monotonic() - attempt.began)
        if remaining > 0:
            self._sleep(remaining)
        return delay

    def started(self) -> float:
        """A moment to pad from (``answer_no_sooner``)."""
        return self._monotonic()

    def answer_no_sooner(self, began: float, seconds: float) -> None:
        """Wait until ``seconds`` have passed since ``began`` (``started``): a step
        whose work differs by who is asked (a name's look-up) answers after the
        same time for all."""
        remaining = seconds - (self._monotonic() - began)
        if remaining > 0:
            self._sleep(remaining)

    def status(self, account_key: str) -> ThrottleStatus:
        now = self._now()
        key = _account(account_key)
        count, until = self._locked_until(key, now)
        streak, held = self._held(key, now)
        return ThrottleStatus(
            failures=count,
            locked_until=None if held else until,
            consecutive_failures=streak,
            locked_for_good=held,
        )

    def terminal_status(self, terminal: str) -> ThrottleStatus:
        count, until = self._locked_until(_terminal(terminal), self._now())
        return ThrottleStatus(failures=count, locked_until=until)

    def clear(self, account_key: str) -> None:
        """Forget an account's failures, lock, streak and hold (helpdesk, admin)."""
        self._forget(_account(account_key))

    def _forget(self, key: str) -> None:
        for each in (key, _lock_key(key), _streak_key(key), _hold_key(key)):
            self._store.clear_failures(each)
