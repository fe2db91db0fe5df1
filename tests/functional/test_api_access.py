"""Tokens, roles, CORS and health through chalice.test.Client on DynamoDB Local."""

from __future__ import annotations

import json

import pytest
from boto3.dynamodb.conditions import Key
from chalice.config import Config
from chalice.local import LocalGateway

from app import app
from chalicelib import aws
from chalicelib.catalog import PriceTable
from chalicelib.cli import main as cli_main
from chalicelib.collector import CollectorConfig
from chalicelib.errors import OpenAIAuthError, OpenAIUnavailable
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.query import clock
from chalicelib.runner import Runner
from chalicelib.settings import get_settings
from chalicelib.store.meta import MetaStore
from chalicelib.store.table import query_all
from chalicelib.store.tokens import TokenStore
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import DASHBOARD
from tests.functional.test_runner import make_runner

empty_api = api_helpers.empty_api

READ_ROUTES = [
    "/api/usage?start_time=1795000000",
    "/api/pools",
    "/api/keys",
    "/api/export?start_time=1795000000",
]


def _error(response) -> dict:
    body = json.loads(response.body)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "param", "code"}
    return body["error"]


@pytest.mark.parametrize("path", READ_ROUTES)
def test_read_routes_without_a_token_are_refused_with_401(empty_api, path):
    response = empty_api.get(path, token=None)

    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer out_not-a-real-token", "Bearer a b", "bearer " + "x" * 300],
)
def test_malformed_and_unknown_tokens_are_refused_with_401(empty_api, header):
    response = empty_api.get("/api/keys", token=None, headers={"Authorization": header})

    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"


def test_a_viewer_reads_but_may_not_write(empty_api):
    assert empty_api.get("/api/keys", token="viewer").status_code == 200

    response = empty_api.request(
        "POST", "/api/keys", token="viewer", body={"key_id": "key_abc123", "name": "Ada"}
    )

    assert response.status_code == 403
    assert _error(response)["code"] == "forbidden"
    assert empty_api.request("DELETE", "/api/keys/key_abc123", token="viewer").status_code == 403


def test_an_admin_may_write(empty_api):
    response = empty_api.request(
        "POST", "/api/keys", token="admin", body={"key_id": "key_abc123", "name": "Ada"}
    )

    assert response.status_code == 201


def test_a_revoked_token_is_refused_at_once_in_this_process(empty_api, capsys):
    assert empty_api.get("/api/keys", token="viewer").status_code == 200  # now cached as valid
    token_id = next(token.id for token in TokenStore().all() if token.role == "viewer")

    assert cli_main.main(["tokens", "revoke", token_id]) == 0
    response = empty_api.get("/api/keys", token="viewer")

    assert response.status_code == 401
    assert "revoked" in _error(response)["message"]
    assert "revoked" in capsys.readouterr().out


