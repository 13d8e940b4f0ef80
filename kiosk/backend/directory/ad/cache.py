"""A small time-bounded cache (the password policy reader's)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

POLICY_CACHE_SECONDS = 300.0


class TtlCache:
    """Values kept for ``seconds`` by ``clock`` (monotonic); thread-safe."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clock = clock
        self._values: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Any:
        """The value, or None when absent or stale."""
        with self._lock:
            hit = self._values.get(key)
            if hit is None or hit[0] < self._clock():
                return None
            return hit[1]

    def put(self, key: tuple[str, str], value: Any) -> None:
        with self._lock:
            self._values[key] = (self._clock() + self._seconds, value)

    def forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._values.pop(key, None)
