"""Response shapes against the reference: envelopes, result objects, fields per kind, directory objects."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from simulator.pages import result_object
from simulator.pytest_plugin import SIM_NOW
from simulator.traffic import METRICS

DAY = 86400
CHAT_GROUPS = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier", "api_source"}
GROUP_FIELDS = {
    "completions": CHAT_GROUPS,
    "decisions": CHAT_GROUPS,
    "images": {"project_id", "user_id", "api_key_id", "model", "size", "source"},
    "web_search_calls": {"project_id", "user_id", "api_key_id", "model", "context_level", "api_source"},
    "file_search_calls": {"project_id", "user_id", "api_key_id", "vector_store_id"},
    "code_interpreter_sessions": {"project_id"},
    "vector_stores": {"project_id"},
}
NEWER_FIELDS = {
    "input_uncached_tokens",
    "input_text_tokens",
    "output_text_tokens",
    "input_cached_text_tokens",
    "input_image_tokens",
}


@pytest.mark.parametrize("kind", list(METRICS))
def test_usage_page_has_the_reference_envelope_and_result_fields(api, kind):
    page = api.ok(f"/organization/usage/{kind}", {"start_time": SIM_NOW - 20 * DAY, "limit": 20})

    assert set(page) == {"object", "data", "has_more", "next_page"}
    assert page["object"] == "page"
    assert len(page["data"]) == 20
    starts = [bucket["start_time"] for bucket in page["data"]]
    assert starts == sorted(starts)
    grouping = GROUP_FIELDS.get(kind, {"project_id", "user_id", "api_key_id", "model"})
    results = [r for bucket in page["data"] for r in bucket["results"]]
    assert results, f"no {kind} usage in 20 days"
    for bucket in page["data"]:
        assert set(bucket) == {"object", "start_time", "end_time", "results"}
        assert bucket["object"] == "bucket"
    for result in results:
        assert result["object"] == result_object(kind)
        assert set(METRICS[kind]) | grouping | {"object"} <= set(result)
        assert all(isinstance(result[m], int) for m in METRICS[kind])
        assert all(result[field] is None for field in grouping)  # ungrouped: grouping fields are null


def test_completions_results_follow_the_reference_example(api):
    page = api.ok(
        "/organization/usage/completions",
        {"start_time": SIM_NOW - 10 * DAY, "limit": 10, "group_by": ["api_key_id", "model"]},
    )
    results = [r for bucket in page["data"] for r in bucket["results"]]
    for result in results:
        assert result["input_cached_tokens"] <= result["input_tokens"]  # input includes cached
        assert result["input_audio_tokens"] + result["input_cached_tokens"] <= result["input_tokens"]
        assert result["project_id"] is None
        assert result["batch"] is None
        assert result["service_tier"] is None
        assert result["api_source"] is None
        assert isinstance(result["model"], str)
    with_newer = [r for r in results if set(r) >= NEWER_FIELDS]
    assert 0 < len(with_newer) < len(results), "2026 fields appear on some rows, not all"
    for result in results:  # the SDK's definitions (openai==3.51.0); an absent or null field is 0
        get = lambda name, r=result: r.get(name) or 0  # noqa: E731
        cached = (
            get("input_cached_text_tokens")
            + get("input_cached_audio_tokens")
            + get("input_cached_image_tokens")
        )
        assert cached == result["input_cached_tokens"]
        uncached = get("input_text_tokens") + get("input_audio_tokens") + get("input_image_tokens")
        assert uncached == result["input_uncached_tokens"]  # input_text_tokens excludes cached tokens now
        writes = get("input_cache_write_30m_tokens") + get("input_cache_write_12h_tokens")
        assert writes == get("input_cache_write_tokens")
        assert result["input_tokens"] == uncached + cached + writes
        outputs = get("output_text_tokens") + get("output_audio_tokens") + get("output_image_tokens")
        assert result["output_tokens"] == outputs
    assert any(r.get("input_cache_write_tokens") for r in results), "some rows write to the prompt cache"
    assert any(r.get("input_cache_write_12h_tokens") for r in results), "some with 12-hour retention"
    assert any(r.get("input_image_tokens") for r in results), "some rows have image input"
    known = set(METRICS["completions"]) | NEWER_FIELDS | GROUP_FIELDS["completions"] | {"object"}
    known |= {"input_cache_write_tokens", "input_cache_write_30m_tokens", "input_cache_write_12h_tokens"}
    known |= {"input_cached_audio_tokens", "input_cached_image_tokens", "output_image_tokens"}
    assert any(set(r) - known for r in results), "an unknown field appears now and then"


def test_completions_models_are_dated_snapshots(api, sim_org):
    truth = sim_org.usage_truth("completions", sim_org.origin, SIM_NOW, ("model",))
    assert all(re.search(r"-20\d\d-\d\d-\d\d$", model) for (model,) in truth)
    assert ("gpt-4o-mini-2024-07-18",) in truth or ("gpt-5.1-2025-11-13",) in truth


def test_grouped_results_carry_their_group_values(api):
    page = api.ok(
        "/organization/usage/images",
        {"start_time": SIM_NOW - 20 * DAY, "limit": 20, "group_by": ["size", "source", "project_id"]},
    )
    results = [r for bucket in page["data"] for r in bucket["results"]]
    assert results
    for result in results:
        assert result["size"] in ("1024x1024", "1024x1792", "1792x1024")
        assert result["source"] in ("image.generation", "image.edit")
        assert result["project_id"].startswith("proj_")
        assert result["model"] is None
        assert result["api_key_id"] is None


def test_cost_results_have_amounts_as_numbers_and_long_decimal_strings(api):
    page = api.ok(
        "/organization/costs",
        {
            "start_time": SIM_NOW - 20 * DAY,
            "limit": 21,
            "group_by": ["line_item", "project_id", "api_key_id"],
        },
    )
    results = [r for bucket in page["data"] for r in bucket["results"]]
    values = [r["amount"]["value"] for r in results]
    assert all(r["object"] == "organization.costs.result" for r in results)
    assert all(r["amount"]["currency"] == "usd" for r in results)
    assert any(isinstance(v, Decimal) for v in values), "some amounts are JSON numbers"
    strings = [v for v in values if isinstance(v, str)]
    assert "0E-6176" in strings, "zero is the string 0E-6176"
    long = [v for v in strings if v != "0E-6176"]
    assert long
    assert all(re.fullmatch(r"\d+\.\d{39}", v) for v in long)
    assert all(Decimal(v) >= 0 for v in strings)
    items = {r["line_item"] for r in results}
    assert "web search tool calls" in items
    assert any(item.endswith(", input") for item in items)
    assert any(item.endswith(", cached input") for item in items)
    assert any(item.endswith(", output") for item in items)
    for tool in (
        "file search tool calls",
        "code interpreter sessions",
        "vector store storage",
        "Text tokens",
    ):
        assert tool in items
    assert any(item.endswith(", input_tokens") for item in items), "the newer live shape"
    units = {r["line_item"]: r["quantity_unit"] for r in results}
    assert units["vector store storage"] == "gibibyte_hours"
    assert units["web search tool calls"] is None  # no single unit of the SDK applies to calls
    assert all(units[item] == "tokens" for item in items if item.endswith((", input", ", output")))
    assert all(isinstance(r["quantity"], Decimal | int) and r["quantity"] >= 0 for r in results)
    assert any("organization_id" in r for r in results)
    assert any("project_name" in r for r in results)
    for bucket in page["data"]:
        assert bucket["start_time"] % DAY == 0
        assert bucket["end_time"] == bucket["start_time"] + DAY


def test_ungrouped_costs_have_null_grouping_fields(api):
    page = api.ok("/organization/costs", {"start_time": SIM_NOW - SIM_NOW % DAY - 2 * DAY})
    results = [r for bucket in page["data"] for r in bucket["results"]]
    assert len(results) == 3  # one total per day
    for result in results:
        assert result["line_item"] is None
        assert result["project_id"] is None
        assert result["api_key_id"] is None
        assert result["user_id"] is None
        assert result["api_source"] is None
        assert result["quantity"] is None  # quantities only when grouped by line_item


def test_projects_list_shape_and_the_archived_project(api):
    active = api.ok("/organization/projects")
    everything = api.ok("/organization/projects", {"include_archived": "true"})

    assert set(everything) == {"object", "data", "first_id", "last_id", "has_more"}
    assert everything["object"] == "list"
    archived = [p for p in everything["data"] if p["status"] == "archived"]
    assert len(archived) == 1
    assert isinstance(archived[0]["archived_at"], int)
    assert len(active["data"]) == len(everything["data"]) - 1
    for project in everything["data"]:
        assert project["id"].startswith("proj_")
        assert project["object"] == "organization.project"
        assert set(project) == {"id", "object", "name", "created_at", "archived_at", "status"}
    assert everything["first_id"] == everything["data"][0]["id"]
    assert everything["last_id"] == everything["data"][-1]["id"]


def test_api_keys_have_owners_of_both_kinds_and_redacted_values(api, sim_org):
    keys = [
        key
        for project in sim_org.projects(include_archived=True)
        for key in api.ok(f"/organization/projects/{project.id}/api_keys")["data"]
    ]
    assert len(keys) == sim_org.spec.keys
    types = {key["owner"]["type"] for key in keys}
    assert types == {"user", "service_account"}
    for key in keys:
        assert key["id"].startswith("key_")
        assert key["object"] == "organization.project.api_key"
        assert re.fullmatch(r"sk-\w{3}\.\.\.\w{3}", key["redacted_value"])
        owner = key["owner"]
        assert owner[owner["type"]]["id"].startswith("user-" if owner["type"] == "user" else "svc_acct_")
    names = {key["name"] for key in keys}
    assert "<img src=x onerror=alert(1)>" in names
    quiet = next(k for k in keys if k["id"] == sim_org.directory.quiet_key_id)
    assert quiet["last_used_at"] is None


def test_users_list_shape(api, sim_org):
    users = api.ok("/organization/users")["data"]
    assert len(users) == sim_org.spec.users
    for user in users:
        assert set(user) == {
            "object",
            "id",
            "name",
            "email",
            "role",
            "added_at",
        }  # organization users: added_at
        assert user["id"].startswith("user-")
        assert user["role"] in ("owner", "reader")
    assert users[0]["role"] == "owner"


def test_a_removed_user_is_no_longer_listed_while_their_keys_still_name_them(api, sim_org):
    key = next(k for k in sim_org.directory.keys if k.listed and k.user_id)
    sim_org.remove_user(key.user_id)

    users = api.ok("/organization/users")["data"]
    listed = api.ok(f"/organization/projects/{key.project_id}/api_keys")["data"]

    assert key.user_id not in {user["id"] for user in users}
    assert len(users) == sim_org.spec.users - 1
    owner = next(k for k in listed if k["id"] == key.id)["owner"]
    assert owner["type"] == "user"
    assert owner["user"]["id"] == key.user_id
