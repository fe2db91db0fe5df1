"""openapi.yaml stays in step with the app: the same routes, the same parameters, every error code."""

from __future__ import annotations

from pathlib import Path

import yaml

from app import app
from chalicelib.dimensions import DIMENSIONS
from chalicelib.query.alerts import ALERT_PARAMS, KINDS, STATES
from chalicelib.query.compare import COMPARE_PARAMS
from chalicelib.query.forecast import GROUPINGS as FORECAST_GROUPINGS
from chalicelib.query.forecast import PARAMS as FORECAST_PARAMS
from chalicelib.query.keys import KEYS_PARAMS
from chalicelib.query.paging import PAGE_PARAMS
from chalicelib.query.reconciliation import RECONCILE_PARAMS
from chalicelib.query.selection import USAGE_PARAMS
from chalicelib.responses import ERRORS

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = SPEC["components"][section][name]
    return node


def _operations() -> dict[tuple[str, str], dict]:
    return {
        (path, method.upper()): operation
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _params(path: str, method: str) -> set[str]:
    item = SPEC["paths"][path]
    params = [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]
    return {_resolve(param)["name"] for param in params if _resolve(param)["in"] == "query"}


def test_the_spec_documents_exactly_the_routes_of_the_app():
    routes = {
        (path, method) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"
    }

    assert set(_operations()) == routes


def test_the_query_parameters_of_the_spec_are_those_the_code_accepts():
    assert _params("/api/usage", "GET") == set(USAGE_PARAMS) | set(PAGE_PARAMS)  # issue 14: paging
    assert _params("/api/export", "GET") == set(USAGE_PARAMS)
    assert _params("/api/compare", "GET") == set(COMPARE_PARAMS)
    assert _params("/api/pools", "GET") == set()
    assert _params("/api/reconciliation", "GET") == set(RECONCILE_PARAMS)
    assert _params("/api/keys", "GET") == set(KEYS_PARAMS)  # issue 14: paging, search, key_ids
    assert _params("/api/alerts", "GET") == set(ALERT_PARAMS)
    assert _params("/api/whoami", "GET") == set()
    assert _params("/api/forecast", "GET") == set(FORECAST_PARAMS)
    assert _params("/api/tokens", "GET") == set()


def test_the_alert_filters_of_the_spec_are_the_codes():
    params = {p["name"]: p for p in SPEC["paths"]["/api/alerts"]["get"]["parameters"]}
    assert set(params["kind"]["schema"]["items"]["enum"]) == set(KINDS)
    assert set(params["state"]["schema"]["items"]["enum"]) == set(STATES)


def test_the_group_by_values_of_the_spec_are_the_codes():
    group_by = _resolve(SPEC["components"]["parameters"]["GroupBy"])
    assert set(group_by["schema"]["items"]["enum"]) == {*DIMENSIONS, "none"}


def test_the_forecast_groupings_of_the_spec_are_the_codes():
    params = {p["name"]: p for p in SPEC["paths"]["/api/forecast"]["get"]["parameters"]}
    assert params["group_by"]["schema"]["enum"] == list(FORECAST_GROUPINGS)


def test_every_error_code_the_code_can_answer_is_in_the_spec():
    codes = set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])

    assert {code for _kind, _status, code, _generic in ERRORS} <= codes
    assert {"method_not_allowed", "unsupported_media_type", "internal_error", "bad_request"} <= codes


def test_only_health_is_public():
    public = {key for key, operation in _operations().items() if operation.get("security") == []}

    assert public == {("/api/health", "GET")}
