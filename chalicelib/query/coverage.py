"""Which days of a report the collector has read (`coverage` in `/api/usage`), from META alone.

The first collected day is the checkpoint's `collected_from`: the earliest day a backfill chunk or an
incremental window stored (chalicelib.store.meta keeps it, only ever lowering it; the first incremental
run also counts backfills recorded before the field existed). Days before it were never read: a report
shows zeros there, and `uncollected_days` says they mean "unknown", not "none". Before any collection
every day of the period is uncollected. Costs one GetItem (no Query: reports stay at their read count).
"""

from __future__ import annotations

from typing import Any

from chalicelib.periods import DAY, day_label, day_start, floor_day, iso
from chalicelib.store.meta import MetaStore


def coverage(start: int, end: int, meta: MetaStore | None = None) -> dict[str, Any]:
    """The coverage of [start, end): first collected day, data as of, the days before the first."""
    checkpoint = (meta or MetaStore()).checkpoint()
    first, as_of = checkpoint.collected_from, checkpoint.usage_as_of
    limit = day_start(first) if first else end
    uncollected = [day_label(day) for day in range(floor_day(start), min(limit, end), DAY)]
    return {
        "collected_from": first,
        "collected_through": iso(as_of) if as_of is not None else None,
        "uncollected_days": uncollected,
    }
