"""The dashboard's admin routes on DynamoDB Local: /api/whoami, viewer tokens (list, create, revoke)
and POST /api/mappings/import; viewers are refused with 403 and bad input with 400 naming it."""

from __future__ import annotations

import json

from chalicelib.keys.model import KeyMapping
from chalicelib.store.directory import DirectoryStore
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

empty_api = api_helpers.empty_api


def test_whoami_tells_a_viewer_from_an_admin(empty_api):
    assert empty_api.json("/api/whoami", token="viewer") == {"role": "viewer", "can_edit": False}
    assert empty_api.json("/api/whoami", token="admin") == {"role": "admin", "can_edit": True}
    assert empty_api.get("/api/whoami", token="out_unknown").status_code == 401


def test_whoami_on_open_reads_without_a_token_has_no_role(empty_api, monkeypatch):
    monkeypatch.setenv("OPEN_READ_ROUTES", "true")
    api_helpers._clear()

    assert empty_api.json("/api/whoami", token=None) == {"role": None, "can_edit": False}
    assert empty_api.json("/api/whoami", token="admin")["role"] == "admin"


def test_an_admin_creates_a_viewer_token_that_reads_and_then_revokes_it(empty_api):
    created = empty_api.request("POST", "/api/tokens", token="admin", body={"name": "  wall screen "})
    assert created.status_code == 201
    body = json.loads(created.body)
    new_token = body["token"]

    listed = empty_api.json("/api/tokens", token="admin")["data"]
    reads = empty_api.get("/api/whoami", token=new_token)
    revoked = empty_api.request("DELETE", f"/api/tokens/{body['id']}", token="admin")
    after = empty_api.get("/api/whoami", token=new_token)

    assert body["role"] == "viewer"
    assert body["name"] == "wall screen"
    assert body["active"] is True
    assert new_token.startswith("out_")
    assert sorted(t["name"] for t in listed) == ["test admin", "test viewer", "wall screen"]
    assert all("token" not in t for t in listed)
    assert reads.status_code == 200
    assert revoked.status_code == 200
    assert json.loads(revoked.body)["revoked"]["active"] is False
    assert after.status_code == 401


def test_viewers_may_not_see_or_touch_tokens_or_import(empty_api):
    assert empty_api.get("/api/tokens", token="viewer").status_code == 403
    assert empty_api.request("POST", "/api/tokens", token="viewer", body={"name": "x"}).status_code == 403
    assert empty_api.request("DELETE", "/api/tokens/0123456789ab", token="viewer").status_code == 403
    imported = empty_api.request("POST", "/api/mappings/import", token="viewer", body={"key_a1": "A"})
    assert imported.status_code == 403


def test_bad_token_requests_are_400_or_404_naming_the_field(empty_api):
    cases = [
        ({"name": ""}, "name"),
        ({"name": "x", "role": "admin"}, "role"),
        ({"name": "x", "expires": 3}, "expires"),
        ({}, "name"),
    ]
    for body, param in cases:
        response = empty_api.request("POST", "/api/tokens", token="admin", body=body)
        assert response.status_code == 400, body
        assert json.loads(response.body)["error"]["param"] == param
    bad_id = empty_api.request("DELETE", "/api/tokens/nothex", token="admin")
    unknown = empty_api.request("DELETE", "/api/tokens/0123456789ab", token="admin")
    assert (bad_id.status_code, json.loads(bad_id.body)["error"]["param"]) == (400, "id")
    assert unknown.status_code == 404


def test_a_legacy_mappings_file_names_new_keys_and_renames_existing_ones(empty_api):
    directory = DirectoryStore()
    directory.put_mapping(KeyMapping(key_id="key_old0001", name="Old", team="research", created_at=SIM_NOW))
    document = {"key_old0001": "Renamed", "key_new0001": "Brand new"}

    first = empty_api.request("POST", "/api/mappings/import", token="admin", body=document)
    again = empty_api.request("POST", "/api/mappings/import", token="admin", body=document)
    keys = {k["key_id"]: k for k in empty_api.json("/api/keys")["data"]}

    assert first.status_code == 200
    assert json.loads(first.body) == {
        "format": "legacy",
        "entries": 2,
        "added": 1,
        "updated": 1,
        "unchanged": 0,
        "added_ids": ["key_new0001"],
        "updated_ids": ["key_old0001"],
    }
    assert json.loads(again.body)["unchanged"] == 2
    assert keys["key_old0001"]["name"] == "Renamed"
    assert keys["key_old0001"]["team"] == "research"
    assert keys["key_new0001"]["name"] == "Brand new"


def test_a_bad_mappings_file_writes_nothing_and_says_which_entry(empty_api):
    document = {"key_good0001": "Fine", "not_a_key": "Bad", "key_empty001": ""}

    response = empty_api.request("POST", "/api/mappings/import", token="admin", body=document)
    keys = empty_api.json("/api/keys")["data"]

    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert error["param"] == "body"
    assert "2 invalid entries, nothing imported" in error["message"]
    assert "not_a_key" in error["message"]
    assert keys == []
    not_object = empty_api.request("POST", "/api/mappings/import", token="admin", body=["key_a1"])
    assert json.loads(not_object.body)["error"]["param"] == "body"
