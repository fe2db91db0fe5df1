"""Per-key series (chalicelib.store.series) on DynamoDB Local with the simulator: written by the
collector for closed days, equal to the aggregates, taken only where the day's voucher or stamps vouch
for them, and a filtered daily read answers exactly what the aggregates answer, series or not."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib.catalog import PriceTable
from chalicelib.collector import Collector, CollectorConfig
from chalicelib.periods import DAY, day_label, day_start, floor_day
from chalicelib.query.selection import Selection
from chalicelib.query.sources import read_stored, stored_records
from chalicelib.store import rollups
from chalicelib.store import table as table_module
from chalicelib.store.rollups import Cell, DayRollup, Item, RollupStore
from chalicelib.store.series import item_key, parts_of, read_vouchers, usage_of, voucher_key
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional.collector_helpers import make_client, make_collector

pytestmark = pytest.mark.usefixtures("usage_table")

TODAY = floor_day(SIM_NOW)
FIRST = TODAY - 20 * DAY


class CountingStore(RollupStore):
    """A RollupStore that notes the days whose whole aggregate items a read took (a spy on real reads)."""

    def __init__(self) -> None:
        super().__init__()
        self.whole_days: list[str] = []

    def stamped_items(self, stamps: Any) -> list[Item]:
        stamps = list(stamps)
        self.whole_days += sorted({str(stamp["sk"])[:10] for stamp in stamps})
        return super().stamped_items(stamps)


def _collect(sim_server: Any) -> None:
    make_collector(sim_server).backfill(FIRST, TODAY + DAY, SIM_NOW)


def _selection(keys: list[str], days: int = 21) -> Selection:
    return Selection(
        start=TODAY - (days - 1) * DAY,
        end=TODAY + DAY,
        bucket_width="1d",
        group_by=("api_key_id",),
        api_key_ids=tuple(keys),
    )


def _sums(records: Any, keys: list[str]) -> dict[tuple[str, str], Usage]:
    found: dict[tuple[str, str], Usage] = defaultdict(Usage)
    for record in records:
        if record.key in keys:
            found[(record.day, record.key)] = found[(record.day, record.key)] + record.usage
    return dict(found)


def _busiest(store: RollupStore, count: int) -> list[str]:
    totals: dict[str, Usage] = defaultdict(Usage)
    for members in store.daily_aggregates("key", day_label(FIRST), day_label(TODAY)).values():
        for key, usage in members.items():
            totals[key] = totals[key] + usage
    return sorted(totals, key=lambda key: -totals[key].total_tokens)[:count]


def test_the_collector_writes_each_keys_closed_days_equal_to_the_aggregates(sim_server):
    _collect(sim_server)
    store = RollupStore()
    aggregates = store.daily_aggregates("key", day_label(FIRST), day_label(TODAY))
    keys = sorted({key for members in aggregates.values() for key in members})
    series = store.key_series(keys, aggregates)

    assert len(keys) >= 10
    for day, members in aggregates.items():
        for key, usage in members.items():
            if day == day_label(TODAY):  # the open day changes every run: never in a series
                assert day not in series.get(key, {})
            else:
                assert usage_of(series[key][day]) == usage
    assert sum(len(days) for days in series.values()) == sum(
        len(members) for day, members in aggregates.items() if day != day_label(TODAY)
    )
    for key in keys:  # each item under 1 KB: one write unit per write
        items = store.table.query(KeyConditionExpression=Key("pk").eq(item_key(key, "")["pk"]))["Items"]
        assert items
        sizes = [len(bytes(item["z"])) + len(str(item["pk"])) + len(str(item["sk"])) for item in items]
        assert max(sizes) < 1000, sizes


def test_a_second_collection_of_unchanged_days_writes_no_series(sim_server):
    _collect(sim_server)
    store = RollupStore()
    collector = Collector(make_client(sim_server), store, PriceTable.load(), CollectorConfig())
    before = table_module.STATS.items_written

    collector.collect_window(TODAY - 2 * DAY, TODAY + DAY, SIM_NOW)

    assert table_module.STATS.items_written == before  # neither the days nor their series rewritten
    assert store.write_series() == 0


def test_a_filtered_read_takes_the_series_and_answers_what_the_aggregates_answer(sim_server):
    _collect(sim_server)
    store = CountingStore()
    keys = _busiest(store, 2)
    selection = _selection(keys)

    read = read_stored(selection, store)
    plain = stored_records(selection, store)  # every key's aggregate items

    assert _sums(read.records, keys) == _sums(plain, keys)
    assert len(_sums(read.records, keys)) > 20  # both keys on most days: the comparison can fail
    assert store.whole_days == [day_label(TODAY)]  # only the open day's aggregate is read whole
    unfiltered = read_stored(Selection(selection.start, selection.end, "1d", ("api_key_id",)), store)
    assert read.fingerprint == unfiltered.fingerprint  # the report memo keys on the same content


def test_a_day_rewritten_without_its_series_is_read_from_the_aggregate(sim_server):
    _collect(sim_server)
    store = CountingStore()
    keys = _busiest(store, 2)
    day = day_label(TODAY - 5 * DAY)
    # A run that crashed after writing the day's aggregates, before its series: the day doubled.
    stored = {(d, cell): usage for d, cell, usage in store.daily_detail(day, day)}
    doubled = DayRollup(day, daily={cell: usage + usage for (_, cell), usage in stored.items()})
    store.replace_day(doubled, keep_hourly=False, hourly_retention_days=35)

    read = read_stored(_selection(keys), store)

    sums = _sums(read.records, keys)
    assert sums == _sums(stored_records(_selection(keys), store), keys)
    aggregate = store.daily_aggregates("key", day, day)[day]
    assert sums[(day, keys[0])] == aggregate[keys[0]]
    assert sorted(store.whole_days) == sorted([day, day_label(TODAY)])


def test_a_table_written_before_series_reads_the_aggregates(sim_server):
    _collect(sim_server)
    store = CountingStore()
    keys = _busiest(store, 3)
    for days in (1, 7, 21):
        selection = _selection(keys, days)
        expected = _sums(stored_records(selection, store), keys)
        # every key's series and every day's voucher gone, as in a table written before series
        labels = [day_label(ts) for ts in range(selection.start, selection.end, DAY)]
        for key in keys:
            for part in parts_of(labels):
                store.table.delete_item(Key=item_key(key, part))
        for day in labels:
            store.table.delete_item(Key=voucher_key(day))

        assert _sums(read_stored(selection, store).records, keys) == expected
        assert len(store.whole_days) >= len({record[0] for record in expected})
        store.whole_days.clear()


def test_compare_and_filtered_usage_agree_with_the_unfiltered_report(sim_server):
    _collect(sim_server)
    store = RollupStore()
    keys = _busiest(store, 2)
    selection = _selection(keys)
    everything = Selection(selection.start, selection.end, "1d", ("api_key_id",))

    filtered = _sums(read_stored(selection, store).records, keys)
    whole = _sums(read_stored(everything, store).records, keys)

    assert filtered == whole
    assert len(filtered) > 20


def test_the_next_run_rewrites_the_series_of_a_day_a_crashed_run_left_behind(sim_server):
    _collect(sim_server)
    store = CountingStore()
    keys = _busiest(store, 2)
    day = day_label(TODAY - 1 * DAY)
    stored = {cell: usage for _, cell, usage in store.daily_detail(day, day)}
    # a run that wrote the day's aggregates and crashed before its series
    doubled = DayRollup(day, daily={cell: usage + usage for cell, usage in stored.items()})
    store.replace_day(doubled, keep_hourly=False, hourly_retention_days=35)
    read_stored(_selection(keys), store)
    assert day in store.whole_days
    store.whole_days.clear()
    collector = Collector(make_client(sim_server), store, PriceTable.load(), CollectorConfig())
    store.trust_digests = True  # even a run that trusts earlier writes: the day it rewrites is queued

    collector.collect_window(TODAY - 2 * DAY, TODAY + DAY, SIM_NOW)
    read = read_stored(_selection(keys), store)

    assert store.whole_days == [day_label(TODAY)]
    assert _sums(read.records, keys) == _sums(stored_records(_selection(keys), store), keys)
    assert read_stored(_selection(keys), store).fingerprint == read.fingerprint


def test_the_series_of_a_sharded_day_names_each_keys_shard(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(rollups, "SHARD_BYTES", 2_000)  # 400 keys make several shards
    store = CountingStore()
    day = day_label(TODAY - 3 * DAY)
    cells = {
        Cell(f"key_{i:05d}", "gpt-4o-2024-08-06", f"proj_{i % 5}"): Usage(
            input_tokens=1_000 + i * 7, requests=1 + i % 13, estimated_usd=Decimal(i) / 1000
        )
        for i in range(400)
    }
    store.replace_day(DayRollup(day, daily=cells), keep_hourly=False, hourly_retention_days=35, closed=True)
    store.write_series()
    keys = ["key_00003", "key_00397"]
    selection = Selection(day_start(day), day_start(day) + DAY, "1d", ("api_key_id",), tuple(keys))

    read = read_stored(selection, store)

    assert len(store.aggregate_items("AD", "key", day, day)) > 1  # the keys sit in different shards
    assert store.whole_days == []
    by_key = rollups.aggregate(cells.items(), "key")
    assert _sums(read.records, keys) == {(day, key): by_key[key] for key in keys}


def _idle_days(store: RollupStore, key: str) -> list[str]:
    aggregates = store.daily_aggregates("key", day_label(FIRST), day_label(TODAY - DAY))
    return [day for day, members in aggregates.items() if key not in members]


def _idlest(store: RollupStore) -> str:
    """A key with usage on some of the closed days and none on others."""
    aggregates = store.daily_aggregates("key", day_label(FIRST), day_label(TODAY - DAY))
    keys = sorted({key for members in aggregates.values() for key in members})
    partly = [key for key in keys if 0 < len(_idle_days(store, key)) < len(aggregates) - 1]
    assert partly, "the simulated organization has no key idle on some days only"
    return partly[0]


def test_each_closed_day_has_a_voucher_naming_its_items(sim_server):
    _collect(sim_server)
    store = RollupStore()
    vouchers = read_vouchers(store.table, day_label(FIRST), day_label(TODAY))

    assert sorted(vouchers) == [day_label(ts) for ts in range(FIRST, TODAY, DAY)]  # not the open day
    for day, hashes in vouchers.items():
        stamps = store.aggregate_stamps("AD", "key", day, day)
        assert stamps is not None
        assert hashes == {str(stamp["sk"]): bytes(stamp[rollups.CONTENT_HASH]) for stamp in stamps}


def test_a_key_idle_on_vouched_days_reads_no_day_whole(sim_server):
    _collect(sim_server)
    store = CountingStore()
    idle = _idlest(store)
    keys = [idle, *(key for key in _busiest(store, 2) if key != idle)]
    selection = _selection(keys)

    read = read_stored(selection, store)

    assert _sums(read.records, keys) == _sums(stored_records(selection, store), keys)
    assert store.whole_days == [day_label(TODAY)]  # the idle days are known idle from their vouchers
    unfiltered = read_stored(Selection(selection.start, selection.end, "1d", ("api_key_id",)), store)
    assert read.fingerprint == unfiltered.fingerprint  # vouchers give the items' own stamps


def test_a_run_that_crashed_after_a_closed_days_aggregates_leaves_it_unvouched(sim_server):
    _collect(sim_server)
    store = CountingStore()
    idle = _idlest(store)
    day = _idle_days(store, idle)[0]
    # the crashed run gave the idle key usage that day and stopped before the day's series
    stored = {cell: usage for _, cell, usage in store.daily_detail(day, day)}
    cell = next(iter(stored))
    grown = {**stored, Cell(idle, cell.model, cell.project): stored[cell]}
    store.replace_day(DayRollup(day, daily=grown), keep_hourly=False, hourly_retention_days=35, closed=True)

    assert day not in read_vouchers(store.table, day, day)  # gone before the items changed
    read = read_stored(_selection([idle]), store)

    assert _sums(read.records, [idle])[(day, idle)] == stored[cell]
    assert sorted(store.whole_days) == sorted([day, day_label(TODAY)])
    store.write_series()  # the run had finished: the day is vouched again
    store.whole_days.clear()
    assert _sums(read_stored(_selection([idle]), store).records, [idle])[(day, idle)] == stored[cell]
    assert store.whole_days == [day_label(TODAY)]


def test_a_trusting_run_that_rewrites_one_shard_vouches_for_the_day_again(sim_server, monkeypatch):
    monkeypatch.setattr(rollups, "SHARD_BYTES", 300)  # every day in several shards
    _collect(sim_server)
    store = CountingStore()
    day = day_label(TODAY - 3 * DAY)
    stamps = store.aggregate_stamps("AD", "key", day, day)
    assert stamps is not None
    assert len(stamps) > 2
    stored = {cell: usage for _, cell, usage in store.daily_detail(day, day)}
    first = min(stored)  # the first key's cells: the first shard
    changed = {cell: usage + usage if cell.key == first.key else usage for cell, usage in stored.items()}
    store.trust_digests = True

    written = store.replace_day(
        DayRollup(day, daily=changed), keep_hourly=False, hourly_retention_days=35, closed=True
    )
    store.write_series()

    after = store.aggregate_stamps("AD", "key", day, day)
    assert after is not None
    before = {(str(s["sk"]), bytes(s[rollups.CONTENT_HASH])) for s in stamps}
    kept = before & {(str(s["sk"]), bytes(s[rollups.CONTENT_HASH])) for s in after}
    assert kept  # one shard rewritten, the old voucher names the others
    assert len(kept) < len(before)
    assert written < len(stored)
    assert read_vouchers(store.table, day, day)[day] == {
        str(s["sk"]): bytes(s[rollups.CONTENT_HASH]) for s in after
    }
    keys = [first.key, *(key for key in _busiest(store, 2) if key != first.key)]
    read = read_stored(_selection(keys), store)
    assert _sums(read.records, keys) == _sums(stored_records(_selection(keys), store), keys)
    assert store.whole_days == [day_label(TODAY)]
