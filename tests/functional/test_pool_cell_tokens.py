"""`/api/pools` from the day's cell-token documents (chalicelib.store.cell_tokens) on DynamoDB Local: the
report equals the one summed from the daily and hourly detail (what a day stored before the documents
still gets), with a pool run out, with projects filtered and with the documents in shards, and it reads
no detail at all."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import aws
from chalicelib.periods import HOUR, day_label, floor_day, hour_label
from chalicelib.pools import load_pool_inputs, pool_report
from chalicelib.query.memo import VIEW_MEMO
from chalicelib.query.pools import pools_today
from chalicelib.settings import Settings, get_settings
from chalicelib.store import cell_tokens
from chalicelib.store import table as store_table
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore, fingerprint
from chalicelib.store.table import query_all
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW

pytestmark = pytest.mark.usefixtures("usage_table")

TODAY = day_label(SIM_NOW)
HOURS = [hour_label(floor_day(SIM_NOW) + h * HOUR) for h in range(10)]  # 00..09; now is 10:17
LARGE, MINI, NEW = "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "brand-new-model"
CELLS = [
    Cell(f"key_ct{i}", model, project)
    for i, (model, project) in enumerate(
        [
            (LARGE, "proj_a"),
            (LARGE, "proj_b"),
            (LARGE, "proj_a"),
            (MINI, "proj_a"),
            (MINI, "proj_b"),
            (NEW, "proj_b"),
        ]
    )
]
CELLS.append(Cell("key_ct0", MINI, "proj_a"))  # one key in both pools


def _day(hours: list[str] = HOURS) -> DayRollup:
    """Ten hours of the seven cells: 3 large keys spend ~3 x 13,000 x (h + 1) an hour, so the 250,000
    cap of tier 1-2 is crossed in hour 03 among three contributors; plus a cell with requests only."""
    hourly: dict[tuple[str, Cell], Usage] = {}
    for h, hour in enumerate(hours):
        for i, cell in enumerate(CELLS):
            tokens = 13_000 * (h + 1) + 7 * i
            hourly[(hour, cell)] = Usage(input_tokens=tokens, output_tokens=i, requests=1)
        hourly[(hour, Cell("key_ctidle", LARGE, "proj_a"))] = Usage(requests=1)  # no tokens
    daily: dict[Cell, Usage] = {}
    for (_, cell), usage in hourly.items():
        daily[cell] = daily[cell] + usage if cell in daily else usage
    return DayRollup(TODAY, hourly=hourly, daily=daily)


class NoDetail(RollupStore):
    """A rollup store that fails a read of the detail: the documents must answer alone."""

    def daily_detail(self, first_day: str, last_day: str) -> Any:
        raise AssertionError("daily detail read")

    def hourly_detail(self, day: str) -> Any:
        raise AssertionError("hourly detail read")


def _report(rollups: RollupStore, settings: Settings) -> dict[str, Any]:
    return pool_report(SIM_NOW, settings, rollups, DirectoryStore(), data_as_of=SIM_NOW).as_dict()


def _drop_documents() -> None:
    """What a table written before the documents holds: the same day without them."""
    table = aws.dynamodb_table()
    for item in list(query_all(table, KeyConditionExpression=Key("pk").eq(f"CT#{TODAY}"))):
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def _settings(sharing: tuple[str, ...]) -> Settings:
    return dataclasses.replace(get_settings(), sharing_projects=sharing)


@pytest.mark.parametrize("sharing", [(), ("proj_a",)], ids=["every-project", "proj_a-shares"])
def test_pools_from_the_documents_equal_pools_from_the_detail_and_read_none(sharing: tuple[str, ...]) -> None:
    settings = _settings(sharing)
    RollupStore().replace_day(_day(), keep_hourly=True, hourly_retention_days=35)

    store_table.reset_stats()
    from_documents = _report(NoDetail(), settings)
    documents_read = store_table.reset_stats().items_read
    _drop_documents()
    from_detail = _report(RollupStore(), settings)
    detail_read = store_table.reset_stats().items_read

    assert from_documents == from_detail
    large = next(pool for pool in from_documents["pools"] if pool["pool"] == "large")
    counted = [cell for cell in CELLS if cell.model == LARGE and (not sharing or cell.project in sharing)]
    expected_used = sum(_day().daily[cell].total_tokens for cell in counted)
    assert large["used"] == expected_used > large["cap"]
    assert large["exhausted_at"] is not None
    assert sum(key["over_cap_tokens"] for key in large["keys"]) == expected_used - large["cap"]
    assert {key["api_key_id"] for key in large["keys"]} == {cell.key for cell in counted}
    assert [model["model"] for model in from_documents["unclassified_models"]] == [NEW]
    # no detail (the daily cells, a document an hour): the cell-token documents
    assert documents_read <= detail_read - len(CELLS) - len(HOURS)


def test_the_alert_hooks_cells_are_the_detail_cells_with_tokens() -> None:
    RollupStore().replace_day(_day(), keep_hourly=True, hourly_retention_days=35)
    settings = get_settings()

    from_documents = load_pool_inputs(SIM_NOW, settings, NoDetail(), DirectoryStore(), data_as_of=SIM_NOW)
    _drop_documents()
    from_detail = load_pool_inputs(SIM_NOW, settings, RollupStore(), DirectoryStore(), data_as_of=SIM_NOW)

    assert from_documents.daily_cells == {cell: n for cell, n in from_detail.daily_cells.items() if n}
    assert sorted(from_documents.cell_hours or []) == sorted(from_detail.cell_hours or [])
    assert Cell("key_ctidle", LARGE, "proj_a") in from_detail.daily_cells  # the detail keeps it at 0


def test_sharded_documents_read_back_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cell_tokens, "SHARD_BYTES", 120)  # a few cells a shard
    RollupStore().replace_day(_day(), keep_hourly=True, hourly_retention_days=35)
    sks = [
        str(item["sk"])
        for item in query_all(aws.dynamodb_table(), KeyConditionExpression=Key("pk").eq(f"CT#{TODAY}"))
    ]
    assert "day#01" in sks
    assert f"{HOURS[0][-2:]}#01" in sks

    from_documents = _report(NoDetail(), get_settings())
    _drop_documents()
    assert from_documents == _report(RollupStore(), get_settings())


def test_a_rewrite_deletes_the_document_of_an_hour_left_without_tokens_and_keeps_the_rest() -> None:
    store = RollupStore()
    store.replace_day(_day(), keep_hourly=True, hourly_retention_days=35)
    shorter = _day(HOURS[:-1])

    written = store.replace_day(shorter, keep_hourly=True, hourly_retention_days=35)

    stored = store.cell_tokens(TODAY, hours=True)
    assert stored is not None
    assert stored.hourly is not None
    assert {label for label, _, _ in stored.hourly} == set(HOURS[:-1])
    assert stored.daily == {
        cell: usage.total_tokens for cell, usage in shorter.daily.items() if usage.total_tokens
    }
    assert written > 0
    assert store.replace_day(shorter, keep_hourly=True, hourly_retention_days=35) == 0


def test_a_quiet_day_has_an_empty_document_and_an_old_day_none() -> None:
    store = RollupStore()
    store.replace_day(DayRollup(TODAY), keep_hourly=True, hourly_retention_days=35)
    store.replace_day(
        DayRollup("2026-01-01", daily={CELLS[0]: Usage(input_tokens=5)}),
        keep_hourly=False,
        hourly_retention_days=35,
    )

    quiet = store.cell_tokens(TODAY, hours=False)
    assert quiet is not None
    assert quiet.daily == {}
    assert quiet.hourly is None
    assert store.cell_tokens("2026-01-01", hours=True) is None  # past the hourly retention: the detail
    assert _report(NoDetail(), get_settings())["pools"][0]["used"] == 0


def test_a_document_holds_each_cells_input_plus_output_tokens() -> None:
    usage = Usage(input_tokens=10, output_tokens=3, estimated_usd=Decimal("0.5"))
    RollupStore().replace_day(
        DayRollup(TODAY, hourly={(HOURS[0], CELLS[0]): usage}, daily={CELLS[0]: usage}),
        keep_hourly=True,
        hourly_retention_days=35,
    )
    stored = RollupStore().cell_tokens(TODAY, hours=True)
    assert stored is not None
    assert stored.daily == {CELLS[0]: 13}
    assert stored.hourly == [(HOURS[0], CELLS[0], 13)]


def _swap_day(large_a: int, large_b: int) -> DayRollup:
    """Keys A and B, each in both pools; a large/mini swap keeps every key's, model's and project's
    total (so every aggregate) as it was and changes who used which pool."""
    tokens = {
        Cell("key_swapA", LARGE, "proj_a"): large_a,
        Cell("key_swapA", MINI, "proj_a"): 300 - large_a,
        Cell("key_swapB", LARGE, "proj_a"): large_b,
        Cell("key_swapB", MINI, "proj_a"): 300 - large_b,
    }
    daily = {cell: Usage(input_tokens=n, requests=1) for cell, n in tokens.items()}
    return DayRollup(TODAY, hourly={(HOURS[0], cell): usage for cell, usage in daily.items()}, daily=daily)


def test_pools_from_the_memo_change_when_the_cells_change_behind_unchanged_aggregates() -> None:
    VIEW_MEMO.clear()
    store = RollupStore()
    store.replace_day(_swap_day(100, 200), keep_hourly=True, hourly_retention_days=35)
    before = pools_today({}, SIM_NOW)
    aggregates = store.aggregate_items("AD", "key", TODAY, TODAY) + store.aggregate_items(
        "AD", "model", TODAY, TODAY
    )

    store.replace_day(_swap_day(200, 100), keep_hourly=True, hourly_retention_days=35)
    after = pools_today({}, SIM_NOW)

    assert fingerprint(aggregates) == fingerprint(
        store.aggregate_items("AD", "key", TODAY, TODAY) + store.aggregate_items("AD", "model", TODAY, TODAY)
    )
    large = next(pool for pool in after["pools"] if pool["pool"] == "large")
    assert {key["api_key_id"]: key["tokens"] for key in large["keys"]} == {"key_swapA": 200, "key_swapB": 100}
    assert after != before