def test_the_table_keeps_only_hashes_of_tokens(empty_api, capsys):
    assert cli_main.main(["--json", "tokens", "create", "--role", "viewer", "--name", "Grafana"]) == 0
    created = json.loads(capsys.readouterr().out)
    token = created["token"]

    items = list(query_all(aws.dynamodb_table(), KeyConditionExpression=Key("pk").eq("TOKEN")))
    text = json.dumps(items, default=str)
    assert len(items) == 3
    assert token not in text
    assert empty_api.admin not in text
    assert empty_api.viewer not in text
    assert all(len(item["sk"]) == 64 for item in items)
    assert empty_api.get("/api/keys", token=token).status_code == 200

    assert cli_main.main(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    assert created["id"] in listing
    assert "Grafana" in listing
    assert token not in listing


def test_open_read_routes_admit_reads_without_a_token_but_never_writes(empty_api, monkeypatch):
    monkeypatch.setenv("OPEN_READ_ROUTES", "true")
    get_settings.cache_clear()

    assert empty_api.get("/api/keys", token=None).status_code == 200
    response = empty_api.request(
        "POST", "/api/keys", token=None, body={"key_id": "key_abc123", "name": "Ada"}
    )
    assert response.status_code == 401


def test_the_dashboard_origin_gets_cors_headers_and_no_other_origin_does(empty_api):
    ours = empty_api.get("/api/keys", headers={"Origin": DASHBOARD})
    theirs = empty_api.get("/api/keys", headers={"Origin": "https://evil.example"})
    refused = empty_api.get("/api/keys", token=None, headers={"Origin": DASHBOARD})

    assert ours.headers["Access-Control-Allow-Origin"] == DASHBOARD
    assert "Authorization" in ours.headers["Access-Control-Allow-Headers"]
    assert "Content-Disposition" in ours.headers["Access-Control-Expose-Headers"]
    assert ours.headers["Vary"] == "Origin"
    assert not any(name.lower().startswith("access-control-") for name in theirs.headers)
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == DASHBOARD  # the dashboard can read the error


def test_the_preflight_names_only_the_dashboard_origin(empty_api):
    # chalice.test's HTTP client cannot decode a bodiless answer: ask its local gateway directly,
    # which answers preflights as API Gateway does, without invoking the app.
    gateway = LocalGateway(app, Config.create())
    response = gateway.handle_request("OPTIONS", "/api/keys", {"origin": "https://evil.example"}, None)

    assert response["headers"]["Access-Control-Allow-Origin"] == DASHBOARD
    assert "POST" in response["headers"]["Access-Control-Allow-Methods"]


def test_without_a_configured_origin_nobody_gets_cors_headers(empty_api, monkeypatch):
    monkeypatch.setenv("DASHBOARD_ORIGIN", "")
    get_settings.cache_clear()
    response = empty_api.get("/api/keys", headers={"Origin": DASHBOARD})

    assert not any(name.lower().startswith("access-control-") for name in response.headers)


def test_health_is_public_and_answers_503_before_any_collection(empty_api):
    # Issue 16: a degraded health used to answer 200; anything but ok is now 503 with the reason.
    response = empty_api.get("/api/health", token=None)

    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["status"] == "degraded"
    assert body["reason"] == "never_collected"
    assert body["detail"] == "no collection has succeeded yet"
    assert body["dynamodb"] == "reachable"
    assert body["last_success_at"] is None
    assert body["age_seconds"] is None
    assert body["stale_after_seconds"] == 3600


def test_health_is_ok_after_a_recent_collection_and_degraded_once_stale(empty_api, monkeypatch):
    MetaStore().record_success(
        run_id="r1",
        finished_at=SIM_NOW - 600,
        usage_as_of=SIM_NOW - 600,
        costs_as_of=None,
        directory_synced_at=None,
        cost_grouping=None,
    )
    fresh_response = empty_api.get("/api/health", token=None)
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW + 3600)
    stale_response = empty_api.get("/api/health", token=None)
    fresh, stale = json.loads(fresh_response.body), json.loads(stale_response.body)

    assert fresh_response.status_code == 200
    assert fresh["status"] == "ok"
    assert fresh["reason"] is None
    assert fresh["detail"] is None
    assert fresh["age_seconds"] == 600
    assert fresh["last_success_at"] == "2026-11-20T10:07:00Z"
    assert stale_response.status_code == 503
    assert stale["status"] == "degraded"
    assert stale["reason"] == "stale"


def test_health_turns_503_when_the_admin_key_is_rejected_and_ok_again_after_a_good_run(empty_api, sim_server):
    secret = "sk-proj-RejectedKeyNeverShown0123456789"
    make_runner(sim_server).incremental(SIM_NOW)
    healthy = empty_api.get("/api/health", token=None)
    bad = Runner(
        OpenAIAdminClient(sim_server.base_url, secret, sleep=lambda _s: None),
        config=CollectorConfig(),
        prices=PriceTable.load(),
    )
    with pytest.raises(OpenAIAuthError):
        bad.incremental(SIM_NOW + 60)
    rejected = empty_api.get("/api/health", token=None)
    make_runner(sim_server).incremental(SIM_NOW + 120)
    recovered = empty_api.get("/api/health", token=None)

    assert healthy.status_code == 200
    assert rejected.status_code == 503
    body = json.loads(rejected.body)
    assert body["status"] == "degraded"
    assert body["reason"] == "admin_key_rejected"
    assert body["consecutive_failures"] == 1
    assert body["last_failure_at"] == "2026-11-20T10:18:00Z"
    assert secret not in rejected.body.decode()
    assert "sk-" not in rejected.body.decode()
    assert recovered.status_code == 200
    assert json.loads(recovered.body)["consecutive_failures"] == 0


def test_health_says_last_run_failed_when_openai_stays_unavailable(empty_api, sim_server):
    make_runner(sim_server).incremental(SIM_NOW)
    sim_server.error_every = 1
    with pytest.raises(OpenAIUnavailable):
        make_runner(sim_server, max_attempts=2).incremental(SIM_NOW + 900)

    response = empty_api.get("/api/health", token=None)

    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["reason"] == "last_run_failed"
    assert body["detail"] == "the last collection failed"
    assert "attempts" not in response.body.decode()  # the error text stays in the log


def test_health_reports_an_unreachable_table_without_revealing_anything(empty_api, monkeypatch):
    monkeypatch.setenv("USAGE_TABLE", "no-such-table-for-health")
    get_settings.cache_clear()
    aws.cache_clear()
    response = empty_api.get("/api/health", token=None)

    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["dynamodb"] == "unreachable"
    assert body["reason"] == "dynamodb_unreachable"
    assert body["status"] == "degraded"
    assert "no-such-table" not in response.body.decode()
    assert "ResourceNotFound" not in response.body.decode()
