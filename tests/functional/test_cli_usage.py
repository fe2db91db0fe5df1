"""`usage` on the command line: every group for scripts (`--top`), `--since` windows, and errors in the
flags and dates typed; against the API's own answers on DynamoDB Local and the simulator."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.periods import DAY, HOUR, day_label
from chalicelib.query import clock
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import TODAY
from tests.functional.cli_helpers import refused, run

sim_table = api_helpers.sim_table
api = api_helpers.api
WEEK = ["--start", day_label(TODAY - 6 * DAY), "--end", day_label(TODAY + DAY)]  # --end is exclusive
WEEK_PARAMS = {"start_time": TODAY - 6 * DAY, "end_time": TODAY + DAY, "group_by": "api_key_id,model"}


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW)


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, "usage", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_usage_json_lists_every_group_in_every_bucket_by_default(api, capsys):
    report = run_json(capsys, *WEEK, "--group-by", "api_key_id,model")

    assert report == api.json("/api/usage", {**WEEK_PARAMS, "top": 0})
    assert len(report["groups"]) > 10  # more than the API's default top, so nothing may be folded
    assert not any(row.get("other") for bucket in report["buckets"] for row in bucket["results"])
    assert max(len(bucket["results"]) for bucket in report["buckets"]) > 10


def test_usage_top_n_is_the_api_top_n(api, capsys):
    report = run_json(capsys, *WEEK, "--group-by", "api_key_id,model", "--top", "3")

    assert report == api.json("/api/usage", {**WEEK_PARAMS, "top": 3})
    assert all(len(bucket["results"]) <= 4 for bucket in report["buckets"])
    assert any(row.get("other") for bucket in report["buckets"] for row in bucket["results"])


def test_usage_help_shows_top_and_since(capsys):
    code, out, _ = run(capsys, "usage", "--help")

    assert code == 0
    assert "--top N" in out
    assert "--since N{m,h,d}" in out


def test_usage_since_hours_is_the_api_report_of_the_last_hours(api, capsys):
    report = run_json(capsys, "--since", "6h", "--bucket", "1h", "--group-by", "model")

    expected = api.json(
        "/api/usage",
        {
            "start_time": SIM_NOW - 6 * HOUR,
            "end_time": SIM_NOW,
            "bucket_width": "1h",
            "group_by": "model",
            "top": 0,
        },
    )
    assert report == expected
    assert len(report["buckets"]) == 7  # 6 hours, snapped outward to whole hours
    assert report["total"]["total_tokens"] > 0


def test_usage_since_minutes_reads_minute_buckets_live(api, capsys):
    report = run_json(capsys, "--since", "90m", "--bucket", "1m")

    assert len(report["buckets"]) == 90
    assert report["bucket_width"] == "1m"
    assert report["end_time"] == SIM_NOW - SIM_NOW % 60 + (60 if SIM_NOW % 60 else 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--start", "2026-11-05", "--end", "2026-11-01"],
            "error: --end: --end 2026-11-01 must be after --start 2026-11-05",
        ),
        (
            ["--start", "2026-12-25"],
            "error: --start: --start 2026-12-25 is in the future (today is 2026-11-20)",
        ),
        (["--start", "2026-13-01"], "error: --start: expected a date as YYYY-MM-DD, got '2026-13-01'"),
        (["--since", "6x"], "error: --since: expected a window up to now: a whole number and m, h or d"),
        (["--since", "0h"], "error: --since: expected a window up to now"),
        (
            ["--since", "7h", "--bucket", "1m"],
            "error: --since: --since 7h is longer than --bucket 1m allows (6 hours)",
        ),
        (
            ["--start", "2026-11-19", "--bucket", "1m"],
            "error: --start: --start 2026-11-19 is longer than --bucket 1m allows (6 hours) (try --since 6h)",
        ),
        (
            ["--start", "2026-10-01", "--bucket", "1h"],
            "error: --start: --start 2026-10-01 is longer than --bucket 1h allows (31 days)",
        ),
        (
            ["--start", "2026-10-15", "--end", "2026-10-20", "--bucket", "1h"],
            "error: --start: hourly data is kept for 35 days: --start 2026-10-15 --end 2026-10-20 starts too "
            "early; use --start 2026-10-17 or later, or --bucket 1d",
        ),
        (["--since", "2h", "--end", "2026-11-20"], "error: --end: goes with --start"),
        (["--start", "2026-11-01", "--group-by", "colour"], "error: --group-by: unknown grouping 'colour'"),
        (["--start", "2026-11-01", "--api-key-ids", "sk-abc"], "error: --api-key-ids:"),
    ],
)
def test_usage_errors_name_the_flags_and_dates_typed(api, capsys, argv, message):
    err = refused(capsys, "usage", *argv)

    assert err.startswith(message), err
    assert "_time" not in err
    assert "bucket_width" not in err
    assert not re.search(r"\b1[0-9]{9}\b", err)  # no Unix seconds


@pytest.mark.parametrize("value", ["51", "-1", "ten"])
def test_usage_top_out_of_range_is_a_usage_error_naming_the_flag(capsys, value):
    code, _, err = run(capsys, "usage", "--start", "2026-11-01", "--top", value)

    assert code == 2
    assert "argument --top: expected a whole number from 0 to 50 (0 lists every group)" in err


def test_usage_needs_start_or_since(capsys):
    code, _, err = run(capsys, "usage")

    assert code == 2
    assert "one of the arguments --start --since is required" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--start", "2026-11-05", "--end", "2026-11-01"],
            "error: --end: --end 2026-11-01 must be after --start 2026-11-05 (the end day is exclusive)",
        ),
        (
            ["--start", "2099-01-01", "--end", "2099-01-02"],
            "error: --start: --start 2099-01-01 is in the future",
        ),
        (["--start", "2026-11-01"], "error: --end: a backfill needs both --start and --end"),
        (["--start", "2026-02-30", "--end", "2026-03-01"], "error: --start: expected a date as YYYY-MM-DD"),
    ],
)
def test_collect_backfill_errors_name_the_dates_typed(usage_table, capsys, argv, message):
    err = refused(capsys, "collect", *argv)

    assert err.startswith(message), err
