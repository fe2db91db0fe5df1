"""The API's live 1m path answers within API Gateway's 29 s: its OpenAI calls share a 20 s deadline,
and a wait that would pass it is not taken (502 at once)."""

from __future__ import annotations

from chalicelib.query.usage import LIVE_DEADLINE_SECONDS
from chalicelib.settings import get_settings
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

bare_api = api_helpers.bare_api
shared_empty_table = api_helpers.shared_empty_table

MINUTES = {"start_time": SIM_NOW - 3600, "end_time": SIM_NOW, "bucket_width": "1m"}


def _point_at(monkeypatch, sim_server) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", sim_server.base_url)
    get_settings.cache_clear()


def test_a_retry_after_longer_than_the_live_deadline_is_a_502_at_once(bare_api, sim_server, monkeypatch):
    _point_at(monkeypatch, sim_server)
    sim_server.rate_limit_every = 1
    sim_server.retry_after = int(LIVE_DEADLINE_SECONDS) + 5  # under the 120 s cap, over the 20 s budget

    response = bare_api.get("/api/usage", MINUTES)

    assert response.status_code == 502, response.body
    assert b"upstream_unavailable" in response.body
    assert sim_server.total_calls == 1  # no sleep, no second attempt


def test_rate_limits_that_fit_the_live_deadline_are_retried_and_the_answer_is_whole(
    bare_api, sim_server, monkeypatch
):
    _point_at(monkeypatch, sim_server)
    sim_server.rate_limit_every = 2
    sim_server.retry_after = 0

    report = bare_api.json("/api/usage", MINUTES)

    assert report["total"]["requests"] > 0
    assert sim_server.total_calls >= 11  # six kinds, every second call limited and retried
