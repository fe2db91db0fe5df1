"""Helpers for the simulator's own tests: an HTTP client for a running simulator and page walkers.

`sim_org` and `sim_server` come from `simulator.pytest_plugin`, registered in tests/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from simulator.pytest_plugin import SIM_ADMIN_KEY
from simulator.server import SimulatorServer
from simulator.traffic import METRICS


class Api:
    """A thin client: GET with the admin key, JSON parsed with Decimal for non-integers."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.session = requests.Session()

    def get(
        self, path: str, params: Any = None, key: str | None = SIM_ADMIN_KEY, **kwargs: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return self.session.get(
            self.server.base_url + path, params=params, headers=headers, timeout=30, **kwargs
        )

    def ok(self, path: str, params: Any = None) -> dict[str, Any]:
        response = self.get(path, params)
        assert response.status_code == 200, response.text
        return json.loads(response.text, parse_float=Decimal)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of a bucketed query, following next_page."""
        page = self.ok(path, params)
        yield page
        while page["has_more"]:
            page = self.ok(path, {**params, "page": page["next_page"]})
            yield page

    def buckets(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [bucket for page in self.pages(path, params) for bucket in page["data"]]

    def listing(self, path: str, limit: int, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every object of a directory list, following `after`."""
        items: list[dict[str, Any]] = []
        after = None
        while True:
            query = {**(params or {}), "limit": limit, **({"after": after} if after else {})}
            page = self.ok(path, query)
            items += page["data"]
            if not page["has_more"]:
                return items
            after = page["last_id"]


@pytest.fixture
def api(sim_server: SimulatorServer) -> Iterator[Api]:
    client = Api(sim_server)
    yield client
    client.session.close()


def sum_usage(
    kind: str, buckets: list[dict[str, Any]], group_by: tuple[str, ...]
) -> dict[tuple, dict[str, int]]:
    """Usage results of many buckets summed per group, in `usage_truth`'s shape."""
    totals: dict[tuple, dict[str, int]] = {}
    for bucket in buckets:
        for result in bucket["results"]:
            key = tuple(result[name] for name in group_by)
            total = totals.setdefault(key, dict.fromkeys(METRICS[kind], 0))
            for name in METRICS[kind]:
                total[name] += result[name]
    return totals


def amount(result: dict[str, Any]) -> Decimal:
    """A cost result's amount, whether a number or a decimal string."""
    value = result["amount"]["value"]
    return value if isinstance(value, Decimal) else Decimal(str(value))


def sum_costs(buckets: list[dict[str, Any]], group_by: tuple[str, ...]) -> dict[tuple, Decimal]:
    totals: dict[tuple, Decimal] = {}
    for bucket in buckets:
        for result in bucket["results"]:
            key = tuple(result[name] for name in group_by)
            totals[key] = totals.get(key, Decimal(0)) + amount(result)
    return totals
