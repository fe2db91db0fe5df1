"""The bench's before/after reading of an incremental run's window goes through chalicelib.store:
it finds every rollup item of the window's days, and none of another day's."""

from __future__ import annotations

from bench.collector import Target, changed_items, window_items
from chalicelib import aws
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage

DAYS = ["2026-11-29", "2026-11-30"]
OUTSIDE = "2026-11-28"


def _day(day: str, tokens: int) -> DayRollup:
    cells = [Cell("key_a", "gpt-4o", "proj_a"), Cell("key_b", "gpt-4o-mini", "proj_b")]
    usage = Usage(input_tokens=tokens, output_tokens=tokens // 2)
    return DayRollup(
        day,
        {(f"{day}T{hour:02d}", cell): usage for cell in cells for hour in (3, 17)},
        {cell: usage + usage for cell in cells},
    )


def _scanned() -> set[tuple[str, str]]:
    client = aws.dynamodb_client()
    table = aws.dynamodb_table().name
    keys = set()
    for page in client.get_paginator("scan").paginate(TableName=table):
        keys |= {(item["pk"]["S"], item["sk"]["S"]) for item in page["Items"]}
    return keys


def _of_day(key: tuple[str, str], day: str) -> bool:
    pk, sk = key
    return day in pk or sk.startswith(day)


def test_the_window_reading_holds_every_rollup_item_of_its_days_and_no_other(usage_table, local_aws):
    store = RollupStore()
    for day in (OUTSIDE, *DAYS):
        store.replace_day(_day(day, 100), keep_hourly=True, hourly_retention_days=35)
    MetaStore().record_directory_sync(1)
    target = Target(usage_table, local_aws.env())

    before = window_items(aws.dynamodb_client(), target, DAYS)

    scanned = _scanned()
    expected = {key for key in scanned if any(_of_day(key, day) for day in DAYS)}
    assert expected  # detail and aggregates, daily and hourly, of both days
    # CT: the cell-token documents (chalicelib.store.cell_tokens), rollup items since they came
    assert {key[0].split("#")[0] for key in expected} == {"DD", "HD", "AD", "AH", "CT"}
    assert {key for key in before if key[0] != "META"} == expected
    assert any(pk == "META" for pk, _ in before)  # the bookkeeping partitions are read too
    assert not any(_of_day(key, OUTSIDE) for key in before)

    store.replace_day(_day(DAYS[1], 200), keep_hourly=True, hourly_retention_days=35)
    after = window_items(aws.dynamodb_client(), target, DAYS)
    # HD: one detail document for each of the two hours (2 cells each)
    assert changed_items(before, after) == {"AD": 3, "AH": 6, "DD": 2, "HD": 2, "CT": 3}
