"""GET/POST /api/keys and PATCH/DELETE /api/keys/{key_id} on DynamoDB Local."""

from __future__ import annotations

import json
from decimal import Decimal

from boto3.dynamodb.conditions import Key

from chalicelib import aws
from chalicelib.periods import DAY
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.store.table import query_all, reset_stats
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import FIRST_DAY, TODAY

empty_api = api_helpers.empty_api
sim_table = api_helpers.sim_table
api = api_helpers.api

KEY = "key_ada0001"


def _post(api, body, token="admin"):
    return api.request("POST", "/api/keys", token=token, body=body)


def _store_day(day: str, key: str, tokens: int, estimated: str, billed: str = "0") -> None:
    rollup = DayRollup(day=day)
    rollup.daily[Cell(key, "gpt-4o-mini-2024-07-18", "proj_a")] = Usage(
        input_tokens=tokens, estimated_usd=Decimal(estimated), billed_usd=Decimal(billed)
    )
    RollupStore().replace_day(rollup, keep_hourly=False, hourly_retention_days=35)


def test_a_created_mapping_is_listed_with_its_fields(empty_api):
    body = {
        "key_id": KEY,
        "name": "Ada's notebook",
        "owner": "Ada",
        "team": "research",
        "description": "experiments",
        "budget": {"amount": "50", "unit": "usd", "period": "monthly"},
    }

    created = _post(empty_api, body)
    listed = empty_api.json("/api/keys")["data"]

    assert created.status_code == 201
    key = json.loads(created.body)
    assert key["key_id"] == KEY
    assert key["source"] == "mapping"
    assert key["budget"] == {"amount": "50", "unit": "usd", "period": "monthly"}
    assert key["budget_status"]["limit"] == "50"
    assert key["budget_status"]["period_start"] == "2026-11-01T00:00:00Z"
    assert key["usage_30d"]["total_tokens"] == 0
    assert listed == [key]


def test_creating_a_mapping_twice_is_a_409(empty_api):
    assert _post(empty_api, {"key_id": KEY, "name": "Ada"}).status_code == 201

    again = _post(empty_api, {"key_id": KEY, "name": "Someone else"})

    assert again.status_code == 409
    assert json.loads(again.body)["error"]["param"] == "key_id"


def test_patch_changes_only_the_given_fields(empty_api):
    _post(empty_api, {"key_id": KEY, "name": "Ada", "owner": "Ada", "team": "research"})

    response = empty_api.request(
        "PATCH", f"/api/keys/{KEY}", token="admin", body={"team": "platform", "budget": {"amount": 1000}}
    )

    key = json.loads(response.body)
    assert response.status_code == 200
    assert (key["name"], key["owner"], key["team"]) == ("Ada", "Ada", "platform")
    assert key["budget"] == {"amount": "1000", "unit": "tokens", "period": "monthly"}


def test_patch_with_a_stale_updated_at_is_a_409_and_with_the_current_one_succeeds(empty_api):
    created = json.loads(_post(empty_api, {"key_id": KEY, "name": "Ada"}).body)
    first = empty_api.request(
        "PATCH",
        f"/api/keys/{KEY}",
        token="admin",
        body={"name": "Ada L", "updated_at": created["updated_at"]},
    )

    stale = empty_api.request(
        "PATCH",
        f"/api/keys/{KEY}",
        token="admin",
        body={"name": "Ada X", "updated_at": created["updated_at"]},
    )

    assert first.status_code == 200
    assert json.loads(first.body)["updated_at"] > created["updated_at"]
    assert stale.status_code == 409
    assert json.loads(stale.body)["error"]["param"] == "updated_at"


def test_null_clears_optional_fields(empty_api):
    _post(empty_api, {"key_id": KEY, "name": "Ada", "team": "research", "budget": {"amount": 5}})

    key = json.loads(
        empty_api.request(
            "PATCH", f"/api/keys/{KEY}", token="admin", body={"team": None, "budget": None}
        ).body
    )

    assert key["team"] is None
    assert key["budget"] is None
    assert key["budget_status"] is None


