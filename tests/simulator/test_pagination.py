"""Pagination counts buckets; the sum over every page of a query equals the in-process ground truth."""

from __future__ import annotations

import base64

import pytest

from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW
from simulator.server import SimulatorServer

from .conftest import Api, sum_costs, sum_usage

DAY = 86400
HOUR = 3600

USAGE_QUERIES = [
    ("completions", "1d", 5, (), SIM_NOW - 30 * DAY + 4321),
    ("completions", "1d", 10, ("api_key_id", "model"), SIM_NOW - 30 * DAY),
    ("completions", "1h", 50, ("model", "batch", "service_tier"), SIM_NOW - 6 * DAY - 1234),
    ("completions", "1m", 700, ("api_key_id",), SIM_NOW - DAY - 7),
    ("completions", "1h", 168, ("project_id", "user_id", "api_key_id", "model"), SIM_NOW - 10 * DAY),
    ("embeddings", "1h", 100, ("model", "project_id"), SIM_NOW - 8 * DAY),
    ("images", "1d", 4, ("size", "source"), SIM_NOW - 25 * DAY),
    ("audio_transcriptions", "1d", 7, ("api_key_id",), SIM_NOW - 25 * DAY),
]


@pytest.mark.parametrize(("kind", "width", "limit", "group_by", "start"), USAGE_QUERIES)
def test_the_sum_over_all_pages_equals_the_ground_truth(api, sim_org, kind, width, limit, group_by, start):
    params = {"start_time": start, "bucket_width": width, "limit": limit, "group_by": list(group_by)}
    pages = list(api.pages(f"/organization/usage/{kind}", params))
    buckets = [bucket for page in pages for bucket in page["data"]]

    assert len(pages) > 1
    assert all(len(page["data"]) == limit for page in pages[:-1])
    assert pages[-1]["has_more"] is False
    assert pages[-1]["next_page"] is None
    assert [b["end_time"] for b in buckets[:-1]] == [b["start_time"] for b in buckets[1:]]
    assert buckets[0]["start_time"] == start
    assert buckets[-1]["end_time"] == SIM_NOW
    truth = sim_org.usage_truth(kind, start, SIM_NOW, group_by)
    assert truth
    assert sum_usage(kind, buckets, group_by) == truth


def test_filtered_pages_sum_to_the_filtered_truth(api, sim_org):
    keys = [k.id for k in sim_org.directory.keys[:5]]
    models = ["gpt-5-2025-08-07", "gpt-4o-mini-2024-07-18", "o3-2025-04-16", "gpt-4.1-nano-2025-04-14"]
    start = SIM_NOW - 20 * DAY
    params = {
        "start_time": start,
        "limit": 3,
        "group_by": ["api_key_id", "model"],
        "api_key_ids": keys,
        "models": models,
    }
    buckets = api.buckets("/organization/usage/completions", params)
    truth = sim_org.usage_truth(
        "completions", start, SIM_NOW, ("api_key_id", "model"), api_key_ids=keys, models=models
    )
    assert truth
    assert sum_usage("completions", buckets, ("api_key_id", "model")) == truth
    assert {key for key, _ in truth} <= set(keys)
    assert {model for _, model in truth} <= set(models)


def test_a_user_filter_keeps_only_that_users_traffic(api, sim_org):
    user = sim_org.directory.users[0].id
    start = SIM_NOW - 20 * DAY
    params = {"start_time": start, "limit": 31, "group_by": ["user_id"], "user_ids": user}
    totals = sum_usage("completions", api.buckets("/organization/usage/completions", params), ("user_id",))
    assert set(totals) == {(user,)}
    assert totals == sim_org.usage_truth("completions", start, SIM_NOW, ("user_id",), user_ids=[user])


@pytest.mark.parametrize(
    "group_by", [(), ("line_item",), ("project_id", "api_key_id"), ("line_item", "project_id", "api_key_id")]
)
def test_costs_pages_sum_to_the_ground_truth(api, sim_org, group_by):
    start = SIM_NOW - 29 * DAY - 5 * HOUR
    params = {"start_time": start, "limit": 4, "group_by": list(group_by)}
    pages = list(api.pages("/organization/costs", params))
    buckets = [bucket for page in pages for bucket in page["data"]]

    assert len(pages) == 8
    assert len(buckets) == 30
    truth = sim_org.costs_truth(start, SIM_NOW, group_by)
    assert sum_costs(buckets, group_by) == truth
    assert sum(truth.values()) > 0


def test_costs_filters_apply(api, sim_org):
    project = sim_org.projects()[0].id
    start = SIM_NOW - 10 * DAY
    params = {"start_time": start, "limit": 11, "group_by": ["project_id"], "project_ids": project}
    totals = sum_costs(api.buckets("/organization/costs", params), ("project_id",))
    assert set(totals) == {(project,)}
    assert totals == sim_org.costs_truth(start, SIM_NOW, ("project_id",), project_ids=[project])


def test_next_page_is_an_opaque_cursor(api):
    page = api.ok("/organization/usage/completions", {"start_time": SIM_NOW - 10 * DAY, "limit": 2})
    cursor = page["next_page"]
    assert cursor.startswith("page_")
    assert len(base64.b64decode(cursor.removeprefix("page_"))) == 20


def test_directory_lists_page_with_after(api, sim_org):
    projects = sim_org.projects(include_archived=True)
    keys = [k for p in projects for k in api.listing(f"/organization/projects/{p.id}/api_keys", limit=1)]
    users = api.listing("/organization/users", limit=2)
    all_projects = api.listing("/organization/projects", limit=1, params={"include_archived": "true"})

    assert len({k["id"] for k in keys}) == len(keys) == sim_org.spec.keys
    assert [u["id"] for u in users] == [u.id for u in sim_org.users()]
    assert [p["id"] for p in all_projects] == [p.id for p in projects]
    assert sim_org.directory.deleted_key_id not in {k["id"] for k in keys}


def test_directory_default_limit_is_20():
    org = SyntheticOrg(OrgSpec(seed=3, keys=4, projects=1, users=25, days=2, now=SIM_NOW))
    with SimulatorServer(org) as server:
        client = Api(server)
        first = client.ok("/organization/users")
        rest = client.ok("/organization/users", {"after": first["last_id"]})
        client.session.close()
    assert len(first["data"]) == 20
    assert first["has_more"] is True
    assert len(rest["data"]) == 5
    assert rest["has_more"] is False
