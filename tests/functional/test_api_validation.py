"""Every bad parameter gets a JSON error naming it: 400, 404, 405, 409, 413, 415; never a 500."""

from __future__ import annotations

import json

import pytest

from chalicelib import responses
from chalicelib.periods import day_label
from chalicelib.query import keys as keys_query
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

shared_empty_table = api_helpers.shared_empty_table
bare_api = api_helpers.bare_api
empty_api = api_helpers.empty_api

START = SIM_NOW - 2 * 86400
DAY = 86400


def _assert_error(response, status: int, param: str | None, code: str | None = None) -> dict:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert set(body) == {"error"}
    error = body["error"]
    assert error["param"] == param
    if code:
        assert error["code"] == code
    assert "Traceback" not in response.body.decode()
    return error


USAGE_CASES = [
    ({}, "start_time", "is required"),
    ({"start_time": "abc"}, "start_time", "must be an integer"),
    ({"start_time": "1.5"}, "start_time", "must be an integer"),
    ({"start_time": "-5"}, "start_time", "between"),
    ({"start_time": str(10**30)}, "start_time", "must be an integer"),
    ({"start_time": [str(START), str(START)]}, "start_time", "once"),
    ({"start_time": START, "end_time": START - 1}, "end_time", "after start_time"),
    ({"start_time": START, "end_time": START}, "end_time", "after start_time"),
    ({"start_time": START - 40 * DAY, "end_time": START, "bucket_width": "1h"}, "end_time", "31 days"),
    ({"start_time": START - 400 * DAY, "end_time": START}, "end_time", "366 days"),
    ({"start_time": START, "end_time": START + 7 * 3600, "bucket_width": "1m"}, "end_time", "6 hours"),
    (
        {"start_time": SIM_NOW - 36 * DAY, "end_time": SIM_NOW - 35 * DAY, "bucket_width": "1h"},
        "start_time",
        "kept",
    ),
    ({"start_time": START, "bucket_width": "5m"}, "bucket_width", "1d, 1h, 1m"),
    ({"start_time": START, "group_by": "user_id"}, "group_by", "allowed"),
    ({"start_time": START, "group_by": "none,model"}, "group_by", "cannot be combined"),
    ({"start_time": START, "api_key_ids": "sk-123"}, "api_key_ids", "key id"),
    ({"start_time": START, "api_key_ids": "key_" + "a" * 200}, "api_key_ids", "at most"),
    ({"start_time": START, "models": "a#b"}, "models", "'#'"),
    ({"start_time": START, "models": ",".join(f"m{i}" for i in range(101))}, "models", "at most 100"),
    ({"start_time": START, "teams": "x" * 201}, "teams", "at most 200"),
    ({"start_time": START, "top": "abc"}, "top", "from 0 to 50"),
    ({"start_time": START, "top": "51"}, "top", "from 0 to 50"),
    ({"start_time": START, "top": "-1"}, "top", "from 0 to 50"),
    ({"start_time": START, "top": "2.5"}, "top", "from 0 to 50"),
    ({"start_time": START, "top": ["1", "2"]}, "top", "once"),
    ({"start_time": START, "groupby": "model"}, "groupby", "unknown parameter"),
    ({"start_time": START, "start_time[]": "1"}, "start_time[]", "unknown parameter"),
]


@pytest.mark.parametrize(("params", "param", "text"), USAGE_CASES)
@pytest.mark.parametrize("path", ["/api/usage", "/api/export"])
def test_bad_usage_parameters_are_400_naming_the_parameter(bare_api, path, params, param, text):
    error = _assert_error(bare_api.get(path, params), 400, param, "invalid_parameter")

    assert text in error["message"]


def test_arrays_are_accepted_as_comma_lists_repeated_names_and_brackets(bare_api):
    base = {"start_time": START, "end_time": START + DAY}
    comma = bare_api.json("/api/usage", {**base, "group_by": "model,api_key_id"})
    repeated = bare_api.json("/api/usage", {**base, "group_by": ["model", "api_key_id"]})
    brackets = bare_api.json("/api/usage", {**base, "group_by[]": ["model", "api_key_id"]})

    assert comma["group_by"] == repeated["group_by"] == brackets["group_by"] == ["model", "api_key_id"]


