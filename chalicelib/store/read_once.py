"""A rollup store that reads each thing once, for a batch of reads with no write between them: the
collector's materialized answers (chalicelib.query.dashboard_views), fifteen views that read the
same periods, stamps and days.

DynamoDB bills a projected Query by the whole items it passes, so the stamps of 90 days of `AD#key`
items cost ~2,000 read units at 10,000 keys however few bytes come back: read once, and a range
inside one already read is cut from it. Items, whole ranges and `remembered` reads (a period) are
kept by key. Only for a batch: nothing here notices a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from chalicelib.dimensions import Base
from chalicelib.store.rollups import Item, RollupStore, T, label_of


class ReadOnce(RollupStore):
    """`RollupStore` whose reads are kept for its lifetime (one batch of reads)."""

    def __init__(self, rollups: RollupStore) -> None:
        super().__init__(rollups.table)
        self._stamps: dict[tuple[str, str], list[tuple[str, str, list[Item] | None]]] = {}
        self._items: dict[tuple[str, str], Item] = {}
        self._ranges: dict[tuple[str, str, str, str], list[Item]] = {}
        self._remembered: dict[tuple[Any, ...], Any] = {}

    def prefetch_stamps(self, kind: Literal["AD", "AH"], dim: Base, first: str, last: str) -> None:
        """Read the stamps of a range every later range lies in, once."""
        self.aggregate_stamps(kind, dim, first, last)

    def aggregate_stamps(
        self, kind: Literal["AD", "AH"], dim: Base, first: str, last: str
    ) -> list[Item] | None:
        for known_first, known_last, stamps in self._stamps.get((kind, dim), []):
            if known_first <= first and last <= known_last:
                return None if stamps is None else [s for s in stamps if first <= label_of(s) <= last]
        stamps = super().aggregate_stamps(kind, dim, first, last)
        self._stamps.setdefault((kind, dim), []).append((first, last, stamps))
        return stamps

    def stamped_items(self, stamps: Iterable[Item]) -> list[Item]:
        keys = [(str(s["pk"]), str(s["sk"])) for s in stamps]
        missing = [{"pk": pk, "sk": sk} for pk, sk in keys if (pk, sk) not in self._items]
        if missing:
            for item in super().stamped_items(missing):
                self._items[(str(item["pk"]), str(item["sk"]))] = item
        return sorted(
            (self._items[key] for key in keys if key in self._items),
            key=lambda i: (str(i["pk"]), str(i["sk"])),
        )

    def aggregate_items(self, kind: Literal["AD", "AH"], dim: Base, first: str, last: str) -> list[Item]:
        key = (kind, str(dim), first, last)
        if key not in self._ranges:
            self._ranges[key] = super().aggregate_items(kind, dim, first, last)
        return self._ranges[key]

    def remembered(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        if key not in self._remembered:
            self._remembered[key] = read()
        found: T = self._remembered[key]
        return found
