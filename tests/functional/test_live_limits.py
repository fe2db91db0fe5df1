"""Live 1m reads against the OpenAI simulator and DynamoDB Local: one round of OpenAI calls per window
however many viewers ask (and whichever API instance they reach), and budgets of new windows per token
and per stage answered with 429 / 503 and Retry-After before any OpenAI call."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import pytest

from chalicelib.query import live
from chalicelib.query.report import Record
from chalicelib.query.sources import LIVE_CACHE, LIVE_CACHE_SECONDS, LiveCache
from chalicelib.settings import get_settings
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

sim_table = api_helpers.sim_table
api = api_helpers.api

MINUTE_START = SIM_NOW - SIM_NOW % 60


@pytest.fixture
def wall(monkeypatch):
    """The live path's wall clock pinned to a minute no other test uses (its counters are its own),
    12 seconds into that minute."""
    minute = 40_000_000 + uuid.uuid4().int % 1_000_000
    state = {"now": minute * 60 + 12.0}
    monkeypatch.setattr(live, "wall_clock", lambda: state["now"])
    return state


def _limits(monkeypatch, per_token: int, total: int) -> None:
    monkeypatch.setenv("LIVE_ROUNDS_PER_TOKEN", str(per_token))
    monkeypatch.setenv("LIVE_ROUNDS_TOTAL", str(total))
    get_settings.cache_clear()


def _window(minutes_back: int) -> dict[str, object]:
    start = MINUTE_START - minutes_back * 60
    return {"start_time": start, "end_time": start + 3600, "bucket_width": "1m", "group_by": "api_key_id"}


def test_sixty_identical_viewer_requests_make_one_round_of_openai_calls(api, sim_table, wall):
    sim_table.server.reset_calls()
    first = api.json("/api/usage", _window(90))
    one_round = sim_table.server.total_calls
    answers = [api.json("/api/usage", _window(90)) for _ in range(59)]

    assert one_round > 0
    assert sim_table.server.total_calls == one_round
    assert all(answer["total"] == first["total"] for answer in answers)


def test_another_api_instance_reads_the_window_from_the_table(api, sim_table, wall):
    sim_table.server.reset_calls()
    first = api.json("/api/usage", _window(100))
    calls = sim_table.server.total_calls
    LIVE_CACHE.clear()  # what a fresh Lambda instance has in memory
    again = api.json("/api/usage", _window(100))

    assert sim_table.server.total_calls == calls
    assert again["total"] == first["total"]
    assert again["buckets"] == first["buckets"]

    wall["now"] += live.WINDOW_SECONDS  # a minute later the window is read again
    LIVE_CACHE.clear()
    api.json("/api/usage", _window(100))
    assert sim_table.server.total_calls == 2 * calls


def test_new_windows_beyond_the_tokens_budget_get_429_with_retry_after(api, sim_table, monkeypatch, wall):
    _limits(monkeypatch, per_token=3, total=100)
    sim_table.server.reset_calls()
    statuses = [api.get("/api/usage", _window(110 + i)).status_code for i in range(3)]
    calls = sim_table.server.total_calls
    refused = api.get("/api/usage", _window(120))

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "48"  # 12 s into the minute
    error = json.loads(refused.body)["error"]
    assert (error["code"], error["param"]) == ("rate_limited", "bucket_width")
    assert sim_table.server.total_calls == calls  # refused before any OpenAI call
    assert api.get("/api/usage", _window(110)).status_code == 200  # a known window costs nothing

    wall["now"] += 60
    assert api.get("/api/usage", _window(120)).status_code == 200


def test_the_stages_budget_answers_503_with_retry_after_whoever_asks(api, sim_table, monkeypatch, wall):
    _limits(monkeypatch, per_token=2, total=3)
    ok = [api.get("/api/usage", _window(130 + i)).status_code for i in range(2)]
    ok.append(api.get("/api/usage", _window(140), token="admin").status_code)
    busy = api.get("/api/usage", _window(141), token="admin")

    assert ok == [200, 200, 200]
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "48"
    assert json.loads(busy.body)["error"]["code"] == "live_capacity"


def test_concurrent_misses_of_one_window_share_one_fetch(usage_table, wall):
    cache = LiveCache()
    fetched: list[int] = []
    record = Record(MINUTE_START, "2026-11-20", Usage(input_tokens=7, estimated_usd=Decimal("0.25")), "key_a")
    barrier = threading.Barrier(8)
    results: list[tuple[Record, ...]] = []

    def fetch() -> tuple[Record, ...]:
        fetched.append(1)
        return (record,)

    def viewer() -> None:
        barrier.wait()
        results.append(live.gated_records(cache, ("http://sim", MINUTE_START, MINUTE_START + 60), fetch))

    threads = [threading.Thread(target=viewer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(fetched) == 1
    assert results == [(record,)] * 8


def test_memory_and_table_keep_a_window_equally_long():
    assert live.WINDOW_SECONDS == LIVE_CACHE_SECONDS


def test_the_shared_form_keeps_every_counter_exactly():
    records = (
        Record(
            60,
            "2026-11-20",
            Usage(input_tokens=5, cached_tokens=2, estimated_usd=Decimal("0.0000012345")),
            "k",
        ),
        Record(120, "2026-11-20", Usage(), None, "gpt-4o", "proj_a"),
    )
    assert live.decode(live.encode(records)) == records