@pytest.mark.parametrize(
    ("params", "param", "text"),
    [
        ({"start_time": START, "api_key_ids": "key_a1"}, "api_key_ids", "between 2 and 20"),
        (
            {"start_time": START, "api_key_ids": ",".join(f"key_a{i}" for i in range(21))},
            "api_key_ids",
            "between",
        ),
        ({"start_time": START, "api_key_ids": "key_a1,key_a2", "group_by": "model"}, "group_by", "unknown"),
        ({"api_key_ids": "key_a1,key_a2"}, "start_time", "required"),
    ],
)
def test_bad_compare_parameters_are_400(bare_api, params, param, text):
    error = _assert_error(bare_api.get("/api/compare", params), 400, param)

    assert text in error["message"]


@pytest.mark.parametrize("path", ["/api/pools", "/api/keys"])
def test_routes_without_parameters_refuse_unknown_ones(bare_api, path):
    _assert_error(bare_api.get(path, {"date": "2026-11-20"}), 400, "date")


BODY_CASES = [
    (b"{not json", "body", 400),
    (b"[1, 2]", "body", 400),
    (b"", "body", 400),
    (b'{"key_id": "key_a1", "name": NaN}', "body", 400),
    (b"\xff\xfe", "body", 400),
    ({"name": "Ada"}, "key_id", 400),
    ({"key_id": "key_a1"}, "name", 400),
    ({"key_id": "key_a1", "name": "   "}, "name", 400),
    ({"key_id": "key_a1", "name": "x" * 201}, "name", 400),
    ({"key_id": "sk-proj-abc", "name": "Ada"}, "key_id", 400),
    ({"key_id": 12, "name": "Ada"}, "key_id", 400),
    ({"key_id": "key_a1", "name": "Ada", "colour": "red"}, "colour", 400),
    ({"key_id": "key_a1", "name": "Ada", "active": "yes"}, "active", 400),
    ({"key_id": "key_a1", "name": "Ada", "owner": 5}, "owner", 400),
    ({"key_id": "key_a1", "name": "Ada", "budget": 5}, "budget", 400),
    ({"key_id": "key_a1", "name": "Ada", "budget": {"amount": -1}}, "budget.amount", 400),
    ({"key_id": "key_a1", "name": "Ada", "budget": {"amount": "1e400"}}, "budget.amount", 400),
    (
        {"key_id": "key_a1", "name": "Ada", "budget": {"amount": "0.0000001", "unit": "usd"}},
        "budget.amount",
        400,
    ),
    ({"key_id": "key_a1", "name": "Ada", "budget": {"amount": 1.5}}, "budget.amount", 400),
    ({"key_id": "key_a1", "name": "Ada", "budget": {"amount": 5, "unit": "eur"}}, "budget.unit", 400),
    ({"key_id": "key_a1", "name": "Ada", "budget": {"amount": 5, "period": "weekly"}}, "budget.period", 400),
    ({"key_id": "key_a1", "name": "Ada", "budget": {"amount": 5, "cap": 1}}, "budget.cap", 400),
    ({"key_id": "key_a1", "name": "Ada", "description": "x" * 20_000}, "body", 413),
]


@pytest.mark.parametrize(("body", "param", "status"), BODY_CASES)
def test_bad_key_bodies_are_refused_naming_the_field(bare_api, body, param, status):
    response = bare_api.request("POST", "/api/keys", token="admin", body=body)

    _assert_error(response, status, param)


