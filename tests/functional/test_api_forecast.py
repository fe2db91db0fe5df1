"""GET /api/forecast on the simulated organization (the real collector's rollups, DynamoDB Local).

The expected figures are worked out here from /api/usage's daily dollars (the report's own pricing
path, not the forecast's) with the method as docs/operations.md states it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from chalicelib.keys.model import Budget, KeyMapping
from chalicelib.periods import DAY, day_label, day_start, next_month_start
from chalicelib.query import clock
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import TODAY

sim_table = api_helpers.sim_table
api = api_helpers.api
empty_api = api_helpers.empty_api
bare_api = api_helpers.bare_api
shared_empty_table = api_helpers.shared_empty_table

MICRO = Decimal("0.000001")
Z = Decimal("1.645")


def _back(day: str, count: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=count)).isoformat()


def daily_dollars(api, group_by: str) -> dict[str | None, dict[str, Decimal]]:
    """member -> day -> cost_usd, from /api/usage at 1d over the 28 days before today and today."""
    start = day_start(_back(day_label(SIM_NOW), 28))
    usage = api.json(
        "/api/usage", {"start_time": start, "end_time": TODAY + DAY, "group_by": group_by, "top": 0}
    )
    out: dict[str | None, dict[str, Decimal]] = defaultdict(dict)
    for bucket in usage["buckets"]:
        for row in bucket["results"]:
            member = row["group"].get(group_by) if group_by != "none" else None
            out[member][day_label(bucket["start_time"])] = Decimal(row["cost_usd"])
    return out


def reference(daily: dict[str, Decimal], org: dict[str, Decimal]) -> dict[str, Decimal]:
    """The stated method, written out: 28-day run rate x the organization's 4-week weekday shape."""
    today = day_label(SIM_NOW)
    past = [_back(today, n) for n in range(28, 0, -1)]
    seen = [d for d in past if any(org.get(p, 0) > 0 for p in past[: past.index(d) + 1])]
    by_weekday: dict[int, list[Decimal]] = defaultdict(list)
    for day in seen:
        by_weekday[date.fromisoformat(day).weekday()].append(org.get(day, Decimal(0)))
    means = [sum(by_weekday[w], Decimal(0)) / len(by_weekday[w]) for w in range(7)]
    factor = [m / (sum(means, Decimal(0)) / 7) for m in means]
    window = [d for d in past if any(daily.get(p, 0) > 0 for p in past[: past.index(d) + 1])]
    rate = sum((daily.get(d, Decimal(0)) for d in window), Decimal(0)) / sum(
        (factor[date.fromisoformat(d).weekday()] for d in window), Decimal(0)
    )
    mtd = sum((v for d, v in daily.items() if d >= today[:8] + "01"), Decimal(0))
    rest = Decimal(TODAY + DAY - SIM_NOW) / DAY
    ahead = [today] + [
        day_label(ts) for ts in range(TODAY + DAY, next_month_start(TODAY), DAY)
    ]  # today (its rest), then Nov 21..30
    weights = [rest] + [Decimal(1)] * (len(ahead) - 1)
    point = mtd + sum(
        (rate * factor[date.fromisoformat(d).weekday()] * w for d, w in zip(ahead, weights, strict=True)),
        Decimal(0),
    )
    residuals = [daily.get(d, Decimal(0)) - rate * factor[date.fromisoformat(d).weekday()] for d in window]
    sd = (sum((r * r for r in residuals), Decimal(0)) / (len(window) - 1)).sqrt()
    horizon = sum(weights, Decimal(0))
    half = Z * sd * (horizon + horizon * horizon / len(window)).sqrt()
    return {
        "month_to_date_usd": mtd.quantize(MICRO),
        "forecast_usd": point.quantize(MICRO),
        "low_usd": max(mtd, point - half).quantize(MICRO),
        "high_usd": (point + half).quantize(MICRO),
        "daily_rate_usd": rate.quantize(MICRO),
    }


