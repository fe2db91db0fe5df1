"""Usage totals per cell over any period, as the API would show them at a given moment.

Late-arriving usage: each event reaches the API after its own delay, drawn uniformly from the settle
window by a hash of the event, so the visible share of an age-`a` period is about a / window and
re-reading a recent bucket later shows it revised upward (never downward). An event arrives whole, so
every row stays consistent (no tokens without requests). Whole hours and days that are fully settled
are summed once and cached; everything else (partial hours, the unsettled tail) is summed from the
hour's events. Both paths add the same integers, so any split of a period sums to the same totals.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from operator import add
from typing import Generic, TypeVar

from simulator.directory import DAY, HOUR
from simulator.hashing import stable_hash
from simulator.traffic import Event, Traffic

Values = tuple[int, ...]
CellTotals = dict[int, Values]
K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map; values are computed outside the lock (they are deterministic,
    so two threads computing the same entry at once is harmless)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value of `key`, computing and storing it when missing."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = compute()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)
        return value


class Ledger:
    """Sums of event values per cell, with late-arrival visibility and settled-period caches."""

    def __init__(self, traffic: Traffic, settle_seconds: int) -> None:
        self.traffic = traffic
        self.settle = settle_seconds
        self._events: LruCache[int, dict[str, list[Event]]] = LruCache(512)
        self._hours: LruCache[tuple[str, int], CellTotals] = LruCache(24_576)
        self._days: LruCache[tuple[str, int], CellTotals] = LruCache(6_144)

    def events(self, hour: int) -> dict[str, list[Event]]:
        """The raw events of the hour starting at `hour` (cached)."""
        return self._events.get(hour, lambda: self.traffic.events(hour))

    def pieces(self, kind: str, start: int, end: int, now: int) -> Iterator[Iterable[tuple[int, Values]]]:
        """(cell, values) pairs whose sum is the usage of `kind` in [start, min(end, now)) seen at `now`."""
        end = min(end, now)
        settled = now - self.settle  # everything before this instant is final
        t = max(start, self.traffic.origin)  # nothing exists before the origin (a UTC midnight)
        while t < end:
            if t % DAY == 0 and t + DAY <= min(end, settled):
                yield self._day_totals(kind, t).items()
                t += DAY
            elif t % HOUR == 0 and t + HOUR <= min(end, settled):
                yield self._hour_totals(kind, t).items()
                t += HOUR
            else:
                stop = min(end, t - t % HOUR + HOUR)
                yield self.visible(kind, t, stop, now)
                t = stop

    def visible(self, kind: str, start: int, end: int, now: int) -> list[tuple[int, Values]]:
        """(cell, visible values) of each event in [start, end), which must lie within one hour."""
        hour = start - start % HOUR
        if end > hour + HOUR:
            raise ValueError("visible() takes a period inside one hour")
        if hour + HOUR <= self.traffic.origin:
            return []
        events = self.events(hour)[kind]
        lo = bisect.bisect_left(events, start, key=_timestamp)
        hi = bisect.bisect_left(events, end, key=_timestamp)
        out: list[tuple[int, Values]] = []
        window, seed = self.settle, self.traffic.seed
        for ts, cell, values in events[lo:hi]:
            if ts >= now:
                break
            age = now - ts
            if age >= window or age > stable_hash(seed, "late", ts, cell) % window:
                out.append((cell, values))
        return out

    def _hour_totals(self, kind: str, hour: int) -> CellTotals:
        def compute() -> CellTotals:
            totals: CellTotals = {}
            for _ts, cell, values in self.events(hour)[kind]:
                totals[cell] = _add(totals.get(cell), values)
            return totals

        return self._hours.get((kind, hour), compute)

    def _day_totals(self, kind: str, day: int) -> CellTotals:
        def compute() -> CellTotals:
            totals: CellTotals = {}
            if day + DAY <= self.traffic.origin:
                return totals
            for hour in range(day, day + DAY, HOUR):  # from events: no need to cache 24 hour totals too
                for _ts, cell, values in self.events(hour)[kind]:
                    totals[cell] = _add(totals.get(cell), values)
            return totals

        return self._days.get((kind, day), compute)


def _timestamp(event: Event) -> int:
    return event[0]


def _add(total: Values | None, values: Values) -> Values:
    if total is None:
        return values
    return tuple(map(add, total, values))
