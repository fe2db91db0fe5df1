"""The report memo: finished `/api/usage` reports kept per API container, keyed by what they are
computed from, so a view asked again (a refresh, another viewer, the dashboard's next load within
the collector's 15 minutes) costs one read of its aggregate items instead of decoding and summing
them again.

The key is the selection, the content fingerprint of the aggregate items read
(chalicelib.store.rollups.fingerprint: their keys and stored bytes), the checkpoint fields a report
depends on (costs_as_of and cost_grouping decide billed vs estimated, usage_as_of is `data_as_of`)
and the `Names` object the report was labelled with (chalicelib.query.names keeps one per table for
a minute, so a mapping edit shows as soon as it does without the memo). Nothing has to invalidate
it: changed data has a different fingerprint. Detail reads (combined groupings, mixed filters) and
live 1m reads are not memoized. Entries are bounded (`MEMO_MAX_ENTRIES`, least recently used out).

`VIEW_MEMO` does the same for the two views that are not usage reports, `/api/keys` and
`/api/pools` (chalicelib.query.keys, chalicelib.query.pools): each builds its own key from what its
answer is computed from, so this module only keeps answers. `ANSWER_MEMO` keeps the collector's
materialized answers a container fetched (chalicelib.query.answers reads their basis again for
every request).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from chalicelib.query.report import Names

MEMO_MAX_ENTRIES = 24  # a 90-day 1,000-key report is a few MB of Python objects
VIEW_MEMO_MAX_ENTRIES = 8  # keys and pools of a table or two; a 1,000-key keys list is ~5 MB


class _Lru:
    """Entries by key, the least recently used dropped past `max_entries`; thread-safe."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def knows(self, prefix: tuple[Any, ...]) -> bool:
        """Whether some kept entry's key starts with `prefix` (so a repeat is worth looking for)."""
        with self._lock:
            return any(isinstance(key, tuple) and key[: len(prefix)] == prefix for key in self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def _take(self, key: Hashable) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def _keep(self, key: Hashable, entry: Any) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class ReportMemo(_Lru):
    """Reports by key, each remembered with the Names it was built with."""

    def __init__(self, max_entries: int = MEMO_MAX_ENTRIES) -> None:
        super().__init__(max_entries)

    def get(self, key: Hashable, names: Names) -> dict[str, Any] | None:
        """A copy of the report kept under `key` when it was built with these very `names`."""
        entry: tuple[Names, dict[str, Any]] | None = self._take(key)
        if entry is None or entry[0] is not names:
            return None
        return dict(entry[1])  # callers add top-level fields (coverage); the rest is never mutated

    def put(self, key: Hashable, names: Names, report: dict[str, Any]) -> None:
        """Keep a copy of `report`."""
        self._keep(key, (names, dict(report)))


REPORT_MEMO = ReportMemo()


class ViewMemo(_Lru):
    """Finished answers by key (the key names everything the answer depends on)."""

    def __init__(self, max_entries: int = VIEW_MEMO_MAX_ENTRIES) -> None:
        super().__init__(max_entries)

    def get(self, key: Hashable) -> dict[str, Any] | None:
        """A shallow copy of the answer kept under `key` (callers never mutate its parts)."""
        entry: dict[str, Any] | None = self._take(key)
        return None if entry is None else dict(entry)

    def put(self, key: Hashable, answer: dict[str, Any]) -> None:
        """Keep a shallow copy of `answer`."""
        self._keep(key, dict(answer))


VIEW_MEMO = ViewMemo()
ANSWER_MEMO = ViewMemo(2 * VIEW_MEMO_MAX_ENTRIES)
"""Materialized answers as read from S3 (chalicelib.query.answers), by request: a warm container
serves a repeat after reading its basis again, without fetching the object."""