REF_FIELDS = ("month_to_date_usd", "forecast_usd", "low_usd", "high_usd", "daily_rate_usd")


def test_the_organization_forecast_is_the_stated_method_on_the_months_dollars(api):
    answer = api.json("/api/forecast")
    org = daily_dollars(api, "none")[None]

    assert answer["object"] == "forecast"
    assert (answer["month"], answer["day_of_month"], answer["days_in_month"]) == ("2026-11", 20, 30)
    assert answer["group_by"] == []
    assert answer["groups"] == []
    assert answer["method"]["name"] == "run_rate_weekday"
    assert answer["method"]["window_days"] == 28
    assert answer["method"]["season_weeks"] == 4
    assert sum(answer["method"]["weekday_factors"]) == pytest.approx(7, abs=0.001)
    assert {name: Decimal(answer["total"][name]) for name in REF_FIELDS} == reference(org, org)
    low, point, high = (Decimal(answer["total"][n]) for n in ("low_usd", "forecast_usd", "high_usd"))
    assert Decimal(answer["total"]["month_to_date_usd"]) <= low < point < high


def test_the_rest_of_today_counts_from_the_datas_as_of_time_not_the_request(api, monkeypatch):
    """The data is as of SIM_NOW (the checkpoint); a request 10 minutes later forecasts the same
    figures, to the micro-dollar: the 10 minutes since the collection are still ahead, not silently
    dropped from the month."""
    at_collection = api.json("/api/forecast", {"group_by": "api_key_id", "top": 0})
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW + 600)
    later = api.json("/api/forecast", {"group_by": "api_key_id", "top": 0})

    assert later["as_of"] != at_collection["as_of"]
    assert later["data_as_of"] == at_collection["data_as_of"]
    assert (later["total"], later["groups"]) == (at_collection["total"], at_collection["groups"])


def test_forecasts_by_team_and_by_key_are_the_method_on_each_groups_dollars(api, sim_table):
    org = daily_dollars(api, "none")[None]
    by_team = daily_dollars(api, "team")
    answer = api.json("/api/forecast", {"group_by": "team", "top": 0})

    assert answer["group_by"] == ["team"]
    rows = {row["group"]["team"]: row for row in answer["groups"]}
    assert set(rows) == {"research", "platform", None}
    assert rows[None]["label"] == "(no team)"
    for team, daily in by_team.items():
        assert {name: Decimal(rows[team][name]) for name in REF_FIELDS} == reference(daily, org), team
    forecasts = [Decimal(row["forecast_usd"]) for row in answer["groups"]]
    assert forecasts == sorted(forecasts, reverse=True)

    by_key = daily_dollars(api, "api_key_id")
    keyed = api.json("/api/forecast", {"group_by": "api_key_id", "top": 3})
    assert len(keyed["groups"]) == 3
    assert keyed["other_groups"] == len(by_key) - 3
    for row in keyed["groups"]:
        key = row["group"]["api_key_id"]
        assert {name: Decimal(row[name]) for name in REF_FIELDS} == reference(by_key[key], org)
        assert row["budget_usd"] is None
        assert row["on_track_to_exceed"] is None
    assert keyed["total"] == answer["total"]


def test_forecast_by_project_names_the_projects(api, sim_table):
    answer = api.json("/api/forecast", {"group_by": "project_id", "top": 0})
    names = {project.id: project.name for project in sim_table.org.projects(include_archived=True)}
    by_project = daily_dollars(api, "project_id")
    org = daily_dollars(api, "none")[None]
    for row in answer["groups"]:
        project = row["group"]["project_id"]
        assert row["label"] == names.get(project, project)
        assert {name: Decimal(row[name]) for name in REF_FIELDS} == reference(by_project[project], org)


