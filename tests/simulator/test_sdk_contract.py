"""The contract: OpenAI's official SDK (openai==3.51.0, a test-only pin) drives the simulator.

Every usage kind and `group_by` value is read from the SDK's own signatures, every raw response is
validated strictly against the SDK's response type (a cost `amount.value` may be a decimal string, as
OpenAI really sends), and pages followed to the last one add up to the simulator's ground truth.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI
from openai.types.admin import organization as types
from openai.types.admin.organization.projects import ProjectAPIKey

from simulator.catalog import KINDS
from simulator.org import COST_GROUP_FIELDS, USAGE_GROUP_FIELDS, SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY, SIM_NOW
from simulator.server import SimulatorServer
from simulator.traffic import FIELDS

DAY = 86400
HOUR = 3600
TODAY = SIM_NOW - SIM_NOW % DAY


def _sdk_kinds() -> dict[str, list[str]]:
    """Each usage method of the SDK (costs included) and its `group_by` literals, in order."""
    source = Path(openai.__file__).parent.joinpath("resources/admin/organization/usage.py").read_text()
    kinds: dict[str, list[str]] = {}
    for chunk in source.split("class AsyncUsage")[0].split("\n    def ")[1:]:
        name, _, rest = chunk.partition("(")
        signature = rest.split(") ->")[0]
        if "start_time" in signature:
            found = re.search(r"group_by:[^=]*?Literal\[([^\]]*)\]", signature, re.S)
            kinds[name] = re.findall(r'"(\w+)"', found.group(1)) if found else []
    return kinds


SDK_KINDS = _sdk_kinds()
USAGE_KINDS = [kind for kind in SDK_KINDS if kind != "costs"]


def _response_type(kind: str) -> Any:
    return getattr(types, "Usage" + "".join(part.title() for part in kind.split("_")) + "Response")


def _amounts_as_numbers(node: Any) -> Any:
    """The raw JSON with decimal-string amounts as numbers: the one liberty the SDK's float allows."""
    if isinstance(node, dict):
        out = {key: _amounts_as_numbers(value) for key, value in node.items()}
        amount = out.get("amount")
        if isinstance(amount, dict) and isinstance(amount.get("value"), str):
            amount["value"] = float(Decimal(amount["value"]))
        return out
    if isinstance(node, list):
        return [_amounts_as_numbers(value) for value in node]
    return node


