"""The hourly detail as one compressed document per hour (chalicelib.store.rollups), on DynamoDB
Local: shards past SHARD_BYTES read back as the cells written, a rewrite that needs fewer shards
leaves none of the old ones, and while an hour's old and new items are both stored each cell is
read once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib import aws
from chalicelib.store import rollups
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage

pytestmark = pytest.mark.usefixtures("usage_table")

DAY = "2026-11-21"
HOUR = f"{DAY}T05"


def _day(keys: int, tokens: int = 100) -> DayRollup:
    hourly = {
        (HOUR, Cell(f"key_doc{i:04d}", "gpt-4o-mini-2024-07-18", f"proj_{i % 3}")): Usage(
            input_tokens=tokens + i, requests=1, estimated_usd=Decimal("0.0001") * (i + 1)
        )
        for i in range(keys)
    }
    daily = {cell: usage for (_, cell), usage in hourly.items()}
    return DayRollup(DAY, hourly=hourly, daily=daily)


def _hour_items() -> list[str]:
    found = aws.dynamodb_table().query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"HD#{DAY}"}
    )
    return sorted(str(item["sk"]) for item in found["Items"])


def _stored_hour(store: RollupStore) -> dict[tuple[str, Cell], Usage]:
    read = [(label, cell, usage) for label, cell, usage in store.hourly_detail(DAY)]
    assert len(read) == len({(label, cell) for label, cell, _ in read})  # each cell once
    return {(label, cell): usage for label, cell, usage in read}


def test_an_hour_in_shards_reads_back_and_fewer_shards_leave_none_of_the_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rollups, "SHARD_BYTES", 1_000)  # a few hundred cells pass it
    store = RollupStore()
    large = _day(400)
    store.replace_day(large, keep_hourly=True, hourly_retention_days=36500)
    shards = _hour_items()
    assert len(shards) > 2
    assert all(sk.startswith("05!") for sk in shards)
    assert _stored_hour(store) == large.hourly

    small = _day(3)
    store.replace_day(small, keep_hourly=True, hourly_retention_days=36500)
    assert _hour_items() == ["05"]
    assert _stored_hour(store) == small.hourly


def test_an_hours_old_and_new_items_side_by_side_read_each_cell_once() -> None:
    store = RollupStore()
    day = _day(3)
    store.replace_day(day, keep_hourly=True, hourly_retention_days=36500)
    (label, cell), usage = next(iter(day.hourly.items()))
    # a cell item of the layout before, of a cell the hour's document holds too (a rewrite half done)
    aws.dynamodb_table().put_item(
        Item={
            "pk": f"HD#{DAY}",
            "sk": f"05#{cell.key}#{cell.project}#{cell.model}",
            "v": (usage + usage).to_stored(),
        }
    )
    read = _stored_hour(store)
    assert set(read) == set(day.hourly)
    # and the next rewrite of the day removes the leftover
    store.replace_day(day, keep_hourly=True, hourly_retention_days=36500)
    assert _hour_items() == ["05"]
    assert _stored_hour(store) == day.hourly
    assert read[(label, cell)] in (usage, usage + usage)
