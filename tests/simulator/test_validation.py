"""Every validation error answers 400 with OpenAI's error body and the offending parameter named."""

from __future__ import annotations

import pytest

from simulator.pytest_plugin import SIM_NOW

START = SIM_NOW - 86400
USAGE = "/organization/usage/completions"

CASES = [
    (USAGE, {}, "start_time"),
    (USAGE, {"start_time": "yesterday"}, "start_time"),
    (USAGE, {"start_time": "1.5"}, "start_time"),
    (USAGE, {"start_time": -5}, "start_time"),
    (USAGE, {"start_time": START, "end_time": "soon"}, "end_time"),
    (USAGE, {"start_time": START, "end_time": START - 60}, "end_time"),
    (USAGE, {"start_time": START, "end_time": START}, "end_time"),
    (USAGE, {"start_time": START, "bucket_width": "2h"}, "bucket_width"),
    (USAGE, {"start_time": START, "bucket_width": "1w"}, "bucket_width"),
    (USAGE, {"start_time": START, "limit": 0}, "limit"),
    (USAGE, {"start_time": START, "limit": "ten"}, "limit"),
    (USAGE, {"start_time": START, "limit": 32}, "limit"),
    (USAGE, {"start_time": START, "bucket_width": "1d", "limit": 32}, "limit"),
    (USAGE, {"start_time": START, "bucket_width": "1h", "limit": 169}, "limit"),
    (USAGE, {"start_time": START, "bucket_width": "1m", "limit": 1441}, "limit"),
    (USAGE, {"start_time": START, "group_by": "size"}, "group_by"),
    (USAGE, {"start_time": START, "group_by": "model,line_item"}, "group_by"),
    (USAGE, {"start_time": START, "batch": "maybe"}, "batch"),
    (USAGE, {"start_time": START, "page": "not-a-cursor"}, "page"),
    ("/organization/usage/embeddings", {"start_time": START, "group_by": "batch"}, "group_by"),
    ("/organization/usage/audio_speeches", {"start_time": START, "group_by": "service_tier"}, "group_by"),
    ("/organization/usage/moderations", {"start_time": START, "group_by": "source"}, "group_by"),
    ("/organization/usage/vector_stores", {"start_time": START, "group_by": "model"}, "group_by"),
    (
        "/organization/usage/code_interpreter_sessions",
        {"start_time": START, "group_by": "api_key_id"},
        "group_by",
    ),
    ("/organization/usage/file_search_calls", {"start_time": START, "group_by": "model"}, "group_by"),
    (
        "/organization/usage/web_search_calls",
        {"start_time": START, "group_by": "vector_store_id"},
        "group_by",
    ),
    ("/organization/usage/decisions", {"start_time": START, "batch": "sometimes"}, "batch"),
    ("/organization/usage/decisions", {"start_time": START, "bucket_width": "1m", "limit": 1441}, "limit"),
    (USAGE, {"start_time": START, "group_by": "context_level"}, "group_by"),
    ("/organization/costs", {}, "start_time"),
    ("/organization/costs", {"start_time": START, "group_by": "context_level"}, "group_by"),
    ("/organization/costs", {"start_time": START, "bucket_width": "1h"}, "bucket_width"),
    ("/organization/costs", {"start_time": START, "limit": 181}, "limit"),
    ("/organization/costs", {"start_time": START, "limit": 0}, "limit"),
    ("/organization/costs", {"start_time": START, "group_by": "model"}, "group_by"),
    ("/organization/costs", {"start_time": START, "end_time": START - 1}, "end_time"),
    ("/organization/projects", {"limit": 101}, "limit"),
    ("/organization/projects", {"limit": 0}, "limit"),
    ("/organization/projects", {"include_archived": "sometimes"}, "include_archived"),
    ("/organization/users", {"limit": "x"}, "limit"),
    ("/organization/users", {"after": "user-nobody"}, "after"),
]


@pytest.mark.parametrize(("path", "params", "param"), CASES)
def test_invalid_request_answers_400_naming_the_parameter(api, path, params, param):
    response = api.get(path, params)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]


@pytest.mark.parametrize(("width", "limit"), [("1d", 31), ("1h", 168), ("1m", 1440)])
def test_the_maximum_limit_of_each_width_is_accepted(api, width, limit):
    page = api.ok(USAGE, {"start_time": SIM_NOW - 40 * 86400, "bucket_width": width, "limit": limit})
    assert len(page["data"]) == limit


@pytest.mark.parametrize(("width", "default"), [(None, 7), ("1d", 7), ("1h", 24), ("1m", 60)])
def test_default_limit_counts_buckets_per_width(api, width, default):
    params = {"start_time": SIM_NOW - 20 * 86400, **({"bucket_width": width} if width else {})}
    page = api.ok(USAGE, params)
    assert len(page["data"]) == default
    assert page["has_more"] is True


def test_costs_limit_defaults_to_7_and_accepts_180(api):
    assert len(api.ok("/organization/costs", {"start_time": SIM_NOW - 20 * 86400})["data"]) == 7
    page = api.ok("/organization/costs", {"start_time": SIM_NOW - 200 * 86400, "limit": 180})
    assert len(page["data"]) == 180
    assert page["has_more"] is True


def test_a_cursor_from_another_width_is_refused(api):
    first = api.ok(USAGE, {"start_time": SIM_NOW - 30 * 3600 - 120, "bucket_width": "1h", "limit": 2})
    response = api.get(
        USAGE, {"start_time": SIM_NOW - 30 * 3600 - 120, "bucket_width": "1d", "page": first["next_page"]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "page"