class Sdk:
    """The official client on an httpx2 client that keeps every raw response for strict validation."""

    def __init__(self, base_url: str) -> None:
        self.responses: list[httpx2.Response] = []
        self.http = httpx2.Client(event_hooks={"response": [self.responses.append]})
        self.client = OpenAI(
            admin_api_key=SIM_ADMIN_KEY, base_url=base_url, http_client=self.http, max_retries=0
        )
        self.usage = self.client.admin.organization.usage

    def call(self, kind: str, **params: Any) -> dict[str, Any]:
        """One SDK call; its raw JSON, validated strictly against the SDK's response type."""
        getattr(self.usage, kind)(**params)
        raw: dict[str, Any] = self.responses[-1].json()
        _response_type(kind).model_validate(_amounts_as_numbers(raw), strict=True)
        return raw

    def pages(self, kind: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a query, following `next_page` through the SDK until `has_more` is false."""
        pages = [self.call(kind, **params)]
        while pages[-1]["has_more"]:
            pages.append(self.call(kind, **params, page=pages[-1]["next_page"]))
        assert pages[-1]["next_page"] is None
        return pages


@pytest.fixture
def sdk(sim_server: SimulatorServer) -> Iterator[Sdk]:
    client = Sdk(sim_server.base_url)
    yield client
    client.http.close()


def _results(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [result for page in pages for bucket in page["data"] for result in bucket["results"]]


def test_the_simulator_has_every_usage_kind_and_group_by_value_of_the_sdk():
    assert set(USAGE_KINDS) == set(KINDS)
    for kind in USAGE_KINDS:
        assert set(SDK_KINDS[kind]) == set(USAGE_GROUP_FIELDS[kind]), kind
    assert set(SDK_KINDS["costs"]) == set(COST_GROUP_FIELDS)


@pytest.mark.parametrize("kind", list(SDK_KINDS))
def test_every_width_and_group_by_value_alone_and_together_validates_strictly(sdk, sim_org, kind):
    for width in ["1d"] if kind == "costs" else ["1m", "1h", "1d"]:
        start = SIM_NOW - {"1m": 3 * HOUR, "1h": 2 * DAY, "1d": 10 * DAY}[width]
        assert sdk.call(kind, start_time=start, bucket_width=width)["data"]
    groups = SDK_KINDS[kind]
    start = TODAY - 6 * DAY  # seven whole-day buckets: one default page holds them all
    for grouping in [[group] for group in groups] + [groups]:
        page = sdk.call(kind, start_time=start, group_by=grouping)
        assert not page["has_more"]
        seen = {tuple(result[g] for g in grouping) for result in _results([page])}
        if kind == "costs":
            assert seen == set(sim_org.costs_truth(start, SIM_NOW, grouping)), grouping
        else:
            assert seen == set(sim_org.usage_truth(kind, start, SIM_NOW, grouping)), grouping
        for result in _results([page]):
            assert all(result[group] is None for group in set(groups) - set(grouping)), (kind, grouping)


@pytest.mark.parametrize("kind", USAGE_KINDS)
def test_pages_followed_to_the_last_one_add_up_to_the_ground_truth(sdk, sim_org: SyntheticOrg, kind):
    start = SIM_NOW - 10 * DAY + 1234  # a ragged start, through the unsettled last hour
    groups = SDK_KINDS[kind]
    pages = sdk.pages(kind, start_time=start, bucket_width="1h", limit=24, group_by=groups)
    assert len(pages) == 11
    totals: dict[tuple[Any, ...], dict[str, int]] = {}
    for result in _results(pages):
        total = totals.setdefault(tuple(result[g] for g in groups), dict.fromkeys(FIELDS[kind], 0))
        for name in FIELDS[kind]:
            total[name] += result.get(name) or 0  # a detail field may be absent or null: it is 0
    assert totals == sim_org.usage_truth(kind, start, SIM_NOW, groups, every_field=True)


def test_costs_followed_to_the_last_page_equal_the_ground_truth_with_quantities(sdk, sim_org: SyntheticOrg):
    start = SIM_NOW - 10 * DAY
    groups = SDK_KINDS["costs"]
    pages = sdk.pages("costs", start_time=start, limit=3, group_by=groups)
    assert len(pages) == 4  # 11 days, today included
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for result in _results(pages):
        total = totals.setdefault(
            tuple(result[g] for g in groups), [Decimal(0), Decimal(0), result["quantity_unit"]]
        )
        total[0] += Decimal(str(result["amount"]["value"]))
        total[1] += Decimal(str(result["quantity"]))
        assert total[2] == result["quantity_unit"]
    truth = sim_org.costs_truth_detail(start, SIM_NOW, groups)
    assert totals == {key: list(value) for key, value in truth.items()}
    items = {key[groups.index("line_item")] for key in totals}
    assert {"web search tool calls", "file search tool calls", "code interpreter sessions"} <= items
    assert {"vector store storage", "Text tokens"} <= items


def test_the_newer_filters_select_what_they_name(sdk, sim_org: SyntheticOrg):
    start = SIM_NOW - 7 * DAY
    everything = sim_org.costs_truth(start, SIM_NOW, ("line_item",))
    chosen = ["vector store storage", next(item for (item,) in everything if str(item).endswith(", output"))]
    pages = sdk.pages("costs", start_time=start, group_by=["line_item"], line_items=chosen)
    billed: dict[str, Decimal] = {}
    for result in _results(pages):
        billed[result["line_item"]] = billed.get(result["line_item"], Decimal(0)) + Decimal(
            str(result["amount"]["value"])
        )
    assert billed == {item: everything[(item,)] for item in chosen}

    levels = sdk.call(
        "web_search_calls", start_time=start, group_by=["context_level"], context_levels=["high"]
    )
    assert {r["context_level"] for r in _results([levels])} <= {"high"}
    store = sim_org.directory.vector_stores[0].id
    searches = sdk.call(
        "file_search_calls", start_time=start, group_by=["vector_store_id"], vector_store_ids=[store]
    )
    assert {r["vector_store_id"] for r in _results([searches])} <= {store}
    batch = sdk.call("completions", start_time=start, group_by=["batch", "service_tier"], batch=True)
    assert {r["batch"] for r in _results([batch])} == {True}


def test_grouped_completions_have_batch_flex_and_priority_rows_for_pricing(sdk):
    results = _results(
        sdk.pages("completions", start_time=SIM_NOW - 20 * DAY, limit=21, group_by=["batch", "service_tier"])
    )
    tiers = {(r["batch"], r["service_tier"]) for r in results}
    assert {tier for _batch, tier in tiers} >= {"default", "flex", "priority"}
    assert any(batch for batch, _tier in tiers)
    sources = _results([sdk.call("completions", start_time=SIM_NOW - 7 * DAY, group_by=["api_source"])])
    assert {r["api_source"] for r in sources} == {"agents_api", "unlabeled"}


def _listed(sdk: Sdk, model: Any, listing: Callable[[], Any]) -> list[Any]:
    """Every item of an auto-paginated SDK listing; each raw page's items validated strictly."""
    first = len(sdk.responses)
    items = list(listing())
    pages = [response.json() for response in sdk.responses[first:]]
    assert len(pages) > 1 or not pages[0]["has_more"]
    for page in pages:
        for item in page["data"]:
            model.model_validate(item, strict=True)
    return items


def test_directory_listings_validate_strictly_on_every_page(sdk, sim_org: SyntheticOrg):
    directory = sdk.client.admin.organization
    projects = _listed(sdk, types.Project, lambda: directory.projects.list(limit=1, include_archived=True))
    assert len(projects) == sim_org.spec.projects
    users = _listed(sdk, types.OrganizationUser, lambda: directory.users.list(limit=2))
    assert len(users) == sim_org.spec.users
    keys = {
        access: [
            key.id
            for project in projects
            for key in _listed(
                sdk,
                ProjectAPIKey,
                lambda p=project, a=access: directory.projects.api_keys.list(
                    p.id, limit=2, owner_project_access=a
                ),
            )
        ]
        for access in ("any", "active", "inactive")
    }
    assert len(keys["any"]) == sim_org.spec.keys
    assert keys["inactive"], "keys whose owner lost access to the archived project"
    assert sorted(keys["active"] + keys["inactive"]) == sorted(keys["any"])
