"""The display names a report shows (key identities and project names), cached per process.

Reading them costs two Queries (MAP and the directory's snapshot: a few hundred KB at 10,000 keys),
which a dashboard would otherwise pay on every request. They are kept per table and trusted for
`NAMES_CACHE_SECONDS`; after that, one small GetItem of the identity generations
(`DirectoryStore.generations`, moved by every mapping or directory write) tells whether they are
still true: unchanged, the same names are trusted for another `NAMES_CACHE_SECONDS`, up to
`NAMES_KEEP_SECONDS` after they were read (a bound for edits made by hand, outside the code, which
move no generation); changed, or on a table written before the generations existed, they are read
again. So names are never staler than before (another Lambda container shows a rename within
`NAMES_CACHE_SECONDS`), and a quiet directory is read once an hour instead of once a minute.

A write made by this process (`PATCH /api/keys`, the CLI, a directory sync) moves
`chalicelib.store.directory.identity_writes()`, which drops the cached names at once, so a rename
shows on the next request of the same process. `forget_names()` empties the cache (tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.keys.resolve import build_identities
from chalicelib.query.report import Names
from chalicelib.store.directory import DirectoryStore, identity_writes
from chalicelib.store.directory_snapshot import forget_decoded
from chalicelib.ttl_cache import TTLCache

NAMES_CACHE_SECONDS = 60.0
NAMES_KEEP_SECONDS = 3600.0


@dataclass(frozen=True)
class _Entry:
    """Names as read, with what they were read at: this process's write count, the table's
    generations (None: the table has none), and when they were read and last confirmed."""

    writes: int
    generations: tuple[int, int] | None
    read_at: float
    checked_at: float
    names: Names


class NamesCache:
    """Names by table (and, for a few keys' names, by table and keys), each kept with the write
    count and generations it was read at."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cache: TTLCache[tuple[str, frozenset[str] | None], _Entry] = TTLCache(
            NAMES_KEEP_SECONDS, 64, clock
        )

    def get(self, directory: DirectoryStore, keys: frozenset[str] | None = None) -> Names:
        """The names of `directory`'s table: cached when fresh or confirmed unchanged, else read
        (MAP + the directory) and kept. With `keys`, names that hold at least those keys' (a report
        of just these keys): every name when they are cached, else only theirs (MAP and DIR items
        of these keys: a few small reads instead of the whole directory)."""
        table = directory.table.name
        now = self._clock()  # before the read: names are as fresh as the moment they were asked for
        writes = identity_writes()
        every = self._kept((table, None), directory, now, writes)
        if every is not None:
            return every
        if keys is not None:
            few = self._kept((table, keys), directory, now, writes)
            if few is not None:
                return few
            mappings, found, generations = directory.names_of(keys)
            names = Names(build_identities(mappings, found), found.projects)
            self._cache.put((table, keys), _Entry(writes, generations, now, now, names), now)
            return names
        synced, generations = directory.directory_at()  # read first: a write racing MAP moves them
        names = Names(build_identities(directory.list_mappings(), synced), synced.projects)
        self._cache.put((table, None), _Entry(writes, generations, now, now, names), now)
        return names

    def _kept(
        self, key: tuple[str, frozenset[str] | None], directory: DirectoryStore, now: float, writes: int
    ) -> Names | None:
        entry = self._cache.get(key, now)
        if entry is None or entry.writes != writes:
            return None
        if now - entry.checked_at < NAMES_CACHE_SECONDS:
            return entry.names
        if entry.generations is not None and directory.generations() == entry.generations:
            confirmed = _Entry(writes, entry.generations, entry.read_at, now, entry.names)
            self._cache.put(key, confirmed, entry.read_at)  # still expires KEEP after the read
            return entry.names
        return None

    def clear(self) -> None:
        """Forget every cached name."""
        self._cache.clear()


NAMES_CACHE = NamesCache()


def forget_names() -> None:
    """Empty this process's cache of names and of the directory it decoded last (after an edit made
    elsewhere; tests; the bench's first request of a container)."""
    NAMES_CACHE.clear()
    forget_decoded()
