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

All counters live in the store, so every kiosk process sharing the store
shares them. Any store error while beginning an attempt propagates as
StoreError: the caller refuses the attempt (never "unlimited attempts").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.backend.errors import StoreError, Throttled
from kiosk.backend.store.base import EnrollmentStore
from kiosk.config import ThrottleSettings

__all__ = ["Attempt", "Throttle", "ThrottleStatus"]

log = logging.getLogger("kiosk.throttle")


@dataclass(frozen=True)
class Attempt:
    """An attempt in progress; opaque to callers.

    ``keys[i]`` holds failure ``failure_ids[i]``; the first key is the
    account's, the second the terminal's, then any lock marks this attempt set.
    """

    keys: tuple[str, ...]
    failure_ids: tuple[int, ...]
    account_failures: int = 1


@dataclass(frozen=True)
class ThrottleStatus:
    failures: int
    locked_until: float | None


def _account(key: str) -> str:
    return f"account:{key}"


def _terminal(terminal: str) -> str:
    return f"terminal:{terminal}"


def _lock_key(key: str) -> str:
    return f"lock:{key}"


class Throttle:
    def __init__(
        self,
        store: EnrollmentStore,
        settings: ThrottleSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._sleep = sleep

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

    def begin_attempt(self, account_key: str, terminal: str) -> Attempt:
        """Refuse (Throttled) if the account or the terminal is locked; else
        count this attempt as a failure for both, before anything is checked."""
        now = self._now()
        keys = (_account(account_key), _terminal(terminal))
        locked = [until for key in keys if (until := self._locked_until(key, now)[1]) is not None]
        if locked:
            raise Throttled(max(locked) - now)
        held_keys: list[str] = []
        held_ids: list[int] = []
        counts: list[int] = []
        for key in keys:
            failure_id, count = self._store.add_failure(key, now, self._settings.window_seconds)
            held_keys.append(key)
            held_ids.append(failure_id)
            counts.append(count)
        if any(self._raced(key, count, now) for key, count in zip(keys, counts)):
            # Another process counted the last allowed attempt between our check
            # and our count: refuse, and take ours back so the count stays exact.
            for key, failure_id in zip(held_keys, held_ids):
                self._store.remove_failure(key, failure_id)
            raise Throttled(float(self._settings.lock_seconds))
        for key, count in zip(keys, counts):
            if count >= self._limit(key):
                # This attempt was counted and goes ahead; the next one is refused.
                mark_id, _ = self._store.add_failure(_lock_key(key), now, self._settings.lock_seconds)
                held_keys.append(_lock_key(key))
                held_ids.append(mark_id)
        return Attempt(tuple(held_keys), tuple(held_ids), account_failures=counts[0])

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
            account = attempt.keys[0]
            self._store.clear_failures(account)
            self._store.clear_failures(_lock_key(account))
        except StoreError as exc:
            log.warning("could not clear failures after a success: %s", exc.detail)

    def failed(self, attempt: Attempt) -> float:
        """Keep the failures; pause for the growing delay and return it."""
        s = self._settings
        n = max(1, attempt.account_failures)
        delay = min(s.delay_seconds * 2 ** min(n - 1, 62), s.max_delay_seconds)
        if delay > 0:
            self._sleep(delay)
        return delay

    def status(self, account_key: str) -> ThrottleStatus:
        count, until = self._locked_until(_account(account_key), self._now())
        return ThrottleStatus(failures=count, locked_until=until)

    def terminal_status(self, terminal: str) -> ThrottleStatus:
        count, until = self._locked_until(_terminal(terminal), self._now())
        return ThrottleStatus(failures=count, locked_until=until)

    def clear(self, account_key: str) -> None:
        """Forget an account's failures and lock (helpdesk, admin)."""
        key = _account(account_key)
        self._store.clear_failures(key)
        self._store.clear_failures(_lock_key(key))
