"""Bearer auth, scopes and not-found answers, all with OpenAI's error body."""

from __future__ import annotations

import pytest
import requests

from simulator.org import SyntheticOrg
from simulator.pytest_plugin import SIM_NOW, SIM_SPEC
from simulator.server import SimulatorServer

USAGE = "/organization/usage/completions"
PARAMS = {"start_time": SIM_NOW - 86400}


def error_of(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize(
    "path", [USAGE, "/organization/costs", "/organization/projects", "/organization/users"]
)
def test_an_admin_key_is_accepted(api, path):
    assert api.get(path, PARAMS).status_code == 200


@pytest.mark.parametrize("key", ["sk-proj-abcdef123456", "sk-svcacct-abcdef123456"])
@pytest.mark.parametrize("path", [USAGE, "/organization/costs"])
def test_a_project_key_lacks_the_usage_scope(api, key, path):
    response = api.get(path, PARAMS, key=key)

    assert response.status_code == 403
    assert "Missing scopes: api.usage.read" in error_of(response)["message"]


def test_the_scope_refusal_status_can_be_401(api, sim_server):
    sim_server.scope_error_status = 401
    response = api.get(USAGE, PARAMS, key="sk-proj-abcdef123456")
    assert response.status_code == 401
    assert "Missing scopes: api.usage.read" in error_of(response)["message"]


def test_a_project_key_lacks_the_management_scope_for_the_directory(api):
    response = api.get("/organization/users", key="sk-proj-abcdef123456")
    assert response.status_code == 403
    assert "Missing scopes: api.management.read" in error_of(response)["message"]


@pytest.mark.parametrize("key", ["sk-abcdef", "sk-admin-", "hello", ""])
def test_any_other_key_is_401(api, key):
    response = api.get(USAGE, PARAMS, key=key)
    assert response.status_code == 401
    assert error_of(response)["type"] == "invalid_request_error"


def test_a_missing_or_non_bearer_header_is_401(api, sim_server):
    assert api.get(USAGE, PARAMS, key=None).status_code == 401
    response = requests.get(
        sim_server.base_url + USAGE,
        params=PARAMS,
        headers={"Authorization": "Basic c2stYWRtaW4teA=="},
        timeout=10,
    )
    assert response.status_code == 401
    assert "didn't provide an API key" in error_of(response)["message"]


def test_a_wrong_key_is_not_echoed_in_full(api):
    key = "sk-wrong-0123456789abcdef"
    message = error_of(api.get(USAGE, PARAMS, key=key))["message"]
    assert key not in message
    assert "cdef" in message


def test_a_server_with_a_configured_key_accepts_only_that_key():
    with SimulatorServer(SyntheticOrg(SIM_SPEC), admin_key="sk-admin-the-one") as server:
        url = server.base_url + USAGE
        good = requests.get(
            url, params=PARAMS, headers={"Authorization": "Bearer sk-admin-the-one"}, timeout=10
        )
        bad = requests.get(
            url, params=PARAMS, headers={"Authorization": "Bearer sk-admin-another"}, timeout=10
        )
    assert good.status_code == 200
    assert bad.status_code == 401
    assert error_of(bad)["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    "path", ["/organization/nothing", "/organization/usage/teleportation", "/organization/usage", "/models"]
)
def test_unknown_paths_are_404_with_the_error_body(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert "Invalid URL" in error_of(response)["message"]


def test_other_methods_are_404(api, sim_server):
    response = api.session.post(
        sim_server.base_url + USAGE,
        params=PARAMS,
        headers={"Authorization": "Bearer sk-admin-x"},
        json={},
        timeout=10,
    )
    assert response.status_code == 404
    assert error_of(response)["message"] == "Invalid URL (POST /v1/organization/usage/completions)"


def test_an_unknown_project_is_404(api):
    response = api.get("/organization/projects/proj_doesnotexist/api_keys")
    assert response.status_code == 404
    assert "proj_doesnotexist" in error_of(response)["message"]