# -- budgets ----------------------------------------------------------------------------------------
def seed_steady_keys(keys: dict[str, tuple[Decimal, Decimal]]) -> None:
    """Per key (a day's $, today's $ so far): every day from Oct 23 to Nov 19 at the first, Nov 20
    so far at the second (billed = estimated, so settled or not they cost the same)."""
    rollups = RollupStore()
    for ts in range(day_start("2026-10-23"), TODAY + DAY, DAY):
        label = day_label(ts)
        daily = {}
        for key, (amount, today) in keys.items():
            cost = today if ts == TODAY else amount
            usage = Usage(input_tokens=1000, output_tokens=100, estimated_usd=cost, billed_usd=cost)
            daily[Cell(key, "gpt-4o-mini-2024-07-18", "proj_budget")] = usage
        hourly = {(f"{label}T01", cell): usage for cell, usage in daily.items()}
        rollups.replace_day(DayRollup(label, hourly, daily), keep_hourly=False, hourly_retention_days=35)


def test_a_key_with_a_monthly_dollar_budget_shows_when_its_forecast_reaches_it(empty_api):
    seed_steady_keys(
        {
            "key_budgetForecast1": (Decimal(10), Decimal(5)),
            "key_budgetForecast2": (Decimal(1), Decimal("0.5")),
        }
    )
    directory = DirectoryStore()
    directory.put_mapping(
        KeyMapping("key_budgetForecast1", "Batch jobs", budget=Budget("monthly", "usd", Decimal(250)))
    )
    directory.put_mapping(
        KeyMapping("key_budgetForecast2", "Tokens only", budget=Budget("monthly", "tokens", Decimal(10)))
    )
    MetaStore().record_success(
        run_id="forecast-test",
        finished_at=SIM_NOW,
        usage_as_of=SIM_NOW,
        costs_as_of=SIM_NOW,
        directory_synced_at=SIM_NOW,
        cost_grouping="api_key_id",
    )

    answer = empty_api.json("/api/forecast", {"group_by": "api_key_id"})

    rows = {row["group"]["api_key_id"]: row for row in answer["groups"]}
    batch = rows["key_budgetForecast1"]
    # Nov 1-19 at $10 + $5 today = $195; the rest of today (10:17 -> 24:00 of $10) and 10 more days.
    rest = Decimal(TODAY + DAY - SIM_NOW) / DAY * 10
    assert Decimal(batch["month_to_date_usd"]) == 195
    assert Decimal(batch["forecast_usd"]) == (195 + rest + 100).quantize(MICRO)
    assert batch["budget_usd"] == "250"
    assert batch["on_track_to_exceed"] == "2026-11-25"  # 195 + 5.7 + 4 x 10 = 240.7, + 10 on the 25th
    assert batch["over_budget"] is False
    assert batch["forecast_percent"] == round(float((195 + rest + 100) * 100 / 250), 2)
    assert batch["key"]["name"] == "Batch jobs"
    assert rows["key_budgetForecast2"]["budget_usd"] is None  # a token budget has no dollar forecast


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"group_by": "model"}, "group_by"),
        ({"group_by": ["team", "owner"]}, "group_by"),
        ({"top": "-1"}, "top"),
        ({"top": "1001"}, "top"),
        ({"top": "ten"}, "top"),
        ({"month": "2026-11"}, "month"),
    ],
)
def test_bad_forecast_parameters_are_a_400_naming_the_parameter(bare_api, params, param):
    body = bare_api.json("/api/forecast", params, status=400)
    assert body["error"]["param"] == param


def test_the_forecast_needs_a_token(bare_api):
    assert bare_api.get("/api/forecast", token=None).status_code == 401


def test_an_empty_table_forecasts_zero(bare_api):
    answer = bare_api.json("/api/forecast", {"group_by": "owner"})
    assert answer["groups"] == []
    assert answer["total"]["forecast_usd"] == "0.000000"
    assert answer["method"]["weekday_factors"] == [1.0] * 7
