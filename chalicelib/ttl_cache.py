"""The one time-to-live cache of the process's in-memory caches (API tokens, display names, live windows).

`TTLCache(seconds, max_entries)` keeps each value `seconds` from the time it was put, by the
monotonic clock unless one is passed in (tests pass their own, or give `now` to each call). It is
thread-safe (the API may serve requests on several threads) and bounded: when full, the expired
entries go first and, if that frees nothing, every entry, so a flood of distinct keys (bad tokens,
odd periods) can never grow memory. `None` means "not cached": a cache of optional values stores a
sentinel for "none" instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """key -> (expires at, value), bounded at `max_entries`, thread-safe."""

    def __init__(self, seconds: float, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, now: float | None = None) -> V | None:
        """The value kept for `key`, or None when there is none or it has expired."""
        at = self._clock() if now is None else now
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > at else None

    def put(self, key: K, value: V, now: float | None = None) -> None:
        """Keep `value` for `seconds` from `now` (a past `now` keeps it for less: a copy already aged)."""
        at = self._clock() if now is None else now
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                self._entries = {k: entry for k, entry in self._entries.items() if entry[0] > at}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = (at + self.seconds, value)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
