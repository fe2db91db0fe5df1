"""bench.queries measures the dashboard's own requests (issue 14): a chart's top and a page of the
table at every period and grouping, the key picker's page, the key info of a by-key page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from bench.queries import DASHBOARD_ROWS, DASHBOARD_TOP, GROUPINGS, PICKER_KEYS, page_keys_route, routes
from chalicelib.query.paging import MAX_LIMIT
from chalicelib.query.selection import MAX_TOP

NOW = 1_795_169_820


def _query(path: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(path).query).items()}


def test_every_period_and_grouping_is_asked_as_the_dashboard_asks_it():
    usage = [route for route in routes(NOW) if route.path.startswith("/api/usage?")]
    asked = {(route.period_days, _query(route.path)["group_by"]) for route in usage}

    assert asked >= {(days, group) for days in (1, 7, 30, 90) for group in GROUPINGS}
    for route in usage:
        if _query(route.path)["group_by"] != "model,pool":  # the models table: every model, no page
            assert _query(route.path)["top"] == str(DASHBOARD_TOP)
            assert _query(route.path)["limit"] == str(DASHBOARD_ROWS)
    assert 0 < DASHBOARD_TOP <= MAX_TOP
    assert 0 < DASHBOARD_ROWS <= MAX_LIMIT
    first_load = {route.first_load: route for route in routes(NOW) if route.first_load}
    assert set(first_load) == {"usage_default", "usage_models", "pools", "keys"}
    assert _query(first_load["keys"].path) == {"sort": "cost", "limit": str(PICKER_KEYS)}


def test_the_key_info_of_a_by_key_page_asks_for_its_keys_only():
    body = json.dumps({"groups": [{"group": {"api_key_id": "key_a"}}, {"group": {"api_key_id": "key_b"}}]})

    route = page_keys_route(body.encode())

    assert route is not None
    assert _query(route.path) == {"key_ids": "key_a,key_b"}
    assert page_keys_route(b'{"groups": []}') is None
    assert page_keys_route(b"not json") is None
