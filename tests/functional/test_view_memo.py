"""The view memo (chalicelib.query.memo.VIEW_MEMO) behind `/api/keys` and `/api/pools` on DynamoDB
Local: a view asked again is served from it, its answer is the one computed without it, and neither
new data nor a mapping edit is ever hidden by it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.periods import HOUR, day_label, floor_day, hour_label
from chalicelib.pools import pool_report
from chalicelib.query.memo import VIEW_MEMO
from chalicelib.query.usage import Stores
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore, KeyMapping
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

empty_api = api_helpers.empty_api
sim_table = api_helpers.sim_table
api = api_helpers.api

TODAY = day_label(SIM_NOW)
HOUR_LABEL = hour_label(floor_day(SIM_NOW) + 3 * HOUR)
CELL = Cell(key="key_viewmemo1", model="gpt-4o-mini-2024-07-18", project="proj_viewmemo")


def _store(input_tokens: int) -> None:
    """Today's usage of one cell, in one early hour (what the collector would write)."""
    usage = Usage(input_tokens=input_tokens, requests=1, estimated_usd=Decimal("0.25"))
    rollup = DayRollup(TODAY, hourly={(HOUR_LABEL, CELL): usage}, daily={CELL: usage})
    RollupStore().replace_day(rollup, keep_hourly=True, hourly_retention_days=35)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the DIR reads, which only a miss of the memo makes, calling through to the real one."""
    built: list[int] = []
    real: Callable[..., Any] = DirectoryStore.directory

    def counting(self: DirectoryStore) -> Any:
        built.append(1)
        return real(self)

    monkeypatch.setattr(DirectoryStore, "directory", counting)
    VIEW_MEMO.clear()
    return built


def _fresh_keys(api: api_helpers.Api) -> Any:
    VIEW_MEMO.clear()
    return api.json("/api/keys")


def _entry(answer: dict[str, Any], key_id: str) -> dict[str, Any]:
    return next(entry for entry in answer["data"] if entry["key_id"] == key_id)


def test_keys_asked_again_come_from_the_memo_until_the_usage_changes(
    empty_api: api_helpers.Api, builds: list[int]
) -> None:
    _store(100)
    first = empty_api.json("/api/keys")
    assert _entry(first, CELL.key)["usage_30d"]["input_tokens"] == 100
    assert empty_api.json("/api/keys") == first
    assert len(builds) == 1  # the second answer was the kept one
    _store(250)  # the collector rewrites today: the AD#key fingerprint moves
    changed = empty_api.json("/api/keys")
    assert _entry(changed, CELL.key)["usage_30d"]["input_tokens"] == 250
    assert len(builds) == 2
    assert changed == _fresh_keys(empty_api)


def test_a_mapping_edit_shows_in_keys_and_pools_on_the_next_request(
    empty_api: api_helpers.Api, builds: list[int]
) -> None:
    _store(100)
    keys_before = empty_api.json("/api/keys")
    pools_before = empty_api.json("/api/pools")
    assert _entry(keys_before, CELL.key)["source"] == "unmapped"
    mapping = KeyMapping(
        key_id=CELL.key, name="Memo key", owner="ana", created_at=SIM_NOW, updated_at=SIM_NOW
    )
    DirectoryStore().put_mapping(mapping)
    keys_after = empty_api.json("/api/keys")
    entry = _entry(keys_after, CELL.key)
    assert (entry["name"], entry["owner"], entry["updated_at"]) == ("Memo key", "ana", SIM_NOW)
    pools_after = empty_api.json("/api/pools")
    mini = next(pool for pool in pools_after["pools"] if pool["pool"] == "mini")
    assert mini["top_contributors"][0]["name"] == "Memo key"
    assert pools_after != pools_before
    assert len(builds) == 4  # each view built twice: before and after the edit


def test_pools_asked_again_come_from_the_memo_until_today_changes(
    empty_api: api_helpers.Api, builds: list[int]
) -> None:
    _store(100)
    first = empty_api.json("/api/pools")
    mini = next(pool for pool in first["pools"] if pool["pool"] == "mini")
    assert mini["used"] == 100
    assert empty_api.json("/api/pools") == first
    assert len(builds) == 1
    _store(400)
    changed = empty_api.json("/api/pools")
    assert next(pool for pool in changed["pools"] if pool["pool"] == "mini")["used"] == 400
    assert len(builds) == 2
    VIEW_MEMO.clear()
    assert empty_api.json("/api/pools") == changed


def test_the_kept_views_equal_the_live_computation_on_the_simulated_org(
    api: api_helpers.Api, builds: list[int]
) -> None:
    keys_first = api.json("/api/keys")
    keys_again = api.json("/api/keys")
    pools_first = api.json("/api/pools")
    pools_again = api.json("/api/pools")
    assert len(builds) == 2  # one build per view; the repeats were kept answers
    assert keys_again == keys_first
    assert pools_again == pools_first
    assert len(keys_first["data"]) > 3
    assert sum(pool["used"] for pool in pools_first["pools"]) > 0
    stores = Stores.default()
    live = pool_report(SIM_NOW, get_settings(), stores.rollups, stores.directory, stores.meta).as_dict()
    assert pools_again == live
    assert keys_again == _fresh_keys(api)
