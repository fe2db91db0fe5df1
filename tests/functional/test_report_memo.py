"""The report memo (chalicelib.query.memo) on DynamoDB Local: a view asked again is served from it,
and neither new data nor a rename is ever hidden by it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.keys.model import KeyMapping
from chalicelib.periods import DAY, day_label, day_start, floor_day
from chalicelib.query import usage as usage_query
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

empty_api = api_helpers.empty_api

DAY_LABEL = day_label(floor_day(SIM_NOW) - 5 * DAY)
CELL = Cell(key="key_memo1", model="gpt-4o-2024-08-06", project="proj_memo")
VIEW = {
    "start_time": day_start(DAY_LABEL),
    "end_time": day_start(DAY_LABEL) + DAY,
    "bucket_width": "1d",
    "group_by": "api_key_id",
}


def _store(input_tokens: int) -> None:
    usage = Usage(input_tokens=input_tokens, requests=1, estimated_usd=Decimal("0.25"))
    rollup = DayRollup(DAY_LABEL, daily={CELL: usage})
    RollupStore().replace_day(rollup, keep_hourly=False, hourly_retention_days=35)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the reports actually built (the memo's misses), calling through to the real builder."""
    built: list[int] = []
    real = usage_query.report_of

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(usage_query, "report_of", counting)
    return built


def test_a_view_asked_again_is_served_from_the_memo_until_its_data_changes(
    empty_api: api_helpers.Api, builds: list[int]
) -> None:
    _store(100)
    first = empty_api.json("/api/usage", VIEW)
    assert first["total"]["input_tokens"] == 100
    again = empty_api.json("/api/usage", VIEW)
    assert again == first
    assert len(builds) == 1  # the second answer was the kept report
    _store(250)  # the collector rewrites the day: a new fingerprint
    changed = empty_api.json("/api/usage", VIEW)
    assert changed["total"]["input_tokens"] == 250
    assert changed["groups"][0]["group"] == {"api_key_id": CELL.key}
    assert len(builds) == 2


def test_a_rename_shows_on_the_next_request_despite_the_memo(
    empty_api: api_helpers.Api, builds: list[int]
) -> None:
    _store(100)
    before = empty_api.json("/api/usage", VIEW)
    assert before["groups"][0]["label"] != "Renamed key"
    DirectoryStore().put_mapping(KeyMapping(key_id=CELL.key, name="Renamed key", created_at=SIM_NOW))
    after = empty_api.json("/api/usage", VIEW)
    assert after["groups"][0]["label"] == "Renamed key"
    assert after["total"] == before["total"]
    assert len(builds) == 2