def test_deleting_a_mapping_keeps_the_keys_usage(empty_api):
    _store_day("2026-11-19", KEY, 1234, "0.5")
    _post(empty_api, {"key_id": KEY, "name": "Ada"})

    deleted = empty_api.request("DELETE", f"/api/keys/{KEY}", token="admin")
    listed = {key["key_id"]: key for key in empty_api.json("/api/keys")["data"]}

    assert deleted.status_code == 200
    assert json.loads(deleted.body) == {"key_id": KEY, "deleted": True}
    assert listed[KEY]["source"] == "unmapped"
    assert listed[KEY]["usage_30d"]["input_tokens"] == 1234
    stored = list(query_all(aws.dynamodb_table(), KeyConditionExpression=Key("pk").eq("DD#2026-11")))
    assert len(stored) == 1
    assert empty_api.request("DELETE", f"/api/keys/{KEY}", token="admin").status_code == 404


def test_usage_30d_and_budget_status_count_settled_billing_and_provisional_estimates(empty_api):
    MetaStore().record_success(
        run_id="r",
        finished_at=SIM_NOW,
        usage_as_of=SIM_NOW,
        costs_as_of=SIM_NOW,
        directory_synced_at=None,
        cost_grouping="api_key_id",
    )
    _store_day("2026-10-01", KEY, 999, "9", "9")  # outside 30 days and outside the month
    _store_day("2026-10-25", KEY, 100, "1.00", "0.80")  # in 30 days, settled, last month
    _store_day("2026-11-10", KEY, 200, "2.00", "1.50")  # in 30 days and the month, settled
    _store_day("2026-11-20", KEY, 300, "3.00", "0")  # today: provisional, estimated
    _post(empty_api, {"key_id": KEY, "name": "Ada", "budget": {"amount": "10", "unit": "usd"}})

    key = next(k for k in empty_api.json("/api/keys")["data"] if k["key_id"] == KEY)

    assert key["usage_30d"]["input_tokens"] == 600
    assert Decimal(key["usage_30d"]["cost_usd"]) == Decimal("5.30")
    assert Decimal(key["budget_status"]["used"]) == Decimal("4.50")
    assert key["budget_status"]["percent"] == 45.0


def test_every_key_of_the_simulated_org_is_listed_with_its_thirty_days(api, sim_table):
    keys = {key["key_id"]: key for key in api.json("/api/keys")["data"]}
    report = api.json(
        "/api/usage", {"start_time": TODAY - 29 * DAY, "end_time": TODAY + DAY, "group_by": "api_key_id"}
    )

    assert set(sim_table.key_ids) <= set(keys)
    assert "unattributed" not in keys
    assert keys[sim_table.key_ids[0]]["source"] == "mapping"
    assert keys[sim_table.key_ids[5]]["source"] == "directory"
    assert keys[sim_table.org.directory.deleted_key_id]["source"] == "unmapped"
    for row in report["groups"]:
        key_id = row["group"]["api_key_id"]
        if key_id != "unattributed":
            assert keys[key_id]["usage_30d"]["total_tokens"] == row["total_tokens"]
            assert keys[key_id]["usage_30d"]["cost_usd"] == row["cost_usd"]
    assert FIRST_DAY < TODAY


def test_key_names_are_cached_and_every_edit_through_the_api_shows_at_once(empty_api):
    _store_day("2026-11-19", KEY, 1234, "0.5")
    params = {"start_time": FIRST_DAY, "end_time": TODAY + DAY, "group_by": "api_key_id"}

    def label() -> str:
        (row,) = empty_api.json("/api/usage", params)["groups"]
        return str(row["label"])

    assert label() == KEY
    reset_stats()
    assert label() == KEY
    assert reset_stats().requests == 1  # the rollups only: MAP and DIR come from the cache

    _post(empty_api, {"key_id": KEY, "name": "Ada"})
    assert label() == "Ada"
    patched = empty_api.request("PATCH", f"/api/keys/{KEY}", token="admin", body={"name": "Ada L."})
    assert patched.status_code == 200
    assert label() == "Ada L."
    assert empty_api.request("DELETE", f"/api/keys/{KEY}", token="admin").status_code == 200
    assert label() == KEY
