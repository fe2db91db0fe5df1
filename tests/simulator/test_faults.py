"""Realism switches: rate limits with Retry-After, server errors, slow answers, older orgs, call counts."""

from __future__ import annotations

import requests

from simulator.pytest_plugin import SIM_NOW

USAGE = "/organization/usage/completions"
PARAMS = {"start_time": SIM_NOW - 86400}


def test_switches_are_off_by_default(api, sim_server):
    assert [api.get(USAGE, PARAMS).status_code for _ in range(12)] == [200] * 12


def test_every_nth_call_is_rate_limited_with_retry_after(api, sim_server):
    sim_server.rate_limit_every = 3
    sim_server.retry_after = 0

    responses = [api.get(USAGE, PARAMS) for _ in range(6)]

    assert [r.status_code for r in responses] == [200, 200, 429, 200, 200, 429]
    limited = responses[2]
    assert limited.headers["Retry-After"] == "0"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"


def test_every_mth_call_fails_with_500(api, sim_server):
    sim_server.error_every = 2
    statuses = [api.get("/organization/costs", PARAMS).status_code for _ in range(4)]
    assert statuses == [200, 500, 200, 500]
    assert api.get("/organization/users").status_code == 200
    assert api.get("/organization/users").json()["error"]["type"] == "server_error"


def test_a_slow_answer_makes_a_client_time_out_and_stop_does_not_wait_for_it(api, sim_server):
    sim_server.delay_seconds = 30
    try:
        api.session.get(sim_server.base_url + USAGE, params=PARAMS, timeout=0.3)
    except requests.Timeout:
        pass
    else:
        raise AssertionError("the client should have timed out")
    sim_server.stop()  # must return promptly although a handler is still waiting


def test_only_every_kth_call_is_slow(api, sim_server):
    sim_server.delay_seconds = 30
    sim_server.slow_every = 1000
    assert api.get(USAGE, PARAMS).status_code == 200


def test_older_orgs_refuse_cost_grouping_by_api_key(api, sim_server):
    params = {**PARAMS, "group_by": ["project_id", "api_key_id"]}
    assert api.get("/organization/costs", params).status_code == 200
    sim_server.costs_refuse_api_key_grouping = True
    response = api.get("/organization/costs", params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "group_by"
    assert api.get("/organization/costs", {**PARAMS, "group_by": "project_id"}).status_code == 200


def test_calls_are_counted_per_endpoint(api, sim_server, sim_org):
    project = sim_org.projects()[0].id
    api.get(USAGE, PARAMS)
    api.get(USAGE, PARAMS)
    api.get("/organization/usage/embeddings", PARAMS)
    api.get("/organization/costs", PARAMS)
    api.get(f"/organization/projects/{project}/api_keys")
    api.get("/organization/users", key="bad")
    api.get("/nowhere")

    assert sim_server.calls == {
        "/organization/usage/completions": 2,
        "/organization/usage/embeddings": 1,
        "/organization/costs": 1,
        "/organization/projects/{project_id}/api_keys": 1,
        "/organization/users": 1,
        "other": 1,
    }
    assert sim_server.total_calls == 7
    sim_server.reset_calls()
    assert sim_server.total_calls == 0
    assert not sim_server.calls
