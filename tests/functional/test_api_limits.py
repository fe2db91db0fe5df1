"""`/api/health`'s `limits` on DynamoDB Local: each one is the edge the other routes really enforce
(just inside answers 200, just outside 400 naming the parameter), and settings flow into them."""

from __future__ import annotations

import json

from chalicelib.periods import DAY, HOUR
from chalicelib.settings import get_settings
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

shared_empty_table = api_helpers.shared_empty_table
bare_api = api_helpers.bare_api

NOW_HOUR = SIM_NOW - SIM_NOW % HOUR


def _limits(api) -> dict:
    response = api.get("/api/health", token=None)  # public: the page reads them before signing in
    return json.loads(response.body)["limits"]


def _param(response) -> str:
    assert response.status_code == 400, response.body
    return json.loads(response.body)["error"]["param"]


def test_compare_takes_exactly_the_number_of_keys_the_limits_say(bare_api):
    bounds = _limits(bare_api)["compare_keys"]
    ids = [f"key_Limit{i:04d}" for i in range(bounds["max"] + 1)]
    period = {"start_time": NOW_HOUR - DAY, "end_time": NOW_HOUR}

    most = bare_api.json("/api/compare", {**period, "api_key_ids": ",".join(ids[: bounds["max"]])})
    fewest = bare_api.json("/api/compare", {**period, "api_key_ids": ",".join(ids[: bounds["min"]])})
    too_many = bare_api.get("/api/compare", {**period, "api_key_ids": ",".join(ids)})
    too_few = bare_api.get("/api/compare", {**period, "api_key_ids": ",".join(ids[: bounds["min"] - 1])})

    assert (bounds["min"], bounds["max"]) == (2, 20)
    assert len(most["keys"]) == bounds["max"]
    assert len(fewest["keys"]) == bounds["min"]
    assert _param(too_many) == "api_key_ids"
    assert _param(too_few) == "api_key_ids"


def test_each_bucket_width_spans_at_most_what_the_limits_say(bare_api):
    spans = _limits(bare_api)["max_span_seconds"]

    assert spans["1h"] == 31 * DAY
    for width in ("1h", "1d"):
        longest = {"bucket_width": width, "end_time": NOW_HOUR, "start_time": NOW_HOUR - spans[width]}
        longer = {**longest, "start_time": longest["start_time"] - HOUR}
        assert bare_api.get("/api/usage", longest).status_code == 200, width
        assert _param(bare_api.get("/api/usage", longer)) == "end_time", width


def test_hourly_buckets_reach_back_as_far_as_the_limits_say(bare_api):
    days = _limits(bare_api)["hourly_retention_days"]
    oldest = NOW_HOUR - days * DAY

    hourly = {"bucket_width": "1h", "end_time": oldest + DAY}
    kept = bare_api.get("/api/usage", {**hourly, "start_time": oldest})
    gone = bare_api.get("/api/usage", {**hourly, "start_time": oldest - HOUR})

    assert kept.status_code == 200
    assert _param(gone) == "start_time"


def test_the_limits_follow_the_settings(bare_api, monkeypatch):
    before = _limits(bare_api)
    monkeypatch.setenv("STALE_AFTER_MINUTES", "15")
    monkeypatch.setenv("HOURLY_RETENTION_DAYS", "40")
    get_settings.cache_clear()
    health = json.loads(bare_api.get("/api/health", token=None).body)

    assert before["stale_after_seconds"] == 3600
    assert before["hourly_retention_days"] == 35
    assert health["limits"]["stale_after_seconds"] == 900 == health["stale_after_seconds"]
    assert health["limits"]["hourly_retention_days"] == 40
