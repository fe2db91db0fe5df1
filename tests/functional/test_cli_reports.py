"""The report commands end to end (compare-keys, all-keys, export, monitor-key): DynamoDB Local filled by
the real collector from the OpenAI simulator, every number checked against the API's answer for the
same period through `chalice.test.Client`."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.cli import monitor
from chalicelib.errors import StoreError
from chalicelib.keys.model import Budget, KeyMapping
from chalicelib.periods import DAY, HOUR, day_label, floor_hour
from chalicelib.query import clock
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import TODAY
from tests.functional.cli_helpers import new_key_id, refused, run, run_json
from tests.functional.collector_helpers import PAST_HOURLY_RETENTION_DAYS

sim_table = api_helpers.sim_table
api = api_helpers.api
empty_api = api_helpers.empty_api

WEEK = {"start_time": TODAY - 6 * DAY, "end_time": TODAY + DAY}  # what `--days 7` means at SIM_NOW


def _money(value: str) -> str:
    return f"${Decimal(value):,.2f}"


# -- compare-keys ----------------------------------------------------------------------------
def test_compare_keys_lists_every_key_with_usage_by_cost_as_usage_by_key_does(api, capsys):
    payload = run_json(capsys, "compare-keys", "--days", "7")
    usage = api.json("/api/usage", {**WEEK, "group_by": "api_key_id"})

    assert (payload["start_time"], payload["end_time"]) == (WEEK["start_time"], WEEK["end_time"])
    assert payload["keys"] == usage["groups"]
    assert payload["total"] == usage["total"]
    assert len(payload["keys"]) > 3
    costs = [Decimal(row["cost_usd"]) for row in payload["keys"]]
    assert costs == sorted(costs, reverse=True)


def test_compare_keys_total_row_is_the_sum_and_shares_add_up_to_one(api, capsys):
    payload = run_json(capsys, "compare-keys", "--days", "30")
    rows, total = payload["keys"], payload["total"]

    assert sum(row["total_tokens"] for row in rows) == total["total_tokens"]
    assert sum(row["requests"] for row in rows) == total["requests"]
    assert sum(Decimal(row["cost_usd"]) for row in rows) == Decimal(total["cost_usd"])
    assert sum(row["share_cost"] for row in rows) == pytest.approx(1.0, abs=1e-4)
    assert sum(row["share_tokens"] for row in rows) == pytest.approx(1.0, abs=1e-4)

    code, out, _ = run(capsys, "compare-keys", "--days", "30")
    assert code == 0
    lines = out.splitlines()
    total_line = next(line for line in lines if line.startswith("TOTAL"))
    assert f"{total['total_tokens']:,}" in total_line
    assert _money(total["cost_usd"]) in total_line
    assert f"{total['requests']:,}" in total_line
    assert f"{len(rows)} keys" in total_line
    for row in rows:
        assert any(row["group"]["api_key_id"] in line and row["label"] in line for line in lines)
    assert "(UTC, 30 days, today included)" in lines[-1]


def test_compare_keys_with_keys_by_id_and_name_equals_api_compare(api, sim_table, capsys):
    asked = [sim_table.key_ids[4], sim_table.key_ids[1]]
    payload = run_json(capsys, "compare-keys", "--days", "7", "--keys", f"{asked[0]}, mapped 1")
    comparison = api.json("/api/compare", {**WEEK, "api_key_ids": ",".join(asked)})

    assert [row["group"]["api_key_id"] for row in payload["keys"]] == asked
    assert payload["keys"] == comparison["keys"]
    assert payload["total"] == comparison["total"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--days", "0"], "--days: must be between 1 and 366"),
        (["--days", "367"], "--days: must be between 1 and 366"),
        (["--keys", "key_onlyone"], "--keys: give between 2 and 20"),
        (["--keys", "key_a1,nobody by that name"], "--keys: no mapping has the id or name"),
        (["--keys", "key_a1,sk-notanid"], "--keys:"),
        (["--keys", " , "], "--keys: give key ids"),
    ],
)
def test_compare_keys_refuses_bad_input_with_exit_code_2(api, capsys, argv, message):
    err = refused(capsys, "compare-keys", *argv)
    assert err.startswith(f"error: {message}")


def test_a_non_number_of_days_is_a_usage_error(api, capsys):
    code, _, err = run(capsys, "compare-keys", "--days", "week")
    assert code == 2
    assert "--days" in err


# -- all-keys --------------------------------------------------------------------------------
def test_all_keys_has_the_numbers_of_usage_by_key_and_each_keys_top_model(api, sim_table, capsys):
    payload = run_json(capsys, "all-keys", "--days", "7")
    usage = api.json("/api/usage", {**WEEK, "group_by": "api_key_id"})
    by_model = api.json("/api/usage", {**WEEK, "group_by": "api_key_id,model"})

    extra = {"key_id", "source", "active", "budget", "budget_status", "top_model"}
    used = {row["group"]["api_key_id"] for row in usage["groups"]}
    with_usage = [record for record in payload["keys"] if record["key_id"] in used]
    assert [{k: v for k, v in r.items() if k not in extra} for r in with_usage] == usage["groups"]
    assert payload["total"] == usage["total"]
    for record in with_usage:
        top = next(row for row in by_model["groups"] if row["group"]["api_key_id"] == record["key_id"])
        assert record["top_model"] == {
            "model": top["group"]["model"],
            "total_tokens": top["total_tokens"],
            "cost_usd": top["cost_usd"],
        }
    listed = {record["key_id"]: record for record in payload["keys"]}
    for index, team in api_helpers.TEAMS.items():
        record = listed[sim_table.key_ids[index]]
        assert (record["label"], record["key"]["team"], record["source"]) == (
            f"Mapped {index}",
            team,
            "mapping",
        )

    code, out, _ = run(capsys, "all-keys", "--days", "7")
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:3] == ["NAME", "OWNER", "TEAM"]
    assert {"IN", "OUT", "CACHED", "BILLED", "ESTIMATED", "BUDGET"} <= set(header)
    total_line = next(line for line in out.splitlines() if line.startswith("TOTAL"))
    assert f"{usage['total']['input_tokens']:,}" in total_line
    assert _money(usage["total"]["billed_usd"]) in total_line


NOON = TODAY + 12 * HOUR


def _fill_today(key_usage: dict[str, Usage], now: int = NOON) -> None:
    """Today's detail and aggregates for these keys (one model each), and a fresh checkpoint."""
    today = DayRollup(day=day_label(now))
    hour = day_label(now) + f"T{(now % DAY) // HOUR - 1:02d}"
    for key_id, usage in key_usage.items():
        cell = Cell(key_id, "gpt-4o-mini-2024-07-18", "proj_x")
        today.daily[cell] = usage
        today.hourly[(hour, cell)] = usage
    RollupStore().replace_day(today, keep_hourly=True, hourly_retention_days=PAST_HOURLY_RETENTION_DAYS)
    MetaStore().record_success(
        run_id="cli-test", finished_at=now, usage_as_of=now - 300, costs_as_of=now - 300,
        directory_synced_at=now, cost_grouping="api_key_id",
    )  # fmt: skip


