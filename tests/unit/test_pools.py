"""Pool arithmetic without AWS: classification, crossing time, over-cap split, rate and forecast."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.keys.model import KeyIdentity, UnmappedKey
from chalicelib.periods import HOUR, day_start
from chalicelib.pools import (
    PoolInputs,
    build_pool_report,
    classify,
    counts,
    find_crossing,
    forecast_exhaustion,
    hourly_rate,
    split_over_cap,
)
from chalicelib.settings import load_settings
from chalicelib.store.rollups import Cell

DAY0 = day_start("2026-11-20")


def at(hh: int, mm: int = 0) -> int:
    return DAY0 + hh * HOUR + mm * 60


@pytest.fixture
def settings(monkeypatch):
    for name in ("POOL_TIER", "LARGE_POOL_CAP", "MINI_POOL_CAP", "SHARING_PROJECTS"):
        monkeypatch.delenv(name, raising=False)
    return load_settings()


# -- classification ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "pool"),
    [
        ("gpt-4o-mini-2024-07-18", "mini"),
        ("gpt-4o-2024-08-06", "large"),
        ("gpt-5-mini-2025-08-07", "mini"),
        ("gpt-5", "large"),
        ("o1-pro-2025-03-19", "ineligible"),
        ("gpt-7-turbo", "unclassified"),
        ("unattributed", "unclassified"),
    ],
)
def test_a_dated_snapshot_is_classified_by_its_exact_family(model, pool):
    assert classify(model, "2026-11-20") == pool


def test_every_project_counts_unless_sharing_projects_are_listed():
    assert counts("proj_a", ())
    assert counts("proj_a", ("proj_a",))
    assert not counts("proj_b", ("proj_a",))


# -- crossing ---------------------------------------------------------------------------------------
def test_the_crossing_is_interpolated_inside_the_hour_that_reaches_the_cap():
    series = {at(9): 600, at(10): 400, at(11): 200}
    crossing = find_crossing(series, cap=800, as_of=at(12))
    assert crossing is not None
    assert crossing.hour == at(10)
    assert (crossing.before, crossing.in_hour) == (600, 400)
    assert crossing.at == at(10, 30)  # 200 of the hour's 400 tokens: half way


def test_in_the_current_hour_the_crossing_scales_to_the_time_elapsed():
    crossing = find_crossing({at(10): 100}, cap=50, as_of=at(10, 20))
    assert crossing is not None
    assert crossing.at == at(10, 10)


def test_a_series_below_the_cap_has_no_crossing():
    assert find_crossing({at(9): 10, at(10): 10}, cap=21, as_of=at(11)) is None


def test_reaching_the_cap_exactly_is_a_crossing():
    crossing = find_crossing({at(9): 10, at(10): 10}, cap=20, as_of=at(11))
    assert crossing is not None
    assert crossing.at == at(11)


# -- over-cap split ---------------------------------------------------------------------------------
def test_tokens_after_the_crossing_hour_are_all_over_the_cap():
    hourly = {
        at(9): {("key_a", "gpt-4o"): 100},
        at(10): {("key_b", "gpt-4o"): 50},
    }
    assert split_over_cap(hourly, cap=100) == {("key_b", "gpt-4o"): 50}


def test_the_crossing_hour_excess_is_shared_in_proportion_and_sums_exactly():
    hourly = {
        at(9): {("key_a", "gpt-4o"): 90},
        at(10): {("key_a", "gpt-4o"): 10, ("key_b", "gpt-4o"): 20, ("key_c", "o3"): 3},
    }
    over = split_over_cap(hourly, cap=100)  # 123 used: 23 over, all in hour 10 (33 tokens)
    assert sum(over.values()) == 23
    # exact shares 6.97, 13.94, 2.09 -> floors 6, 13, 2 and the one left over to the largest remainder
    assert over == {("key_a", "gpt-4o"): 7, ("key_b", "gpt-4o"): 14, ("key_c", "o3"): 2}


def test_nothing_is_over_the_cap_when_the_pool_did_not_run_out():
    assert split_over_cap({at(9): {("key_a", "gpt-4o"): 99}}, cap=100) == {}


# -- rate and forecast ------------------------------------------------------------------------------
def test_the_rate_uses_three_complete_hours_and_the_current_partial_one():
    series = {at(5): 999, at(6): 300, at(7): 300, at(8): 300, at(9): 150}
    rate, window = hourly_rate(series, as_of=at(9, 30))
    assert window == 3 * HOUR + 30 * 60
    assert rate == pytest.approx(1050 / 3.5)


def test_the_rate_never_reaches_back_before_midnight():
    rate, window = hourly_rate({at(0): 100}, as_of=at(0, 30))
    assert window == 30 * 60
    assert rate == pytest.approx(200)


def test_the_forecast_is_the_time_the_rate_reaches_the_cap_before_midnight():
    assert forecast_exhaustion(600, 1000, 100.0, at(12), 3 * HOUR) == at(16)


def test_no_forecast_past_midnight_after_exhaustion_or_from_a_short_window():
    assert forecast_exhaustion(600, 1000, 10.0, at(12), 3 * HOUR) is None  # 40 h away
    assert forecast_exhaustion(1000, 1000, 100.0, at(12), 3 * HOUR) is None
    assert forecast_exhaustion(600, 1000, 100.0, at(0, 10), 600) is None
    assert forecast_exhaustion(600, 1000, 0.0, at(12), 3 * HOUR) is None


# -- the whole report -------------------------------------------------------------------------------
def _identity(key_id: str, name: str, owner: str) -> KeyIdentity:
    return KeyIdentity(
        key_id=key_id,
        name=name,
        owner=owner,
        team=None,
        project_id=None,
        description=None,
        budget=None,
        active=True,
        source="mapping",
        mapped=True,
    )


def _inputs(**changes: object) -> PoolInputs:
    alice = Cell("key_alice", "gpt-4o-2024-08-06", "proj_share")
    bob = Cell("key_bob", "gpt-4o-mini-2024-07-18", "proj_share")
    carol = Cell("key_carol", "gpt-4o-2024-08-06", "proj_private")
    mystery = Cell("key_alice", "gpt-9-preview", "proj_share")
    base = PoolInputs(
        now=at(12),
        data_as_of=at(12),
        daily_cells={alice: 200_000, bob: 1_000, carol: 100_000, mystery: 7},
        pool_hours={"large": {at(9): 100_000, at(10): 100_000, at(11): 100_000}, "mini": {at(9): 1_000}},
        cell_hours=[
            (at(9), alice, 100_000),
            (at(10), alice, 100_000),
            (at(11), carol, 100_000),
            (at(9), bob, 1_000),
        ],
        identities={"key_alice": _identity("key_alice", "Alice laptop", "Alice")},
        unmapped=(UnmappedKey("key_carol", at(8), at(11)),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_report_counts_each_pool_and_names_the_keys_that_went_over(settings):
    report = build_pool_report(_inputs(), settings)
    large = report.pool("large")
    assert (large.cap, large.used, large.remaining, large.over_cap_tokens) == (250_000, 300_000, 0, 50_000)
    assert large.exhausted_at == at(11, 30)
    assert large.forecast_exhausted_at is None
    assert [(c.api_key_id, c.name, c.owner, c.tokens, c.over_cap_tokens) for c in large.contributors] == [
        ("key_alice", "Alice laptop", "Alice", 200_000, 0),
        ("key_carol", "key_carol", None, 100_000, 50_000),
    ]
    mini = report.pool("mini")
    assert (mini.used, mini.exhausted_at) == (1_000, None)
    assert [entry.model for entry in report.unclassified_models] == ["gpt-9-preview"]

    body = report.as_dict()
    assert body["date"] == "2026-11-20"
    assert body["resets_at"] == "2026-11-21T00:00:00Z"
    assert body["pools"][0]["exhausted_at"] == "2026-11-20T11:30:00Z"
    assert body["pools"][0]["percent"] == 120.0
    assert body["unmapped_keys"] == [{"api_key_id": "key_carol", "first_seen": "2026-11-20T08:00:00Z"}]
    assert body["unclassified_models"] == [{"model": "gpt-9-preview", "tokens": 7}]


def test_only_sharing_projects_count_against_the_pools(settings):
    only_shared = replace(settings, sharing_projects=("proj_share",))
    inputs = _inputs(pool_hours={"large": {at(9): 100_000, at(10): 100_000}, "mini": {at(9): 1_000}})
    large = build_pool_report(inputs, only_shared).pool("large")
    assert large.used == 200_000
    assert large.exhausted_at is None
    assert [c.api_key_id for c in large.contributors] == ["key_alice"]


def test_a_pool_short_of_its_cap_forecasts_from_its_recent_rate(settings):
    inputs = _inputs(
        daily_cells={Cell("key_alice", "gpt-4o", "p"): 150_000},
        pool_hours={"large": {at(9): 50_000, at(10): 50_000, at(11): 50_000}},
        cell_hours=None,
    )
    large = build_pool_report(inputs, settings).pool("large")
    assert large.rate_per_hour == pytest.approx(50_000)
    assert large.forecast_exhausted_at == at(14)
    assert large.as_dict()["forecast_exhausted_at"] == "2026-11-20T14:00:00Z"


def test_data_from_yesterday_measures_from_now(settings):
    inputs = _inputs(data_as_of=at(-1))
    assert inputs.as_of == inputs.now
