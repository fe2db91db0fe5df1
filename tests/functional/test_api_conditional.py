"""ETag / If-None-Match on the read routes (chalicelib.responses._conditional), on DynamoDB Local:
a refresh of unchanged data is a 304 with no body; changed data is a new 200 and a new ETag."""

from __future__ import annotations

import json

from chalicelib.responses import READ_CACHE_CONTROL
from tests.functional import api_helpers
from tests.functional.test_report_memo import VIEW, _store

empty_api = api_helpers.empty_api


def test_an_unchanged_answer_is_a_304_and_a_changed_one_a_new_200(empty_api: api_helpers.Api) -> None:
    _store(100)
    first = empty_api.get("/api/usage", VIEW)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == READ_CACHE_CONTROL
    again = empty_api.get("/api/usage", VIEW, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert not again.body
    assert again.headers["ETag"] == etag
    other = empty_api.get("/api/usage", VIEW, headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200
    assert json.loads(other.body)["total"]["input_tokens"] == 100
    _store(250)
    changed = empty_api.get("/api/usage", VIEW, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert json.loads(changed.body)["total"]["input_tokens"] == 250


def test_refusals_carry_no_etag(empty_api: api_helpers.Api) -> None:
    refused = empty_api.get("/api/usage", {**VIEW, "bucket_width": "7d"})
    assert refused.status_code == 400
    assert "ETag" not in refused.headers
    assert json.loads(refused.body)["error"]["param"] == "bucket_width"
