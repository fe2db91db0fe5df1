"""GET /api/compare, /api/export and /api/pools on the simulated organization."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from chalicelib.periods import DAY
from chalicelib.pools import pool_report
from chalicelib.query.export import safe_text
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import RollupStore
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import TODAY

sim_table = api_helpers.sim_table
api = api_helpers.api

WEEK = {"start_time": TODAY - 6 * DAY, "end_time": TODAY + DAY}


def test_compare_shows_the_asked_keys_in_order_with_the_same_numbers_as_usage(api, sim_table):
    keys = [sim_table.key_ids[4], sim_table.key_ids[1], "key_neverused0"]

    comparison = api.json("/api/compare", {**WEEK, "api_key_ids": ",".join(keys)})
    usage = api.json("/api/usage", {**WEEK, "group_by": "api_key_id", "api_key_ids": keys})

    assert [row["group"]["api_key_id"] for row in comparison["keys"]] == keys
    assert comparison["keys"][2]["total_tokens"] == 0
    assert comparison["keys"][2]["label"] == "key_neverused0"
    assert comparison["total"] == usage["total"]
    by_key = {row["group"]["api_key_id"]: row for row in usage["groups"]}
    for row in comparison["keys"][:2]:
        assert row == by_key[row["group"]["api_key_id"]]
    assert (
        sum(row["share_cost"] for row in comparison["keys"]) == 1.0 or comparison["total"]["cost_usd"] == "0"
    )


def test_export_is_a_csv_download_with_the_same_numbers_as_usage(api):
    params = {**WEEK, "group_by": "api_key_id,model"}

    response = api.get("/api/export", {**params, "top": 2})  # export ignores top: always every group
    usage = api.json("/api/usage", {**params, "top": 0})

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="usage-2026-11-14-2026-11-20.csv"'
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert list(rows[0])[:8] == [
        "period_start_utc",
        "period_end_utc",
        "api_key_id",
        "key_name",
        "key_owner",
        "key_team",
        "model",
        "input_tokens",
    ]
    assert len(rows) == sum(len(bucket["results"]) for bucket in usage["buckets"])
    assert sum(int(row["total_tokens"]) for row in rows) == usage["total"]["total_tokens"]
    assert sum(Decimal(row["cost_usd"]) for row in rows) == Decimal(usage["total"]["cost_usd"])
    assert {row["provisional"] for row in rows} == {"yes", "no"}
    assert {row["cost_source"] for row in rows if row["provisional"] == "yes"} == {"estimated"}
    assert {row["cost_source"] for row in rows if row["provisional"] == "no"} == {"billed"}
    assert rows[0]["period_start_utc"] == "2026-11-14"


def test_export_cells_never_start_a_spreadsheet_formula():
    assert safe_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_text("@SUM(A1)") == "'@SUM(A1)"
    assert safe_text("Ada") == "Ada"
    assert safe_text(None) == ""


def test_export_names_from_the_simulator_are_defused(api, sim_table):
    response = api.get("/api/export", {**WEEK, "group_by": "api_key_id"})
    text = response.body.decode()

    for row in csv.DictReader(io.StringIO(text)):
        assert not row["key_name"].startswith(("=", "+", "-", "@"))


def test_pools_come_from_the_pools_module_for_today(api):
    served = api.json("/api/pools")

    expected = pool_report(SIM_NOW, get_settings(), RollupStore(), DirectoryStore(), MetaStore()).as_dict()
    assert served == json.loads(json.dumps(expected))
    assert served["date"] == "2026-11-20"
    assert {pool["pool"] for pool in served["pools"]} == {"large", "mini"}