def test_a_body_over_16_kb_is_413_before_it_is_parsed(bare_api):
    response = bare_api.request("PATCH", "/api/keys/key_a1", token="admin", body=b"{" + b" " * 17_000 + b"}")

    _assert_error(response, 413, "body", "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "param"),
    [
        ("PATCH", "/api/keys/key_unknown1", {"name": "Ada"}, 404, "key_id"),
        ("DELETE", "/api/keys/key_unknown1", None, 404, "key_id"),
        ("PATCH", "/api/keys/not-a-key", {"name": "Ada"}, 400, "key_id"),
        ("DELETE", "/api/keys/not-a-key", None, 400, "key_id"),
        ("PATCH", "/api/keys/key_" + "a" * 300, {"name": "Ada"}, 400, "key_id"),
    ],
)
def test_unknown_and_malformed_key_ids_are_404_and_400(bare_api, method, path, body, status, param):
    _assert_error(bare_api.request(method, path, token="admin", body=body), status, param)


def test_chalices_own_errors_come_in_the_same_shape(bare_api):
    wrong_type = bare_api.request(
        "POST", "/api/keys", token="admin", body="key_id=key_a1", headers={"Content-Type": "text/plain"}
    )
    wrong_method = bare_api.request("PUT", "/api/keys", token="admin", body={"name": "Ada"})

    _assert_error(wrong_type, 415, None, "unsupported_media_type")
    error = _assert_error(wrong_method, 405, None, "method_not_allowed")
    assert "PUT" in error["message"]


def test_an_unexpected_failure_is_a_generic_500_without_details(bare_api, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals: table arn:aws:dynamodb:...")

    # the route imports its function from its module when called (app.py's lazy handlers)
    monkeypatch.setattr(keys_query, "list_keys", explode)
    response = bare_api.get("/api/keys")

    error = _assert_error(response, 500, None, "internal_error")
    assert "secret" not in response.body.decode()
    assert error["message"] == "an internal error occurred"


def test_a_live_query_openai_does_not_answer_is_a_502_without_details(bare_api):
    params = {"start_time": SIM_NOW - 3600, "end_time": SIM_NOW, "bucket_width": "1m"}

    response = bare_api.get("/api/usage", params)  # OPENAI_BASE_URL points at a closed port

    error = _assert_error(response, 502, None, "upstream_unavailable")
    assert "127.0.0.1" not in error["message"]


def test_a_live_query_without_an_admin_key_is_a_503(bare_api, monkeypatch):
    monkeypatch.delenv("OPENAI_ADMIN_KEY")
    params = {"start_time": SIM_NOW - 3600, "end_time": SIM_NOW, "bucket_width": "1m"}

    response = bare_api.get("/api/usage", params)

    error = _assert_error(response, 503, None, "not_configured")
    assert "OPENAI_ADMIN_KEY" not in error["message"]


def test_an_answer_too_large_to_send_is_a_400_saying_how_to_narrow_it(bare_api, monkeypatch):
    monkeypatch.setattr(responses, "MAX_RESPONSE_BYTES", 100)
    params = {"start_time": SIM_NOW - 2 * DAY, "end_time": SIM_NOW, "bucket_width": "1h"}

    for path in ("/api/usage", "/api/export"):
        error = _assert_error(bare_api.get(path, params), 400, None, "response_too_large")
        assert "bucket_width" in error["message"]


def test_the_response_limit_is_read_when_the_request_comes_so_a_large_answer_is_refused_unbuilt(
    empty_api, monkeypatch
):
    # A fresh table with a day of usage (no other test's memo of it): its predicted size is over the
    # limit patched here, so both routes refuse it before building it ("at least"), as with 4.5 MB.
    rollup = DayRollup(day=day_label(SIM_NOW - DAY))
    for index in range(3):
        rollup.daily[Cell(f"key_limit{index}", "gpt-4o-mini-2024-07-18", "proj_a")] = Usage(input_tokens=10)
    RollupStore().replace_day(rollup, keep_hourly=False, hourly_retention_days=35)
    monkeypatch.setattr(responses, "MAX_RESPONSE_BYTES", 100)
    params = {"start_time": START, "end_time": SIM_NOW, "bucket_width": "1d", "group_by": "api_key_id"}

    for path in ("/api/usage", "/api/export"):
        error = _assert_error(empty_api.get(path, params), 400, None, "response_too_large")
        assert "would be at least" in error["message"], error
        assert "over the 0.0 MB" in error["message"]
