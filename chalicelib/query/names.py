"""The display names a report shows (key identities and project names), cached per process.

Reading them costs two paginated Queries (MAP and DIR: 275 KB at 1,000 keys), which a dashboard
would otherwise pay on every request. They are kept `NAMES_CACHE_SECONDS` per table. A mapping or
directory write made by this process (`PATCH /api/keys`, the CLI, a directory sync) moves
`chalicelib.store.directory.identity_writes()`, which drops the cached names at once, so a rename
shows on the next request of the same process; other processes (other Lambda containers) show it
within `NAMES_CACHE_SECONDS`. `forget_names()` empties the cache (tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chalicelib.keys.resolve import build_identities
from chalicelib.query.report import Names
from chalicelib.store.directory import DirectoryStore, identity_writes

NAMES_CACHE_SECONDS = 60.0


class NamesCache:
    """Names by table name, each with the time it expires and the write count it was read at."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, int, Names]] = {}
        self._lock = threading.Lock()

    def get(self, directory: DirectoryStore) -> Names:
        """The names of `directory`'s table: cached when fresh, else read (MAP + DIR) and kept."""
        table = directory.table.name
        now = self._clock()
        writes = identity_writes()
        with self._lock:
            entry = self._entries.get(table)
        if entry is not None and entry[0] > now and entry[1] == writes:
            return entry[2]
        synced = directory.directory()
        names = Names(build_identities(directory.list_mappings(), synced), synced.projects)
        with self._lock:
            self._entries[table] = (now + NAMES_CACHE_SECONDS, writes, names)
        return names

    def clear(self) -> None:
        """Forget every cached name."""
        with self._lock:
            self._entries.clear()


NAMES_CACHE = NamesCache()


def forget_names() -> None:
    """Empty this process's cache of names (after an edit made elsewhere; tests)."""
    NAMES_CACHE.clear()