@pytest.fixture
def budgets(empty_api, monkeypatch):
    """A fresh table: a key over its daily token budget, one within a monthly dollar budget, an idle
    mapped key; the clock at noon of SIM_NOW's day."""
    monkeypatch.setattr(clock, "now", lambda: NOON)
    over, within, idle = new_key_id(), new_key_id(), new_key_id()
    DirectoryStore().put_mappings(
        [
            KeyMapping(over, "Over budget", team="ml", budget=Budget("daily", "tokens", Decimal(1000)),
                       created_at=NOON, updated_at=NOON),
            KeyMapping(within, "Within budget", owner="grace", budget=Budget("monthly", "usd", Decimal(50)),
                       created_at=NOON, updated_at=NOON),
            KeyMapping(idle, "Idle key", active=False, created_at=NOON, updated_at=NOON),
        ]
    )  # fmt: skip
    _fill_today(
        {
            over: Usage(input_tokens=1500, output_tokens=300, requests=12, estimated_usd=Decimal("0.42")),
            within: Usage(input_tokens=800, output_tokens=200, requests=3, estimated_usd=Decimal("12.5")),
        }
    )
    return {"over": over, "within": within, "idle": idle, "api": empty_api}


def test_all_keys_shows_budget_status_as_api_keys_and_lists_idle_mapped_keys(budgets, capsys):
    payload = run_json(capsys, "all-keys", "--days", "1")
    keys = {entry["key_id"]: entry for entry in budgets["api"].json("/api/keys", token="admin")["data"]}
    records = {record["key_id"]: record for record in payload["keys"]}

    assert set(records) == {budgets["over"], budgets["within"], budgets["idle"]}
    for key_id, record in records.items():
        assert record["budget"] == keys[key_id]["budget"]
        assert record["budget_status"] == keys[key_id]["budget_status"]
    assert records[budgets["over"]]["budget_status"]["percent"] == 180.0
    assert records[budgets["idle"]]["total_tokens"] == 0
    assert records[budgets["idle"]]["top_model"] is None
    assert records[budgets["over"]]["top_model"]["model"] == "gpt-4o-mini-2024-07-18"

    code, out, _ = run(capsys, "all-keys", "--days", "1")
    assert code == 0
    over_line = next(line for line in out.splitlines() if line.startswith("Over budget"))
    assert "OVER 180.0% of 1,000 tokens/day" in over_line
    within_line = next(line for line in out.splitlines() if line.startswith("Within budget"))
    assert "25.0% of $50.00/month" in within_line
    assert "Idle key (inactive)" in out


