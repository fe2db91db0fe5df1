"""Aggregate items split into shards (chalicelib.store.rollups.SHARD_BYTES) on DynamoDB Local: a
large day is written as several items under the limit, reads back whole through every read path,
goes back to one item when it shrinks, and unsharded items written before still read."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import aws
from chalicelib.periods import DAY, day_start
from chalicelib.query.selection import parse_selection
from chalicelib.query.sources import read_stored
from chalicelib.store import rollups
from chalicelib.store.rollups import SHARD_BYTES, Cell, DayRollup, RollupStore
from chalicelib.usage import Usage

pytestmark = pytest.mark.usefixtures("usage_table")

DAY_LABEL = "2026-11-18"
HOUR = f"{DAY_LABEL}T09"
SMALL_SHARD = 2_000  # bytes: a few hundred keys make several shards


def _usage(rng: random.Random) -> Usage:
    tokens = rng.randint(1, 5_000_000)
    return Usage(
        input_tokens=tokens,
        output_tokens=rng.randint(0, tokens),
        requests=rng.randint(1, 9_000),
        estimated_usd=Decimal(rng.randint(1, 10**8)) / Decimal(10**6),
    )


def _day(keys: int, seed: int = 7) -> DayRollup:
    rng = random.Random(seed)
    cells = {Cell(f"key_{i:05d}", "gpt-4o-2024-08-06", f"proj_{i % 5}"): _usage(rng) for i in range(keys)}
    return DayRollup(DAY_LABEL, hourly={(HOUR, cell): usage for cell, usage in cells.items()}, daily=cells)


def _items(pk: str) -> list[dict[str, Any]]:
    table = aws.dynamodb_table()
    return list(table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"])


def _by_key(day: DayRollup) -> dict[str, Usage]:
    return rollups.aggregate(day.daily.items(), "key")


def _report_totals(store: RollupStore) -> dict[str, int]:
    params = {
        "start_time": [str(day_start(DAY_LABEL))],
        "end_time": [str(day_start(DAY_LABEL) + DAY)],
        "bucket_width": ["1d"],
        "group_by": ["api_key_id"],
    }
    selection = parse_selection(params, day_start(DAY_LABEL) + 2 * DAY, 35)
    tokens: dict[str, int] = {}
    for record in read_stored(selection, store).records:
        assert record.key is not None
        tokens[record.key] = tokens.get(record.key, 0) + record.usage.input_tokens
    return tokens


def test_a_large_day_is_written_in_shards_under_the_limit_and_reads_back_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rollups, "SHARD_BYTES", SMALL_SHARD)
    store = RollupStore()
    day = _day(400)
    store.replace_day(day, keep_hourly=True, hourly_retention_days=35)
    stored = _items("AD#key")
    assert len(stored) > 3
    assert all(str(item["sk"]).startswith(f"{DAY_LABEL}#") for item in stored)
    assert all(len(bytes(item["z"])) <= SMALL_SHARD for item in stored)
    assert len(_items("AH#key")) > 3
    expected = _by_key(day)
    assert store.daily_aggregates("key", DAY_LABEL, DAY_LABEL) == {DAY_LABEL: expected}
    assert store.hourly_aggregates("key", HOUR, HOUR) == {HOUR: expected}
    assert _report_totals(store) == {key: usage.input_tokens for key, usage in expected.items()}
    # unchanged: a second write writes nothing (each shard compares equal to what is stored)
    assert store.replace_day(day, keep_hourly=True, hourly_retention_days=35) == 0


def test_a_day_that_shrinks_goes_back_to_one_item_and_its_shards_are_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rollups, "SHARD_BYTES", SMALL_SHARD)
    store = RollupStore()
    store.replace_day(_day(400), keep_hourly=True, hourly_retention_days=35)
    small = _day(3)
    store.replace_day(small, keep_hourly=True, hourly_retention_days=35)
    assert [item["sk"] for item in _items("AD#key")] == [DAY_LABEL]
    assert [item["sk"] for item in _items("AH#key")] == [HOUR]
    assert store.daily_aggregates("key", DAY_LABEL, DAY_LABEL) == {DAY_LABEL: _by_key(small)}


def test_an_unsharded_day_written_before_becomes_shards_when_it_grows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = RollupStore()
    store.replace_day(_day(400), keep_hourly=False, hourly_retention_days=35)  # the real limit: one item
    assert [item["sk"] for item in _items("AD#key")] == [DAY_LABEL]
    monkeypatch.setattr(rollups, "SHARD_BYTES", SMALL_SHARD)
    assert store.daily_aggregates("key", DAY_LABEL, DAY_LABEL) == {DAY_LABEL: _by_key(_day(400))}
    grown = _day(500)
    store.replace_day(grown, keep_hourly=False, hourly_retention_days=35)
    sks = [str(item["sk"]) for item in _items("AD#key")]
    assert DAY_LABEL not in sks
    assert len(sks) > 3
    assert store.daily_aggregates("key", DAY_LABEL, DAY_LABEL) == {DAY_LABEL: _by_key(grown)}
    found = store.day_items(DAY_LABEL, ("key", "model"))  # the BatchGet misses the shards: queried
    assert {str(item["pk"]) for item in found} == {"AD#key", "AD#model"}
    assert len(found) == len(sks) + 1


def test_ten_thousand_keys_make_shards_under_the_real_limit() -> None:
    members = _by_key(_day(10_000))
    parts = rollups._shards(members)
    assert len(parts) > 1
    assert all(len(packed) <= SHARD_BYTES < 100_000 for packed, _ in parts)
    merged: dict[str, Usage] = {}
    for _, part in parts:
        assert not merged.keys() & part.keys()
        merged.update(part)
    assert merged == members


def test_stamps_fingerprint_the_items_and_items_without_a_content_hash_have_none() -> None:
    store = RollupStore()
    store.replace_day(_day(40), keep_hourly=True, hourly_retention_days=35)
    stamps = store.aggregate_stamps("AD", "key", DAY_LABEL, DAY_LABEL)
    assert stamps is not None
    assert all("z" not in stamp for stamp in stamps)
    items = store.aggregate_items("AD", "key", DAY_LABEL, DAY_LABEL)
    assert rollups.fingerprint(stamps) == rollups.fingerprint(items)
    store.replace_day(_day(41), keep_hourly=True, hourly_retention_days=35)
    changed = store.aggregate_stamps("AD", "key", DAY_LABEL, DAY_LABEL)
    assert changed is not None
    assert rollups.fingerprint(changed) != rollups.fingerprint(stamps)
    table = aws.dynamodb_table()
    table.update_item(Key={"pk": "AD#key", "sk": DAY_LABEL}, UpdateExpression="REMOVE h")  # an older item
    assert store.aggregate_stamps("AD", "key", DAY_LABEL, DAY_LABEL) is None
    assert _report_totals(store) == {key: usage.input_tokens for key, usage in _by_key(_day(41)).items()}
