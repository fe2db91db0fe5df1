"""`/api/pools`: today's complimentary pools, straight from chalicelib.pools (which owns the arithmetic),
kept in VIEW_MEMO (chalicelib.query.memo) under what the answer is computed from."""

from __future__ import annotations

from typing import Any

from chalicelib.periods import day_label, report_as_of
from chalicelib.pools import ReadAlready, pool_caps, pool_report
from chalicelib.query.memo import VIEW_MEMO
from chalicelib.query.usage import Stores
from chalicelib.settings import Settings, get_settings
from chalicelib.store.directory import identity_writes
from chalicelib.store.rollups import CELLS_DIGEST, fingerprint, merged
from chalicelib.validation import Params, normalize


def pools_today(
    params: Params, now: int, *, stores: Stores | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`GET /api/pools`: the pools of the UTC day of `now` (no parameters).

    The memo key is what today's report depends on, cheap to read: the checkpoint (data as-of; every
    collector run that ends, well or not, rewrites it), the moment the numbers describe, the pool
    settings, the fingerprint of today's `AD#` items (every dimension) and `AH#model` hours, which
    `RollupStore.replace_day` writes together with the daily and hourly detail the report sums (a
    change of today's cells changes a key's, a model's or a project's total), the mappings and
    unmapped keys as read, and this process's identity write count (a directory sync also moves the
    checkpoint's `directory_synced_at`). `AD#key` is read as stamps (`RollupStore.aggregate_stamps`,
    ~150 KB fewer at 10,000 keys), and its detail digests are in the key too: today's
    cell-token documents (chalicelib.store.cell_tokens, what the contributors are summed from) are
    written with the detail those digests describe. The documents (or, for a day stored before them,
    the detail) and DIR are read on a miss only; what the key read is not read again."""
    normalize(params, ())
    stores = stores or Stores.default()
    settings = settings or get_settings()
    writes = identity_writes()  # before the reads: a write racing them moves it for the next request
    checkpoint = stores.meta.checkpoint()
    day = day_label(now)
    items = stores.rollups.day_items(day, ("model", "project"))
    # AD#key only for the key: its stamps (hashes and detail digests), whole items only if it has none
    keys = stores.rollups.aggregate_stamps("AD", "key", day, day)
    items += keys if keys is not None else stores.rollups.aggregate_items("AD", "key", day, day)
    hours = stores.rollups.aggregate_items("AH", "model", f"{day}T00", f"{day}T23")
    read = ReadAlready(merged(hours), stores.directory.list_mappings(), stores.directory.list_unmapped())
    key = (
        "pools",
        stores.rollups.table.name,
        day,
        report_as_of(now, checkpoint.usage_as_of),
        checkpoint,
        fingerprint(items + hours),
        tuple(bytes(item[CELLS_DIGEST]) for item in items if item.get(CELLS_DIGEST) is not None),
        writes,
        repr(read.mappings),  # repr: Decimal("10") and ("10.0") print differently
        repr(read.unmapped),
        settings.pool_tier,
        tuple(sorted(pool_caps(settings).items())),
        tuple(settings.sharing_projects),
    )
    kept = VIEW_MEMO.get(key)
    if kept is not None:
        return kept
    report = pool_report(
        now, settings, stores.rollups, stores.directory, data_as_of=checkpoint.usage_as_of, read=read
    )
    answer = report.as_dict()
    VIEW_MEMO.put(key, answer)
    return answer
