"""The kinds and token dimensions of openai==3.51.0: tools are billed exactly, storage is a daily
sample, token detail adds up to the totals, and every width of a tool kind sums the same."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator.billing import item_name
from simulator.catalog import (
    CODE_INTERPRETER_LINE_ITEM,
    CODE_INTERPRETER_PRICE,
    DECISIONS_LINE_ITEM,
    FILE_SEARCH_LINE_ITEM,
    FILE_SEARCH_PRICE,
    GIBIBYTE,
    MILLION,
    VECTOR_STORAGE_LINE_ITEM,
    VECTOR_STORAGE_PRICE,
    WEB_SEARCH_LINE_ITEM,
    WEB_SEARCH_PRICE,
    model_info,
)
from simulator.pytest_plugin import SIM_NOW

from .conftest import sum_costs, sum_usage

DAY = 86400
HOUR = 3600
TODAY = SIM_NOW - SIM_NOW % DAY


def test_tool_line_items_equal_price_times_their_usage_kind(api, sim_org):
    day = TODAY - 3 * DAY
    usage = {
        kind: sim_org.usage_truth(kind, day, day + DAY, ("project_id",))
        for kind in ("web_search_calls", "file_search_calls", "code_interpreter_sessions", "vector_stores")
    }
    expected = {
        WEB_SEARCH_LINE_ITEM: WEB_SEARCH_PRICE
        * sum(v["num_requests"] for v in usage["web_search_calls"].values()),
        FILE_SEARCH_LINE_ITEM: FILE_SEARCH_PRICE
        * sum(v["num_requests"] for v in usage["file_search_calls"].values()),
        CODE_INTERPRETER_LINE_ITEM: CODE_INTERPRETER_PRICE
        * sum(v["num_sessions"] for v in usage["code_interpreter_sessions"].values()),
        VECTOR_STORAGE_LINE_ITEM: VECTOR_STORAGE_PRICE
        * sum(Decimal(v["usage_bytes"]) for v in usage["vector_stores"].values())
        / GIBIBYTE,
    }
    billed = sum_costs(
        api.buckets(
            "/organization/costs", {"start_time": day, "end_time": day + DAY, "group_by": "line_item"}
        ),
        ("line_item",),
    )
    assert all(expected.values())
    for item, cost in expected.items():
        assert billed[(item,)] == cost, item


def test_decisions_bill_their_tokens_as_text_tokens_at_the_model_prices(sim_org):
    day = TODAY - 2 * DAY
    expected = Decimal(0)
    for (model, batch), values in sim_org.usage_truth(
        "decisions", day, day + DAY, ("model", "batch")
    ).items():
        info = model_info(model)
        uncached = values["input_tokens"] - values["input_cached_tokens"]
        cost = (
            uncached * info.input
            + values["input_cached_tokens"] * (info.cached_input or info.input)
            + values["output_tokens"] * info.output
        ) / MILLION
        expected += cost / 2 if batch else cost
    truth = sim_org.costs_truth_detail(day, day + DAY, ("line_item",))
    amount, quantity, unit = truth[(DECISIONS_LINE_ITEM,)]
    assert amount == expected
    (total,) = sim_org.usage_truth("decisions", day, day + DAY).values()
    assert (quantity, unit) == (total["input_tokens"] + total["output_tokens"], "tokens")


def test_the_newer_line_item_shape_bills_like_the_older_one():
    newer, older = model_info("gpt-5.1-2025-11-13"), model_info("gpt-5-2025-08-07")
    assert item_name(newer, "input") == "gpt-5.1-2025-11-13, input_tokens"
    assert item_name(newer, "cached input") == "gpt-5.1-2025-11-13, cached_input_tokens"
    assert item_name(older, "cached input") == "gpt-5-2025-08-07, cached input"


def test_vector_storage_is_one_daily_sample_that_grows_and_stops_with_an_archived_project(api, sim_org):
    params = {"start_time": sim_org.origin, "limit": 31, "group_by": "project_id"}
    buckets = api.buckets("/organization/usage/vector_stores", params)
    by_project: dict[str, list[int]] = {}
    for bucket in buckets:
        for result in bucket["results"]:
            by_project.setdefault(result["project_id"], []).append(result["usage_bytes"])
    stores = sim_org.directory.vector_stores
    archived = next(p for p in sim_org.directory.projects if p.archived_at is not None)
    for project_id, sizes in by_project.items():
        assert sizes == sorted(sizes), "storage only grows"
        first = sum(s.size_on(0) for s in stores if s.project_id == project_id)
        assert sizes[0] == first
    assert len(by_project[archived.id]) == (archived.archived_at - sim_org.origin) // DAY + 1
    hourly = api.buckets(
        "/organization/usage/vector_stores",
        {"start_time": TODAY - DAY, "end_time": TODAY, "bucket_width": "1h", "limit": 24},
    )
    assert [bool(b["results"]) for b in hourly] == [True] + [False] * 23  # sampled at midnight


@pytest.mark.parametrize(
    ("kind", "group_by"),
    [
        ("web_search_calls", ("api_key_id", "model", "context_level", "api_source")),
        ("file_search_calls", ("api_key_id", "vector_store_id")),
        ("code_interpreter_sessions", ("project_id",)),
        ("decisions", ("api_key_id", "batch", "api_source")),
    ],
)
def test_minute_hour_and_day_buckets_of_a_tool_kind_add_up(api, kind, group_by):
    start, end = TODAY - DAY + 5 * HOUR + 77, SIM_NOW
    totals = {}
    for width, limit in (("1m", 1440), ("1h", 168), ("1d", 31)):
        params = {"start_time": start, "end_time": end, "bucket_width": width, "limit": limit}
        totals[width] = sum_usage(
            kind, api.buckets(f"/organization/usage/{kind}", {**params, "group_by": list(group_by)}), group_by
        )
    assert totals["1m"] == totals["1h"] == totals["1d"]
    assert totals["1d"]


def test_token_detail_adds_up_to_the_totals_in_the_ground_truth(sim_org):
    for kind in ("completions", "decisions"):
        truth = sim_org.usage_truth(kind, sim_org.origin, SIM_NOW, ("model",), every_field=True)
        for values in truth.values():
            cached = sum(values[f"input_cached_{m}_tokens"] for m in ("text", "audio", "image"))
            uncached = sum(values[f"input_{m}_tokens"] for m in ("text", "audio", "image"))
            writes = values["input_cache_write_30m_tokens"] + values["input_cache_write_12h_tokens"]
            assert cached == values["input_cached_tokens"]
            assert uncached == values["input_uncached_tokens"]
            assert writes == values["input_cache_write_tokens"]
            assert values["input_tokens"] == uncached + cached + writes
            outputs = sum(values[f"output_{m}_tokens"] for m in ("text", "audio", "image"))
            assert values["output_tokens"] == outputs
        totals = {name: sum(v[name] for v in truth.values()) for name in next(iter(truth.values()))}
        assert totals["input_cached_tokens"], kind
        assert totals["input_cache_write_30m_tokens"] + totals["input_cache_write_12h_tokens"], kind
    (chat,) = sim_org.usage_truth("completions", sim_org.origin, SIM_NOW, every_field=True).values()
    for name in (
        "input_image_tokens",
        "output_image_tokens",
        "input_cached_audio_tokens",
        "input_cache_write_12h_tokens",
    ):
        assert chat[name], name


def test_api_keys_carry_owner_project_access_and_owner_users_their_created_at(api, sim_org):
    archived = next(p for p in sim_org.directory.projects if p.archived_at is not None)
    listed = {}
    for access in ("any", "active", "inactive"):
        listed[access] = [
            key
            for project in sim_org.projects(include_archived=True)
            for key in api.listing(
                f"/organization/projects/{project.id}/api_keys", 100, {"owner_project_access": access}
            )
        ]
    assert len(listed["any"]) == sim_org.spec.keys
    assert {k["owner_project_access"] for k in listed["active"]} == {"active"}
    inactive = listed["inactive"]
    assert inactive
    assert all(k["owner"]["type"] == "user" for k in inactive)
    assert {k["id"] for k in inactive} <= {k.id for k in sim_org.api_keys(archived.id)}
    for key in listed["any"]:
        if key["owner"]["type"] == "user":
            assert isinstance(key["owner"]["user"]["created_at"], int)
    response = api.get(f"/organization/projects/{archived.id}/api_keys", {"owner_project_access": "all"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "owner_project_access"