def test_names_cannot_send_escape_sequences_to_the_terminal(empty_api, capsys, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOON)
    key_id = new_key_id()
    DirectoryStore().put_mapping(
        KeyMapping(key_id, "evil\x1b[2Jname", owner="o\x07wner", created_at=NOON, updated_at=NOON)
    )
    _fill_today({key_id: Usage(input_tokens=10, requests=1)})
    for argv in (["compare-keys"], ["all-keys"], ["monitor-key", key_id, "--once"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0
        assert "\x1b" not in out
        assert "evil\ufffd[2Jname" in out
    assert "o\ufffdwner" in out


# -- export ----------------------------------------------------------------------------------
@pytest.mark.parametrize("group_by", ["api_key_id", "api_key_id,model", "team", "none"])
def test_export_csv_is_byte_for_byte_the_api_export(api, capsys, group_by):
    code, out, err = run(capsys, "export", "--days", "7", "--format", "csv", "--group-by", group_by)
    response = api.get("/api/export", {**WEEK, "group_by": group_by})

    assert code == 0, err
    assert response.status_code == 200
    assert out == response.body.decode()
    assert len(list(csv.reader(io.StringIO(out)))) > 1


def test_export_to_a_file_keeps_the_csv_exact_and_says_what_it_wrote(api, capsys, tmp_path):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "finance.csv"
    code, out, err = run(capsys, "export", "--days", "7", "--format", "csv", "--output", str(target))
    expected = api.get("/api/export", {**WEEK, "group_by": "api_key_id"}).body

    assert code == 0, err
    assert target.read_bytes() == expected
    rows = len(list(csv.reader(io.StringIO(expected.decode())))) - 1
    assert out == f"wrote {rows} rows (csv, one per 1d bucket and group) to {target}\n"
    assert [path.name for path in target.parent.iterdir()] == ["finance.csv"]


def test_export_json_is_the_usage_report_of_the_api(api, capsys):
    code, out, err = run(capsys, "export", "--days", "3", "--format", "json", "--group-by", "model",
                         "--teams", "research")  # fmt: skip
    usage = api.json(
        "/api/usage",
        {"start_time": TODAY - 2 * DAY, "end_time": TODAY + DAY, "group_by": "model", "teams": "research"},
    )
    assert code == 0, err
    assert json.loads(out) == usage


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "csv", "--group-by", "colour"], "error: --group-by: unknown grouping"),
        (["--format", "csv", "--days", "0"], "error: --days:"),
        (["--format", "json", "--api-key-ids", "sk-nope"], "error: --api-key-ids:"),
        (["--format", "xlsx"], "invalid choice"),
        (["--days", "7"], "--format"),
    ],
)
def test_export_refuses_bad_input_with_exit_code_2(api, capsys, argv, message):
    err = refused(capsys, "export", *argv)
    assert message in err


def test_export_to_a_missing_directory_fails_with_exit_code_1(api, capsys, tmp_path):
    code, _, err = run(capsys, "export", "--format", "csv", "--output", str(tmp_path / "no" / "x.csv"))
    assert code == 1
    assert err.startswith("error: cannot write")


# -- monitor-key -----------------------------------------------------------------------------
MORNING = TODAY + 7 * HOUR + 40 * 60  # the simulator's org is busy at 07:00 on SIM_NOW's day


def _busiest_key(hours: dict[str, Any]) -> str:
    rows = [row for row in hours["groups"] if row["group"]["api_key_id"] != "unattributed"]
    return max(rows, key=lambda row: row["total_tokens"])["group"]["api_key_id"]


