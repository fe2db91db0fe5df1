"""Detail digests (chalicelib.store.rollups.CELLS_DIGEST) on DynamoDB Local: with `trust_digests` a
rewrite of a day skips reading the hours and the daily detail that did not change, writes exactly
what a full read would, and a digest that does not match sends the group back to a full read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib import aws
from chalicelib.errors import OpenAIMalformedData
from chalicelib.store import table as store_table
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from simulator.server import SimulatorServer
from tests.functional.test_run_failures import garble_first_token_count, make_runner

pytestmark = pytest.mark.usefixtures("usage_table")

DAY = "2026-11-19"
HOURS = [f"{DAY}T{hh:02d}" for hh in range(8)]
CELLS = [Cell(f"key_dg{i}", "gpt-4o-2024-08-06", f"proj_{i % 2}") for i in range(6)]


def _day(extra_in_last_hour: int = 0) -> DayRollup:
    hourly: dict[tuple[str, Cell], Usage] = {}
    for h, hour in enumerate(HOURS):
        for i, cell in enumerate(CELLS):
            tokens = 100 * (h + 1) + i + (extra_in_last_hour if hour == HOURS[-1] else 0)
            hourly[(hour, cell)] = Usage(input_tokens=tokens, requests=1, estimated_usd=Decimal("0.01"))
    daily: dict[Cell, Usage] = {}
    for (_, cell), usage in hourly.items():
        daily[cell] = daily[cell] + usage if cell in daily else usage
    return DayRollup(DAY, hourly=hourly, daily=daily)


def _items_read(store: RollupStore, rollup: DayRollup) -> tuple[int, int]:
    """(items written, detail and aggregate items read) of one replace_day."""
    store_table.reset_stats()
    written = store.replace_day(rollup, keep_hourly=True, hourly_retention_days=36500)
    return written, store_table.reset_stats().items_read


def _stored(store: RollupStore) -> tuple[dict[object, Usage], dict[object, Usage]]:
    daily = {cell: usage for _, cell, usage in store.daily_detail(DAY, DAY)}
    hourly = {(label, cell): usage for label, cell, usage in store.hourly_detail(DAY)}
    return daily, hourly


def test_an_unchanged_day_is_not_read_again_and_a_changed_hour_alone_is() -> None:
    store = RollupStore()
    store.replace_day(_day(), keep_hourly=True, hourly_retention_days=36500)
    untrusted = _items_read(store, _day())
    store.trust_digests = True
    trusted = _items_read(store, _day())
    assert untrusted[0] == trusted[0] == 0
    # no daily detail (a cell an item) and no hourly detail (a document an hour) read
    assert trusted[1] == untrusted[1] - len(CELLS) - len(HOURS)
    changed = _day(extra_in_last_hour=5)
    written, read = _items_read(store, changed)
    # today's 6 daily cells and the last hour's detail document changed, with their aggregates and
    # the hour's and the day's cell-token documents (chalicelib.store.cell_tokens)
    assert written == len(CELLS) + 1 + 3 + 3 + 2
    assert read < untrusted[1]
    expected_daily = dict(changed.daily)
    expected_hourly = dict(changed.hourly)
    assert _stored(store) == (expected_daily, expected_hourly)


def test_a_detail_changed_behind_the_digest_is_repaired_by_a_run_that_does_not_trust_it() -> None:
    store = RollupStore()
    store.replace_day(_day(), keep_hourly=True, hourly_retention_days=36500)
    # a crashed writer's leftover: hour 03's detail is another hour's, not what its digest describes
    table = aws.dynamodb_table()
    other = table.get_item(Key={"pk": f"HD#{DAY}", "sk": "04"})["Item"]
    table.put_item(Item={**other, "sk": "03"})
    store.trust_digests = False  # what the runner does after a failed or cut-off run
    written, _ = _items_read(store, _day())
    assert written == 1
    assert _stored(store) == (_day().daily, _day().hourly)


def test_a_group_whose_digest_does_not_match_is_read_whole() -> None:
    store = RollupStore()
    store.replace_day(_day(), keep_hourly=True, hourly_retention_days=36500)
    # two keys' usage in one hour trade places: that hour's digest no longer matches
    moved = _day()
    first, second = CELLS[0], CELLS[1]
    hour = HOURS[2]
    a, b = moved.hourly[(hour, first)], moved.hourly[(hour, second)]
    moved.hourly[(hour, first)], moved.hourly[(hour, second)] = b, a
    store.trust_digests = True
    written, _ = _items_read(store, moved)
    assert written > 0
    assert _stored(store)[1] == moved.hourly


def test_the_runner_trusts_digests_only_after_a_clean_run(sim_server: SimulatorServer) -> None:
    runner = make_runner(sim_server)
    runner.incremental(SIM_NOW)
    assert runner.rollups.trust_digests  # a fresh checkpoint: no failures, no lease taken over
    sim_server.rewrite = garble_first_token_count
    with pytest.raises(OpenAIMalformedData):
        make_runner(sim_server).incremental(SIM_NOW + 900)
    sim_server.rewrite = None
    after_failure = make_runner(sim_server)
    full = after_failure.incremental(SIM_NOW + 1800)
    assert after_failure.rollups.trust_digests is False  # the failed run may have left a half-written day
    clean = make_runner(sim_server)
    trusting = clean.incremental(SIM_NOW + 2700)
    assert clean.rollups.trust_digests is True
    assert trusting.dynamodb_requests < full.dynamodb_requests  # the unchanged hours were not read


def test_a_trusting_run_keeps_a_certified_hours_stored_aggregates_and_an_untrusting_one_rebuilds_them() -> (
    None
):
    store = RollupStore()
    store.replace_day(_day(), keep_hourly=True, hourly_retention_days=36500)
    # a crashed writer's leftover behind the digest: hour 03's model aggregate is gone
    aws.dynamodb_table().delete_item(Key={"pk": "AH#model", "sk": f"{DAY}T03"})
    store.trust_digests = True  # a clean run before: hour 03's digest certifies its aggregates too
    assert _items_read(store, _day())[0] == 0
    assert f"{DAY}T03" not in store.hourly_aggregates("model", f"{DAY}T00", f"{DAY}T23")
    store.trust_digests = False  # after a failed or cut-off run: everything is rebuilt and compared
    assert _items_read(store, _day())[0] == 1
    rebuilt = store.hourly_aggregates("model", f"{DAY}T03", f"{DAY}T03")[f"{DAY}T03"]
    assert rebuilt == {"gpt-4o-2024-08-06": sum((_day().hourly[(f"{DAY}T03", c)] for c in CELLS), Usage())}
