"""`/api/export`'s CSV kept per container (chalicelib.query.export.EXPORT_MEMO) on DynamoDB Local:
a repeat reads only stamps and the checkpoint, and changed data is written out at once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import pytest

from chalicelib.dimensions import Base
from chalicelib.periods import DAY, day_start
from chalicelib.query.export import export_csv
from chalicelib.query.usage import Stores
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import Cell, DayRollup, Item, RollupStore
from chalicelib.usage import Usage

pytestmark = pytest.mark.usefixtures("usage_table")

DAY_LABEL = "2026-11-18"
PARAMS = {
    "start_time": [str(day_start(DAY_LABEL))],
    "end_time": [str(day_start(DAY_LABEL) + DAY)],
    "bucket_width": ["1d"],
    "group_by": ["model"],
}
NOW = day_start(DAY_LABEL) + 2 * DAY


class CountingRollups(RollupStore):
    """Counts whole aggregate reads (a spy on the real ones)."""

    reads = 0

    def aggregate_items(self, kind: Literal["AD", "AH"], dim: Base, first: str, last: str) -> list[Item]:
        self.reads += 1
        return super().aggregate_items(kind, dim, first, last)


def _store_day(store: RollupStore, tokens: int) -> None:
    usage = Usage(input_tokens=tokens, requests=1, estimated_usd=Decimal("0.5"))
    day = DayRollup(DAY_LABEL, daily={Cell("key_export_a", "gpt-4o-2024-08-06", "proj_export"): usage})
    store.replace_day(day, keep_hourly=False, hourly_retention_days=35)


def test_a_repeated_export_is_the_kept_csv_until_the_data_changes() -> None:
    rollups = CountingRollups()
    stores: Any = Stores(rollups, DirectoryStore(), MetaStore())
    _store_day(rollups, 4_321)
    rollups.reads = 0

    first = export_csv(PARAMS, NOW, stores=stores)
    again = export_csv(PARAMS, NOW, stores=stores)
    assert again == first
    assert rollups.reads == 1  # the repeat read stamps only
    assert ",4321," in first[1]

    _store_day(rollups, 8_642)
    rollups.reads = 0
    changed = export_csv(PARAMS, NOW, stores=stores)

    assert ",8642," in changed[1]
    assert rollups.reads == 1  # new stamps: the items read and the CSV written again