def test_monitor_key_once_shows_todays_numbers_and_rate_as_the_api_has_them(api, capsys, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: MORNING)
    two_hours = {"start_time": floor_hour(MORNING) - HOUR, "end_time": MORNING, "bucket_width": "1h"}
    key_id = _busiest_key(api.json("/api/usage", {**two_hours, "group_by": "api_key_id"}))

    view = run_json(capsys, "monitor-key", key_id, "--once")
    today = api.json("/api/usage", {"start_time": TODAY, "end_time": TODAY + DAY, "api_key_ids": key_id})
    last, current = api.json("/api/usage", {**two_hours, "api_key_ids": key_id})["buckets"]
    entry = next(entry for entry in api.json("/api/keys")["data"] if entry["key_id"] == key_id)

    assert {name: view["today"][name] for name in today["total"]} == today["total"]
    assert today["total"]["total_tokens"] > 0
    assert view["last_hour"]["total_tokens"] == sum(row["total_tokens"] for row in last["results"])
    assert view["this_hour"]["total_tokens"] == sum(row["total_tokens"] for row in current["results"])
    assert view["last_hour"]["total_tokens"] + view["this_hour"]["total_tokens"] > 0
    assert view["data_as_of"] == today["data_as_of"]
    assert view["budget_status"] == entry["budget_status"]

    code, out, _ = run(capsys, "monitor-key", key_id, "--once")
    assert code == 0
    assert "\x1b[" not in out
    assert f"{today['total']['total_tokens']:,} tokens" in out
    assert f"{today['total']['requests']:,} requests" in out
    assert _money(today["total"]["cost_usd"]) in out
    assert f"last hour 06:00-07:00  {view['last_hour']['total_tokens']:,} tokens" in out
    assert f"this hour 07:00-08:00  {view['this_hour']['total_tokens']:,} tokens" in out


def test_monitor_key_says_how_old_the_data_is_and_when_it_is_stale(api, sim_table, capsys, monkeypatch):
    key_id = sim_table.key_ids[0]
    code, out, _ = run(capsys, "monitor-key", key_id, "--once")
    assert code == 0
    assert "data as of 2026-11-20T10:17:00Z (0 s ago)" in out
    assert "STALE" not in out

    monkeypatch.setattr(clock, "now", lambda: SIM_NOW + 3 * HOUR)  # prod-like: stale after 60 minutes
    view = run_json(capsys, "monitor-key", key_id, "--once")
    assert (view["age_seconds"], view["stale"]) == (3 * HOUR, True)
    code, out, _ = run(capsys, "monitor-key", key_id, "--once")
    assert "(3 h 0 min ago)  STALE" in out


def test_monitor_key_finds_a_key_by_name_and_shows_its_budget(budgets, capsys):
    view = run_json(capsys, "monitor-key", "over BUDGET", "--once")
    keys = {entry["key_id"]: entry for entry in budgets["api"].json("/api/keys")["data"]}

    assert view["key"]["key_id"] == budgets["over"]
    assert view["today"]["total_tokens"] == 1800
    assert view["budget_status"] == keys[budgets["over"]]["budget_status"]
    assert view["last_hour"]["total_tokens"] == 1800
    assert view["this_hour"]["total_tokens"] == 0

    code, out, _ = run(capsys, "monitor-key", "Within budget", "--once")
    assert code == 0
    assert "budget    25.0% of $50.00/month" in out
    assert "$12.50 used since" in out
    assert "owner grace" in out


def test_monitor_key_refuses_ambiguous_and_unknown_names_and_bad_intervals(empty_api, capsys):
    first, second = new_key_id(), new_key_id()
    DirectoryStore().put_mappings(
        [
            KeyMapping(first, "Shared", team="A", created_at=SIM_NOW, updated_at=SIM_NOW),
            KeyMapping(second, "Shared", team="B", created_at=SIM_NOW, updated_at=SIM_NOW),
        ]
    )
    code, out, err = run(capsys, "monitor-key", "shared", "--once")
    assert (code, out) == (2, "")
    assert first in err
    assert second in err
    assert "give the key id" in err
    code, _, err = run(capsys, "monitor-key", "nobody", "--once")
    assert code == 2
    assert "no key has the id or name 'nobody'" in err
    code, _, err = run(capsys, "monitor-key", first, "--interval", "0.1")
    assert code == 2
    assert err.startswith("error: --interval:")


def test_monitor_key_redraws_until_ctrl_c_then_exits_0(budgets, capsys, monkeypatch):
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(monitor, "sleep", pause)
    code, out, err = run(capsys, "monitor-key", budgets["over"], "--interval", "2")

    assert code == 0, err
    assert pauses == [2.0, 2.0, 2.0]
    assert out.count("today ") == 3
    assert "refreshing every 2 s" in out
    assert err == ""


