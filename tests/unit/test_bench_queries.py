"""bench.queries measures the dashboard's own requests (issue 14): a chart's top and a page of the
table at every period and grouping, the key picker's page, the key info of a by-key page, health,
comparisons of the picker's top keys, and the CSV export of two views."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from bench.queries import (
    COMPARE_KEYS,
    DASHBOARD_ROWS,
    DASHBOARD_TOP,
    GROUPINGS,
    PICKER_KEYS,
    compare_routes,
    page_keys_route,
    routes,
)
from chalicelib.periods import DAY, floor_day
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
    # health is asked first on every load (refresh.js); measured since the series14 change
    assert set(first_load) == {"usage_default", "usage_models", "pools", "keys", "health"}
    assert _query(first_load["keys"].path) == {"sort": "cost", "limit": str(PICKER_KEYS)}


def test_the_key_info_of_a_by_key_page_asks_for_its_keys_only():
    body = json.dumps({"groups": [{"group": {"api_key_id": "key_a"}}, {"group": {"api_key_id": "key_b"}}]})

    route = page_keys_route(body.encode())

    assert route is not None
    assert _query(route.path) == {"key_ids": "key_a,key_b"}
    assert page_keys_route(b'{"groups": []}') is None
    assert page_keys_route(b"not json") is None


def test_comparisons_take_the_pickers_top_keys_over_every_period_as_comparison_js_asks():
    body = json.dumps({"data": [{"key_id": f"key_{i}"} for i in range(PICKER_KEYS)]}).encode()

    found = compare_routes(body, NOW)

    assert len(found) == len(COMPARE_KEYS) * 4
    for route in found:
        query = _query(route.path)
        assert route.path.startswith("/api/compare?")
        assert set(query) == {"api_key_ids", "start_time", "end_time"}
        ids = query["api_key_ids"].split(",")
        assert ids == [f"key_{i}" for i in range(len(ids))]
        assert len(ids) in COMPARE_KEYS
        assert int(query["start_time"]) == floor_day(NOW) - (route.period_days - 1) * DAY
        assert int(query["end_time"]) == NOW
    assert compare_routes(b'{"data": [{"key_id": "key_0"}]}', NOW) == []  # fewer keys than a comparison
    assert compare_routes(b"not json", NOW) == []


def test_health_and_two_exports_are_measured():
    by_name = {route.name: route for route in routes(NOW)}

    assert by_name["health"].path == "/api/health"
    exports = [route for route in by_name.values() if route.path.startswith("/api/export?")]
    assert {(_query(r.path)["group_by"], _query(r.path)["bucket_width"]) for r in exports} == {
        ("owner", "1h"),
        ("api_key_id", "1d"),
    }
