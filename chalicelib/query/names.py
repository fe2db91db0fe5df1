"""The display names a report shows (key identities and project names), cached per process.

Reading them costs two paginated Queries (MAP and DIR: 275 KB at 1,000 keys), which a dashboard
would otherwise pay on every request. They are kept `NAMES_CACHE_SECONDS` per table. A mapping or
directory write made by this process (`PATCH /api/keys`, the CLI, a directory sync) moves
`chalicelib.store.directory.identity_writes()`, which drops the cached names at once, so a rename
shows on the next request of the same process; other processes (other Lambda containers) show it
within `NAMES_CACHE_SECONDS`. `forget_names()` empties the cache (tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.keys.resolve import build_identities
from chalicelib.query.report import Names
from chalicelib.store.directory import DirectoryStore, identity_writes
from chalicelib.ttl_cache import TTLCache

NAMES_CACHE_SECONDS = 60.0


class NamesCache:
    """Names by table name, each kept with the write count it was read at."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cache: TTLCache[str, tuple[int, Names]] = TTLCache(NAMES_CACHE_SECONDS, 64, clock)

    def get(self, directory: DirectoryStore) -> Names:
        """The names of `directory`'s table: cached when fresh, else read (MAP + DIR) and kept."""
        table = directory.table.name
        now = self._clock()  # before the read: names are as fresh as the moment they were asked for
        writes = identity_writes()
        entry = self._cache.get(table, now)
        if entry is not None and entry[0] == writes:
            return entry[1]
        synced = directory.directory()
        names = Names(build_identities(directory.list_mappings(), synced), synced.projects)
        self._cache.put(table, (writes, names), now)
        return names

    def clear(self) -> None:
        """Forget every cached name."""
        self._cache.clear()


NAMES_CACHE = NamesCache()


def forget_names() -> None:
    """Empty this process's cache of names (after an edit made elsewhere; tests)."""
    NAMES_CACHE.clear()
