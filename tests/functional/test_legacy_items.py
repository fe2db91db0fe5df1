"""Rollup items written by the positional codec (before named counters) still read correctly."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib import aws
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import MONEY_FIELDS, Usage

pytestmark = pytest.mark.usefixtures("usage_table")

FIXTURE = Path(__file__).parent.parent / "fixtures" / "legacy_positional_rollups.json"
DAY = "2026-11-20"


def _load() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIXTURE.read_text())
    for item in document["items"]:
        if "z" in item:
            item["z"]["B"] = base64.b64decode(item["z"]["B"])
    return document


def _expected(document: dict[str, Any]) -> dict[Cell, Usage]:
    cells: dict[Cell, Usage] = {}
    for sk, values in document["cells"].items():
        key, project, model = sk.split("#", 2)
        parsed = {
            name: Decimal(value) if name in MONEY_FIELDS else value
            for name, value in values.items()
            if name != "total_tokens"
        }
        cells[Cell(key, model, project)] = Usage(**parsed)  # the fixture's Usage had 12 fields
    return cells


def _put_raw(document: dict[str, Any]) -> None:
    client = aws.dynamodb_client()
    table = aws.dynamodb_table().name
    for item in document["items"]:
        client.put_item(TableName=table, Item=item)


def test_items_in_the_positional_format_read_back_as_the_usage_they_were_written_from():
    document = _load()
    expected = _expected(document)
    _put_raw(document)
    store = RollupStore()

    daily = {cell: usage for _, cell, usage in store.daily_detail(DAY, DAY)}
    hourly = {cell: usage for _, cell, usage in store.hourly_detail(DAY)}
    by_model = store.daily_aggregates("model", DAY, DAY)[DAY]
    by_key_hour = store.hourly_aggregates("key", f"{DAY}T00", f"{DAY}T23")

    assert daily == expected
    assert hourly == expected
    assert by_model == {cell.model: usage for cell, usage in expected.items()}
    assert by_key_hour == {
        f"{DAY}T09": {"key_legacyA": expected[Cell("key_legacyA", "gpt-4o-mini-2024-07-18", "proj_one")]},
        f"{DAY}T13": {
            "unattributed": expected[Cell("unattributed", "gpt-4o-audio-preview-2024-12-17", "proj_two")]
        },
    }
    assert all(usage.web_searches == 0 and usage.cache_write_30m_tokens == 0 for usage in daily.values())


def test_rewriting_an_unchanged_legacy_day_writes_nothing_and_a_changed_one_moves_to_named_counters():
    document = _load()
    expected = _expected(document)
    _put_raw(document)
    store = RollupStore()
    rollup = DayRollup(day=DAY, daily=dict(expected))
    rollup.hourly = {
        (f"{DAY}T09" if cell.key == "key_legacyA" else f"{DAY}T13", cell): usage
        for cell, usage in expected.items()
    }

    # A legacy day has no cell-token documents (chalicelib.store.cell_tokens) and an item per hourly
    # cell: the first rewrite adds the day's and its two hours' cell-token documents and moves each
    # hour's cell into the hour's detail document (2 written, 2 deleted); the next writes nothing.
    assert store.replace_day(rollup, keep_hourly=True, hourly_retention_days=36500) == 3 + 2 + 2
    assert {cell: usage for _, cell, usage in store.hourly_detail(DAY)} == expected
    assert store.replace_day(rollup, keep_hourly=True, hourly_retention_days=36500) == 0

    changed = Cell("key_legacyA", "gpt-4o-mini-2024-07-18", "proj_one")
    rollup.daily[changed] = expected[changed] + Usage(web_searches=3)
    assert (
        store.replace_day(rollup, keep_hourly=True, hourly_retention_days=36500) == 4
    )  # detail + 3 aggregates
    raw = aws.dynamodb_table().get_item(
        Key={"pk": f"DD#{DAY[:7]}", "sk": f"{DAY}#key_legacyA#proj_one#gpt-4o-mini-2024-07-18"}
    )
    assert raw["Item"]["v"] == {"i": 1200, "o": 340, "c": 512, "r": 7, "e": Decimal("0.000384"), "ws": 3}
    assert {cell: usage for _, cell, usage in store.daily_detail(DAY, DAY)}[changed].web_searches == 3


def test_the_named_form_omits_zeros_and_ignores_names_it_does_not_know():
    usage = Usage(input_tokens=5, cache_write_12h_tokens=2, vector_store_byte_hours=48_000_000_000)

    stored = usage.to_stored()

    assert stored == {"i": 5, "w12": 2, "vbh": 48_000_000_000}
    assert Usage.from_stored({**stored, "zz_future": 9}) == usage
    assert usage.vector_store_gb_days == 2
