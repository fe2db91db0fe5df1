"""GET /api/usage through chalice.test.Client on DynamoDB Local, against the simulator's ground truth."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chalicelib.cli import main as cli_main
from chalicelib.errors import ResponseTooLarge
from chalicelib.money import SETTLE_HOURS
from chalicelib.periods import DAY, HOUR, day_label
from chalicelib.query import clock
from chalicelib.query import export as export_query
from chalicelib.query import usage as usage_query
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.table import reset_stats
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import (
    FIRST_DAY,
    TODAY,
    counters_of,
    grouped_truth,
    nonzero,
    truth_billed,
    truth_cells,
)

sim_table = api_helpers.sim_table
api = api_helpers.api

PERIOD = {"start_time": FIRST_DAY, "end_time": TODAY + DAY}


def _owners() -> dict[str, tuple[str | None, str | None]]:
    return {
        key_id: (identity.owner, identity.team) for key_id, identity in DirectoryStore().identities().items()
    }


def _by_group(report: dict, dims: tuple[str, ...]) -> dict[tuple, dict[str, int]]:
    """Counters per group; groups with only billed dollars (tool calls) have no counters to compare."""
    rows = {tuple(row["group"][dim] for dim in dims): counters_of(row) for row in report["groups"]}
    return {group: counters for group, counters in rows.items() if counters}


@pytest.mark.parametrize(
    "dims",
    [
        ("api_key_id",),
        ("model",),
        ("project_id",),
        ("pool",),
        ("team",),
        ("owner",),
        ("api_key_id", "model"),
        ("model", "project_id", "pool"),
    ],
    ids="+".join,
)
def test_totals_per_group_equal_the_simulators_ground_truth(api, sim_table, dims):
    report = api.json("/api/usage", {**PERIOD, "group_by": ",".join(dims)})

    truth = grouped_truth(truth_cells(sim_table.org, FIRST_DAY, TODAY + DAY), dims, _owners())
    assert _by_group(report, dims) == {group: nonzero(values) for group, values in truth.items()}
    assert report["group_by"] == list(dims)
    assert report["start_time"] == FIRST_DAY
    assert report["end_time"] == TODAY + DAY


def test_the_total_equals_the_sum_of_every_usage_kind_in_the_ledger(api, sim_table):
    report = api.json("/api/usage", {**PERIOD, "group_by": "none"})

    truth = grouped_truth(truth_cells(sim_table.org, FIRST_DAY, TODAY + DAY), (), {})[()]
    assert counters_of(report["total"]) == nonzero(truth)
    assert [row["label"] for row in report["groups"]] == ["All usage"]
    assert len(report["buckets"]) == 31


def test_settled_days_cost_what_openai_billed_and_recent_days_are_provisional_estimates(api, sim_table):
    report = api.json("/api/usage", {**PERIOD, "group_by": "none"})

    billed = truth_billed(sim_table.org, FIRST_DAY, TODAY + DAY)
    settled_before = SIM_NOW - SETTLE_HOURS * HOUR
    assert report["cost_basis"] == "billed_when_settled"
    assert report["settled_before"] == "2026-11-18T00:00:00Z"
    for bucket in report["buckets"]:
        day = day_label(bucket["start_time"])
        row = bucket["results"][0]
        settled = bucket["end_time"] <= settled_before
        assert bucket["provisional"] is not settled
        if settled:
            expected = sum((amount for (d, *_), amount in billed.items() if d == day), Decimal(0))
            assert Decimal(row["cost_usd"]) == pytest.approx(expected, abs=Decimal("1e-9"))
            assert row["cost_usd"] == row["billed_usd"]
        else:
            assert row["cost_usd"] == row["estimated_usd"]
    assert [day_label(b["start_time"]) for b in report["buckets"] if b["provisional"]] == [
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ]


def test_filters_narrow_the_report_to_the_named_keys_models_projects_and_teams(api, sim_table):
    cells = truth_cells(sim_table.org, FIRST_DAY, TODAY + DAY)
    owners = _owners()
    keys = sim_table.key_ids[3:5]
    some_model = sorted({cell[2] for cell in cells})[0]
    project = sorted({cell[3] for cell in cells if cell[3] != "unattributed"})[0]

    by_keys = api.json("/api/usage", {**PERIOD, "group_by": "model", "api_key_ids": keys})
    by_model = api.json("/api/usage", {**PERIOD, "group_by": "api_key_id", "models": some_model})
    by_project = api.json("/api/usage", {**PERIOD, "group_by": "api_key_id", "project_ids": [project]})
    by_team = api.json("/api/usage", {**PERIOD, "group_by": "api_key_id", "teams": "research"})

    def expected(keep, dims):
        kept = {cell: values for cell, values in cells.items() if keep(cell)}
        return {group: nonzero(values) for group, values in grouped_truth(kept, dims, owners).items()}

    assert _by_group(by_keys, ("model",)) == expected(lambda c: c[1] in keys, ("model",))
    assert _by_group(by_model, ("api_key_id",)) == expected(lambda c: c[2] == some_model, ("api_key_id",))
    assert _by_group(by_project, ("api_key_id",)) == expected(lambda c: c[3] == project, ("api_key_id",))
    research = {key for key, (_owner, team) in owners.items() if team == "research"}
    assert _by_group(by_team, ("api_key_id",)) == expected(lambda c: c[1] in research, ("api_key_id",))
    assert by_team["filters"]["teams"] == ["research"]


def test_a_model_filter_by_family_matches_its_dated_snapshots(api, sim_table):
    report = api.json("/api/usage", {**PERIOD, "group_by": "model"})
    snapshot = next(row["group"]["model"] for row in report["groups"] if row["group"]["model"][-3] == "-")
    family = snapshot[: -len("-2024-07-18")]

    narrowed = api.json("/api/usage", {**PERIOD, "group_by": "model", "models": family})

    assert snapshot in {row["group"]["model"] for row in narrowed["groups"]}


def test_hourly_buckets_of_a_day_add_up_to_that_day(api, sim_table):
    day = TODAY - 2 * DAY
    hourly = api.json(
        "/api/usage", {"start_time": day, "end_time": day + DAY, "bucket_width": "1h", "group_by": "model"}
    )
    daily = api.json("/api/usage", {"start_time": day, "end_time": day + DAY, "group_by": "model"})

    assert len(hourly["buckets"]) == 24
    # Behaviour changed with chalicelib.money: hours carry their share of the day's bill, so an
    # hourly report has the daily report's basis and dollars (to the micro-dollar and beyond).
    assert hourly["cost_basis"] == daily["cost_basis"] == "billed_when_settled"
    assert _by_group(hourly, ("model",)) == _by_group(daily, ("model",))
    assert hourly["total"]["cost_usd"] == daily["total"]["cost_usd"]
    assert {row["group"]["model"]: row["cost_usd"] for row in hourly["groups"]} == {
        row["group"]["model"]: row["cost_usd"] for row in daily["groups"]
    }


def test_aggregate_and_detail_plans_give_the_same_numbers(api):
    by_model = api.json("/api/usage", {**PERIOD, "group_by": "model"})
    by_model_and_project = api.json("/api/usage", {**PERIOD, "group_by": "model,project_id"})

    assert by_model["total"] == by_model_and_project["total"]


def test_rows_carry_names_shares_and_flags(api, sim_table):
    report = api.json("/api/usage", {**PERIOD, "group_by": "api_key_id"})
    rows = {row["group"]["api_key_id"]: row for row in report["groups"]}

    mapped = rows[sim_table.key_ids[0]]
    assert mapped["label"] == "Mapped 0"
    assert mapped["key"]["team"] == "research"
    assert mapped["key"]["project_name"]
    assert "unmapped" not in mapped["flags"]
    assert "unattributed" in rows["unattributed"]["flags"]
    assert rows[sim_table.org.directory.deleted_key_id]["flags"].count("unmapped") == 1
    assert sum(row["share_tokens"] for row in report["groups"]) == pytest.approx(1.0, abs=1e-4)
    assert sum(row["share_cost"] for row in report["groups"]) == pytest.approx(1.0, abs=1e-4)
    costs = [Decimal(row["cost_usd"]) for row in report["groups"]]
    assert costs == sorted(costs, reverse=True)


def test_a_thirty_day_report_by_key_reads_four_queries_whatever_the_number_of_keys(api):
    reset_stats()
    api.json(
        "/api/usage", {"start_time": TODAY - 29 * DAY, "end_time": TODAY + DAY, "group_by": "api_key_id"}
    )
    by_key = reset_stats()
    api.json("/api/usage", {"start_time": TODAY - 29 * DAY, "end_time": TODAY + DAY, "group_by": "model"})
    by_model = reset_stats()

    # AD#key, MAP, DIR, and the window's materialized period, which no scheduled run wrote here
    # (+ the checkpoint GetItem)
    assert by_key.requests == 4
    assert by_model.requests == 1  # AD#model (+ the checkpoint GetItem)
    api.json(
        "/api/usage", {"start_time": TODAY - 29 * DAY, "end_time": TODAY + DAY, "group_by": "api_key_id"}
    )
    assert reset_stats().requests == 1  # the names come from this process's cache now


@pytest.mark.parametrize("dims", [("api_key_id",), ("owner",), ("model", "project_id")], ids="+".join)
def test_buckets_list_the_top_groups_and_one_other_row_that_add_up_to_the_ground_truth(api, sim_table, dims):
    params = {**PERIOD, "group_by": ",".join(dims)}
    top = 3
    capped = api.json("/api/usage", {**params, "top": top})
    every = api.json("/api/usage", {**params, "top": 0})

    truth = grouped_truth(truth_cells(sim_table.org, FIRST_DAY, TODAY + DAY), dims, _owners())
    # `groups` keeps every group, whatever top
    assert _by_group(capped, dims) == {group: nonzero(values) for group, values in truth.items()}
    assert capped["groups"] == every["groups"]
    assert capped["total"] == every["total"]
    assert len(capped["groups"]) > top
    assert capped["top"] == top
    assert capped["other_groups"] == len(capped["groups"]) - top
    named = [json.dumps(row["group"], sort_keys=True) for row in capped["groups"][:top]]
    rows = [row for bucket in capped["buckets"] for row in bucket["results"]]
    # buckets add up exactly to the total, which is the ground truth
    whole = grouped_truth(truth_cells(sim_table.org, FIRST_DAY, TODAY + DAY), (), {})[()]
    summed = {name: sum(row[name] for row in rows) for name in ("input_tokens", "output_tokens", "requests")}
    assert summed == {name: capped["total"][name] for name in summed}
    assert summed == {name: whole.get(name, 0) for name in summed}
    assert sum(Decimal(row["cost_usd"]) for row in rows) == Decimal(capped["total"]["cost_usd"])
    for small, full in zip(capped["buckets"], every["buckets"], strict=True):
        by_group = {json.dumps(row["group"], sort_keys=True): row for row in full["results"]}
        listed = [row for row in small["results"] if not row.get("other")]
        others = [row for row in small["results"] if row.get("other")]
        keys = [json.dumps(row["group"], sort_keys=True) for row in listed]
        assert keys == [key for key in named if key in by_group]  # the period's top, in its order
        assert all(row == by_group[key] for row, key in zip(listed, keys, strict=True))
        rest = [row for key, row in by_group.items() if key not in named]
        assert len(others) == (1 if rest else 0)
        if rest:
            (other,) = others
            assert other["other_groups"] == len(rest)
            assert other["label"].startswith(f"Other ({len(rest)} ")
            assert other["group"] == dict.fromkeys(dims)
            for name in ("total_tokens", "cached_tokens", "requests", "unpriced_tokens"):
                assert other[name] == sum(row[name] for row in rest)
            assert Decimal(other["cost_usd"]) == sum(Decimal(row["cost_usd"]) for row in rest)
        assert set(full["results"][0]) == {
            "group",
            "input_tokens",
            "output_tokens",
            "cached_tokens",
            "total_tokens",
            "requests",
            "unpriced_tokens",
            "billed_usd",
            "estimated_usd",
            "cost_usd",
            "web_searches",  # per-call measures (issue 11)
            "file_searches",
            "code_interpreter_sessions",
            "vector_store_gb_days",
        }


def test_a_report_surely_too_large_is_refused_before_it_is_built(api, monkeypatch):
    def never(*_args, **_kwargs):
        raise AssertionError("the report was built")

    monkeypatch.setattr(usage_query, "report_of", never)
    params = {
        name: [str(value)] for name, value in {**PERIOD, "group_by": "api_key_id,model", "top": 0}.items()
    }

    with pytest.raises(ResponseTooLarge, match="top"):
        usage_query.usage_report(params, SIM_NOW, max_bytes=20_000)
    with pytest.raises(ResponseTooLarge, match="CSV") as refused:
        export_query.export_csv(params, SIM_NOW, max_bytes=20_000)
    assert "export --format csv" in str(refused.value)  # the CLI's way to the whole CSV


def test_minute_buckets_come_live_from_openai_and_are_cached(api, sim_table):
    start = SIM_NOW - SIM_NOW % 60 - 2 * HOUR
    params = {"start_time": start, "end_time": SIM_NOW, "bucket_width": "1m", "group_by": "api_key_id"}

    report = api.json("/api/usage", params)
    calls = sim_table.server.calls["/organization/usage/completions"]
    again = api.json("/api/usage", params)

    truth = grouped_truth(
        truth_cells(sim_table.org, start, SIM_NOW, step=SIM_NOW - start), ("api_key_id",), {}
    )
    assert _by_group(report, ("api_key_id",)) == {group: nonzero(values) for group, values in truth.items()}
    assert all(bucket["provisional"] for bucket in report["buckets"])
    assert len(report["buckets"]) == 120
    assert sim_table.server.calls["/organization/usage/completions"] == calls
    assert again["total"] == report["total"]


def test_the_cli_prints_the_same_json_as_the_api(api, sim_table, capsys, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW)
    from_api = api.json(
        "/api/usage",
        {
            "start_time": TODAY - 6 * DAY,
            "end_time": TODAY + DAY,
            "group_by": "api_key_id,model",
            "bucket_width": "1d",
            "top": 0,  # issue 16: `usage --json` lists every group unless --top says otherwise
        },
    )

    code = cli_main.main(
        [
            "usage",
            "--start",
            day_label(TODAY - 6 * DAY),
            "--end",
            day_label(TODAY + DAY),  # exclusive, as every `--end` of the CLI
            "--group-by",
            "api_key_id,model",
            "--bucket",
            "1d",
            "--json",
        ]
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == from_api
