"""Which days of a report the collector has read (`coverage` in `/api/usage`), from META alone.

The first collected day is the earliest of the backfills' first days (those that stored a chunk) and
the first incremental window's first day (`collected_from` in the checkpoint). Days before it were
never read: a report shows zeros there, and `uncollected_days` says they mean "unknown", not "none".
Before any collection every day of the period is uncollected. Costs two small reads (GetItem, Query).
"""

from __future__ import annotations

from typing import Any

from chalicelib.periods import DAY, day_label, day_start, floor_day, iso
from chalicelib.store.meta import MetaStore


def first_collected_day(meta: MetaStore) -> tuple[str | None, int | None]:
    """(the first collected UTC day or None, the checkpoint's usage_as_of)."""
    checkpoint = meta.checkpoint()
    starts = meta.backfill_starts()
    if checkpoint.collected_from:
        starts.append(checkpoint.collected_from)
    return (min(starts) if starts else None), checkpoint.usage_as_of


def coverage(start: int, end: int, meta: MetaStore | None = None) -> dict[str, Any]:
    """The coverage of [start, end): first collected day, data as of, the days before the first."""
    first, as_of = first_collected_day(meta or MetaStore())
    limit = day_start(first) if first else end
    uncollected = [day_label(day) for day in range(floor_day(start), min(limit, end), DAY)]
    return {
        "collected_from": first,
        "collected_through": iso(as_of) if as_of is not None else None,
        "uncollected_days": uncollected,
    }
