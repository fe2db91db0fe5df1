"""One dollar figure (docs/money.md): against the simulator's 30 days, every view of the same period
costs the same to the micro-dollar, per key and overall; billed days equal the simulator's Costs
truth; the hours of a billed day sum exactly to its bill; unpriced tokens are never $0.00; non-model
line items are their own rows; and the reconciliation compares estimate and bill per billed day."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal

import pytest

from chalicelib.cli import main as cli_main
from chalicelib.money import Settlement
from chalicelib.periods import DAY, day_label
from chalicelib.query import clock
from chalicelib.settings import get_settings
from simulator.catalog import UNKNOWN_MODEL
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import TODAY, truth_billed

sim_table = api_helpers.sim_table
api = api_helpers.api

FIRST = TODAY - 29 * DAY  # "30 days": today and the 29 UTC days before it
THIRTY = {"start_time": FIRST, "end_time": TODAY + DAY}
GROUPINGS = ("none", "api_key_id", "model", "project_id", "pool", "owner", "team", "api_key_id,model")
MICRO = Decimal("0.000001")


def _total(report: dict) -> Decimal:
    return Decimal(report["total"]["cost_usd"])


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = cli_main.main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _cli_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def cli_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW)


def test_every_view_of_thirty_days_costs_the_same_to_the_micro_dollar(api, sim_table, capsys, cli_clock):
    total = _total(api.json("/api/usage", {**THIRTY, "bucket_width": "1d"}))
    assert total > 0
    for width in ("1d", "1h"):
        for group_by in GROUPINGS:
            report = api.json("/api/usage", {**THIRTY, "bucket_width": width, "group_by": group_by})
            assert _total(report) == total, (width, group_by)
            in_buckets = sum(
                (Decimal(row["cost_usd"]) for bucket in report["buckets"] for row in bucket["results"]),
                Decimal(0),
            )
            assert in_buckets == total, (width, group_by)

    export = api.get("/api/export", {**THIRTY, "group_by": "api_key_id,model", "bucket_width": "1h"})
    assert export.status_code == 200
    lines = list(csv.DictReader(io.StringIO(export.body.decode("utf-8-sig"))))
    assert {"billed_usd", "estimated_usd", "cost_usd", "cost_source", "unpriced_tokens"} <= set(lines[0])
    assert sum((Decimal(line["cost_usd"]) for line in lines), Decimal(0)) == total

    cli_usage = _cli_json(
        capsys, "usage", "--start", day_label(FIRST), "--end", day_label(TODAY + DAY), "--bucket", "1h"
    )
    cli_compare = _cli_json(capsys, "compare-keys", "--days", "30")
    cli_export = _cli_text(capsys, "export", "--days", "30", "--format", "csv")
    cli_lines = list(csv.DictReader(io.StringIO(cli_export.lstrip("\ufeff"))))
    assert _total(cli_usage) == _total(cli_compare) == total
    assert sum((Decimal(line["cost_usd"]) for line in cli_lines), Decimal(0)) == total


def test_every_view_of_a_key_costs_the_same(api, sim_table, capsys, cli_clock):
    report = api.json("/api/usage", {**THIRTY, "group_by": "api_key_id"})
    by_key = {row["group"]["api_key_id"]: Decimal(row["cost_usd"]) for row in report["groups"]}
    named = [key_id for key_id in by_key if key_id != "unattributed"]
    assert len(named) >= 2

    from_keys = {
        entry["key_id"]: Decimal(entry["usage_30d"]["cost_usd"]) for entry in api.json("/api/keys")["data"]
    }
    compared = api.json("/api/compare", {**THIRTY, "api_key_ids": ",".join(named[:20])})
    from_compare = {row["group"]["api_key_id"]: Decimal(row["cost_usd"]) for row in compared["keys"]}
    listed = _cli_json(capsys, "list-keys", "--all")
    from_list = {entry["key_id"]: Decimal(entry["usage"]["cost_usd"]) for entry in listed["keys"]}
    cli_compare = _cli_json(capsys, "compare-keys", "--days", "30")
    from_cli_compare = {row["group"]["api_key_id"]: Decimal(row["cost_usd"]) for row in cli_compare["keys"]}

    for key_id in named:
        views = {
            "report": by_key[key_id],
            "/api/keys": from_keys.get(key_id, Decimal(0)),
            "compare-keys": from_cli_compare[key_id],
            "list-keys": from_list.get(key_id, by_key[key_id]),  # directory keys only with --all
        }
        if key_id in from_compare:
            views["/api/compare"] = from_compare[key_id]
        assert max(views.values()) - min(views.values()) <= MICRO, (key_id, views)
    assert any(key_id in from_list for key_id in named)


def test_billed_days_equal_the_simulators_bill_and_their_hours_sum_to_it(api, sim_table):
    settled = Settlement(SIM_NOW).settled
    hourly = api.json(
        "/api/usage", {**THIRTY, "bucket_width": "1h", "group_by": "api_key_id,model", "top": 0}
    )
    daily = api.json("/api/usage", {**THIRTY, "group_by": "api_key_id,model", "top": 0})

    def cells(report: dict) -> dict[tuple[str, str, str], Decimal]:
        out: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for bucket in report["buckets"]:
            for row in bucket["results"]:
                group = row["group"]
                out[(day_label(bucket["start_time"]), group["api_key_id"], group["model"])] += Decimal(
                    row["cost_usd"]
                )
        return {cell: amount for cell, amount in out.items() if amount}

    assert cells(hourly) == cells(daily)  # exactly: the apportionment leaves no remainder anywhere

    truth: dict[str, Decimal] = defaultdict(Decimal)
    for (day, _key, _model, _project), amount in truth_billed(sim_table.org, FIRST, TODAY + DAY).items():
        truth[day] += amount
    billed_days = [day_label(ts) for ts in range(FIRST, TODAY + DAY, DAY) if settled(day_label(ts))]
    assert billed_days
    assert not settled(day_label(TODAY))
    per_day = {day_label(bucket["start_time"]): bucket for bucket in daily["buckets"]}
    for day in billed_days:
        bucket = per_day[day]
        assert not bucket["provisional"]
        cost = sum((Decimal(row["cost_usd"]) for row in bucket["results"]), Decimal(0))
        assert abs(cost - truth[day]) <= MICRO, day
    hours_of_billed = [b for b in hourly["buckets"] if day_label(b["start_time"]) in billed_days]
    assert any(Decimal(row["billed_usd"]) for bucket in hours_of_billed for row in bucket["results"])
    assert all(not bucket["provisional"] for bucket in hours_of_billed)


def test_unpriced_tokens_are_never_shown_as_zero_dollars(api, sim_table, capsys, cli_clock):
    report = api.json("/api/usage", {**THIRTY, "group_by": "model"})
    row = next(row for row in report["groups"] if row["group"]["model"] == UNKNOWN_MODEL)
    assert "unpriced" in row["flags"]
    assert row["unpriced_tokens"] > 0

    text = _cli_text(
        capsys, "usage", "--start", day_label(FIRST), "--end", day_label(TODAY + DAY), "--group-by", "model"
    )
    line = next(line for line in text.splitlines() if line.startswith(UNKNOWN_MODEL))
    assert "unpriced" in line
    assert "$0.00" not in line

    export = api.get("/api/export", {**THIRTY, "group_by": "model"})
    unknown = [
        line
        for line in csv.DictReader(io.StringIO(export.body.decode("utf-8-sig")))
        if line["model"] == UNKNOWN_MODEL
    ]
    assert unknown
    assert all(int(line["unpriced_tokens"]) > 0 and "unpriced" in line["flags"] for line in unknown)


def test_line_items_that_are_not_models_are_their_own_rows_and_in_no_pool(api, sim_table):
    by_model = api.json("/api/usage", {**THIRTY, "group_by": "model"})
    items = [row for row in by_model["groups"] if "line_item" in row["flags"]]
    assert items, "the simulator bills web search tool calls"
    assert all(row["group"]["model"].startswith("item:") for row in items)
    assert "web search tool calls" in {row["label"] for row in items}
    assert all(Decimal(row["cost_usd"]) >= 0 and row["total_tokens"] == 0 for row in items)

    by_pool = api.json("/api/usage", {**THIRTY, "group_by": "pool"})
    pools = {row["group"]["pool"]: Decimal(row["cost_usd"]) for row in by_pool["groups"]}
    assert pools["line items"] == sum((Decimal(row["cost_usd"]) for row in items), Decimal(0))

    by_key = api.json("/api/usage", {**THIRTY, "group_by": "api_key_id,model"})
    assert any(row["group"]["model"].startswith("item:") and row["group"]["api_key_id"] != "unattributed"
               for row in by_key["groups"])  # fmt: skip
    unclassified = api.json("/api/pools")["unclassified_models"]
    assert not any("web search" in json.dumps(entry) for entry in unclassified)


def test_reconciliation_compares_each_billed_day_with_its_bill(api, sim_table, monkeypatch):
    answer = api.json("/api/reconciliation")
    daily = api.json("/api/usage", {**THIRTY, "group_by": "model"})
    cost_of_day = {
        day_label(bucket["start_time"]): sum((Decimal(r["cost_usd"]) for r in bucket["results"]), Decimal(0))
        for bucket in daily["buckets"]
    }
    settled = Settlement(SIM_NOW).settled
    assert answer["threshold_percent"] == 5.0
    assert [day["day"] for day in answer["days"]] == [d for d in sorted(cost_of_day) if settled(d)]
    for day in answer["days"]:
        assert Decimal(day["billed_usd"]) == cost_of_day[day["day"]]
        estimated, billed = Decimal(day["estimated_usd"]), Decimal(day["billed_usd"])
        assert day["gap_percent"] == pytest.approx(float((estimated - billed) * 100 / billed), abs=0.01)
        assert day["flagged"] == (abs(day["gap_percent"]) > 5.0)
        assert bool(day["explained_by"]) == day["flagged"]
        assert {m["model"] for m in day["models"]} >= set(day["explained_by"])
    assert answer["flagged_days"] == [day["day"] for day in answer["days"] if day["flagged"]]

    monkeypatch.setenv("RECONCILE_GAP_PERCENT", "1000")
    get_settings.cache_clear()
    lenient = api.json("/api/reconciliation")
    assert lenient["threshold_percent"] == 1000.0
    assert lenient["flagged_days"] == []


def test_reconciliation_refuses_bad_parameters_by_name(api, sim_table, capsys):
    bad = api.json("/api/reconciliation", {"start_time": "yesterday"}, status=400)
    assert bad["error"]["param"] == "start_time"
    backwards = api.json("/api/reconciliation", {"start_time": TODAY, "end_time": TODAY - DAY}, status=400)
    assert backwards["error"]["param"] == "end_time"
    unknown = api.json("/api/reconciliation", {"bucket_width": "1h"}, status=400)
    assert unknown["error"]["param"] == "bucket_width"

    assert cli_main.main(["reconcile", "--days", "0"]) == 2
    assert "--days" in capsys.readouterr().err
    text = _cli_text(capsys, "reconcile", "--days", "30")
    assert "TOTAL" in text
    assert "ESTIMATED" in text


def test_every_end_option_of_the_cli_is_exclusive_and_says_so(capsys):
    for command in ("usage", "collect"):
        with pytest.raises(SystemExit):
            cli_main.build_parser().parse_args([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "exclusive" in text.split("--end", 1)[1][:160], command
    # The inclusive reading of a one-day period (start == end) is refused, naming the option.
    for argv in (["usage", "--start", "2026-11-20", "--end", "2026-11-20"],
                 ["collect", "--start", "2026-11-20", "--end", "2026-11-20"]):  # fmt: skip
        assert cli_main.main(argv) == 2
        err = capsys.readouterr().err
        assert "--end" in err
        assert "Traceback" not in err