def test_monitor_key_keeps_watching_when_a_refresh_fails(budgets, capsys, monkeypatch):
    real_frame = monitor.frame
    calls: list[int] = []

    def flaky(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise StoreError("DynamoDB throttled us")
        return real_frame(*args)

    def pause(_seconds: float) -> None:
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(monitor, "frame", flaky)
    monkeypatch.setattr(monitor, "sleep", pause)
    code, out, _ = run(capsys, "monitor-key", budgets["over"])

    assert code == 0
    assert "refresh failed (DynamoDB throttled us): showing the last frame, retrying" in out
    assert out.count("today ") == 3


def test_monitor_key_live_json_is_one_object_per_line(budgets, capsys, monkeypatch):
    def pause(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(monitor, "sleep", pause)
    code, out, _ = run(capsys, "--json", "monitor-key", budgets["within"])
    assert code == 0
    (line,) = out.splitlines()
    assert json.loads(line)["budget_status"]["percent"] == 25.0


# -- per-call measures (issue 11) -------------------------------------------------------------
TOOL_HEADERS = ["WEB SEARCHES", "FILE SEARCHES", "SESSIONS", "STORAGE GB-DAYS"]


def _table(out: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a text table (columns are two or more spaces apart, cells never empty)."""
    header, *rows = out.splitlines()
    return re.split(r"\s{2,}", header), [re.split(r"\s{2,}", row) for row in rows]


def _tool_cells(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['web_searches']:,}",
        f"{row['file_searches']:,}",
        f"{row['code_interpreter_sessions']:,}",
        f"{row['vector_store_gb_days']:,.3f}",
    ]


def test_usage_shows_searches_sessions_and_storage_in_their_own_columns(api, capsys):
    first, end = day_label(WEEK["start_time"]), day_label(TODAY + DAY)  # --end is exclusive
    code, out, err = run(capsys, "usage", "--start", first, "--end", end, "--group-by", "project_id")
    report = api.json("/api/usage", {**WEEK, "group_by": "project_id"})

    assert code == 0, err
    header, rows = _table(out.split("\ntotal ")[0])
    assert header[-4:] == TOOL_HEADERS
    shown = {row[0]: row[-4:] for row in rows}
    assert shown == {group["label"]: _tool_cells(group) for group in report["groups"]}
    assert all(
        report["total"][name] for name in ("web_searches", "file_searches", "code_interpreter_sessions")
    )


def test_all_keys_shows_each_keys_searches_as_the_api_counts_them(api, capsys):
    code, out, err = run(capsys, "all-keys", "--days", "7")
    report = api.json("/api/usage", {**WEEK, "group_by": "api_key_id"})

    assert code == 0, err
    header, rows = _table("\n".join(out.splitlines()[:-2]))  # the footer lines are prose
    tools = [header.index(name) for name in TOOL_HEADERS if name in header]
    assert header[tools[0]] == "WEB SEARCHES"
    # The TOTAL row has empty cells (owner, team): it is the sum, checked by the API's tests.
    by_label = {row[0]: [row[i] for i in tools] for row in rows if not row[0].startswith("TOTAL")}
    for group in report["groups"]:
        expected = dict(zip(TOOL_HEADERS, _tool_cells(group), strict=True))
        assert by_label[group["label"]] == [expected[header[i]] for i in tools]


def test_the_csv_export_carries_every_measure_and_its_columns_sum_to_the_total(api, capsys):
    code, out, err = run(capsys, "export", "--days", "7", "--format", "csv", "--group-by", "project_id")
    total = api.json("/api/usage", {**WEEK, "group_by": "none"})["total"]

    assert code == 0, err
    lines = list(csv.DictReader(io.StringIO(out)))
    measures = [
        *("web_searches", "file_searches", "code_interpreter_sessions"),
        *("batch_tokens", "flex_tokens", "priority_tokens"),
        *("cache_write_30m_tokens", "cache_write_12h_tokens", "image_input_tokens"),
    ]
    for name in measures:
        assert sum(int(line[name]) for line in lines) == total[name] > 0, name
    gb_days = sum(Decimal(line["vector_store_gb_days"]) for line in lines)
    assert abs(gb_days - Decimal(str(total["vector_store_gb_days"]))) < Decimal("0.00001") * len(lines)
    assert total["vector_store_gb_days"] > 0
