"""Hostile text and numbers at every edge (API, CLI, directory sync), and bad items already stored:
refused with a 400 / exit 2 naming the field where a user typed them, made safe where they came from
OpenAI or from the table, never a 500 or a traceback, never raw control characters on a terminal."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from chalicelib import aws
from chalicelib.keys.sync import key_from_json, sync_directory
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.query import clock
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from tests.functional import api_helpers
from tests.functional.api_helpers import Api
from tests.functional.cli_helpers import new_key_id, run
from tests.functional.collector_helpers import make_client

empty_api = api_helpers.empty_api

HOSTILE_TEXT = {
    "lone surrogate": "a\ud800b",
    "low surrogate": "\udcff",
    "NUL": "a\x00b",
    "CR/LF": "a\r\nb",
    "ESC title": "a\x1b]0;pwned\x07b",
    "BEL": "ding\x07",
    "RLO": "abc\u202egpj.exe",
    "line separator": "a\u2028b",
    "DEL": "a\x7fb",
    "C1 CSI": "a\x9b31mb",
}
HOSTILE_AMOUNTS = ["1e999999999", "1e-999999999", "1E+999999999999999999", "NaN", "Infinity", "-1", "0"]
READ_ROUTES = ["/api/keys", "/api/pools", "/api/usage", "/api/export", "/api/compare", "/api/health"]
READ_ROUTES += ["/api/hygiene"]  # key hygiene shows stored names too


def _post(api: Api, body: dict) -> tuple[int, dict]:
    response = api.request("POST", "/api/keys", token="admin", body=json.dumps(body))
    return response.status_code, json.loads(response.body)


def _patch(api: Api, key_id: str, body: dict) -> tuple[int, dict]:
    response = api.request("PATCH", f"/api/keys/{key_id}", token="admin", body=json.dumps(body))
    return response.status_code, json.loads(response.body)


# -- the API refuses hostile text and numbers, naming the field -----------------------------------
@pytest.mark.parametrize("field", ["name", "owner", "team", "description"])
@pytest.mark.parametrize("label", sorted(HOSTILE_TEXT))
def test_api_refuses_control_characters_and_invalid_unicode_in_every_text_field(empty_api, field, label):
    key_id = new_key_id()
    body = {"key_id": key_id, "name": "ok", field: HOSTILE_TEXT[label]}
    status, answer = _post(empty_api, body)
    assert (status, answer["error"]["param"]) == (400, field), answer
    assert _post(empty_api, {"key_id": key_id, "name": "fine"})[0] == 201
    status, answer = _patch(empty_api, key_id, {field: HOSTILE_TEXT[label]})
    assert (status, answer["error"]["param"]) == (400, field), answer
    assert DirectoryStore().get_mapping(key_id).name == "fine"


def test_api_bounds_text_length_and_keeps_ordinary_unicode(empty_api):
    status, answer = _post(empty_api, {"key_id": new_key_id(), "name": "x" * 100_000})
    assert (status, answer["error"]["param"]) == (413, "body")  # the body bound comes first
    status, answer = _post(empty_api, {"key_id": new_key_id(), "name": "x" * 201})
    assert (status, answer["error"]["param"]) == (400, "name")
    key_id = new_key_id()
    # decomposed e + combining acute is stored composed (NFC); emoji with a ZWJ stay as they are
    status, answer = _post(empty_api, {"key_id": key_id, "name": "  Cafe\u0301 \U0001f469\u200d\U0001f4bb  "})
    assert status == 201, answer
    assert answer["name"] == "Caf\u00e9 \U0001f469\u200d\U0001f4bb"


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS)
@pytest.mark.parametrize("unit", ["usd", "tokens"])
def test_api_refuses_budget_amounts_beyond_the_bounds(empty_api, amount, unit):
    key_id = new_key_id()
    status, answer = _post(
        empty_api, {"key_id": key_id, "name": "b", "budget": {"amount": amount, "unit": unit}}
    )
    assert (status, answer["error"]["param"]) == (400, "budget.amount"), answer
    assert _post(empty_api, {"key_id": key_id, "name": "b"})[0] == 201
    status, answer = _patch(empty_api, key_id, {"budget": {"amount": amount, "unit": unit}})
    assert (status, answer["error"]["param"]) == (400, "budget.amount"), answer
    # the same extremes as JSON numbers (parsed as Decimal, never float)
    raw = f'{{"budget": {{"amount": {amount}, "unit": "{unit}"}}}}'  # NaN/Infinity: not JSON at all
    response = empty_api.request("PATCH", f"/api/keys/{key_id}", token="admin", body=raw)
    assert response.status_code == 400, response.body


def test_api_keeps_a_budget_at_the_bound(empty_api):
    status, answer = _post(
        empty_api,
        {"key_id": new_key_id(), "name": "b", "budget": {"amount": "1000000000000000.000001", "unit": "usd"}},
    )
    assert (status, answer["error"]["param"]) == (400, "budget.amount")
    status, answer = _post(
        empty_api,
        {"key_id": new_key_id(), "name": "b", "budget": {"amount": "999999999999999.999999", "unit": "usd"}},
    )
    assert status == 201, answer
    assert answer["budget"]["amount"] == "999999999999999.999999"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_post_and_patch_without_json_content_type_answer_415(empty_api, content_type):
    headers = {"Authorization": f"Bearer {empty_api.admin}"}
    if content_type:
        headers["Content-Type"] = content_type
    body = json.dumps({"key_id": new_key_id(), "name": "n"})
    for method, path in (("POST", "/api/keys"), ("PATCH", "/api/keys/key_abc")):
        response = empty_api.client.http.request(method, path, headers=headers, body=body)
        assert response.status_code == 415, response.body
        error = json.loads(response.body)["error"]
        assert error["code"] == "unsupported_media_type"
        assert "Content-Type" in error["message"]
    assert DirectoryStore().list_mappings() == []
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert empty_api.client.http.request("POST", "/api/keys", headers=headers, body=body).status_code == 201


def test_a_post_without_a_body_or_content_type_is_the_routes_to_answer(empty_api):
    headers = {"Authorization": f"Bearer {empty_api.admin}"}
    response = empty_api.client.http.request("POST", "/api/keys", headers=headers, body=b"")
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["param"] == "body"


# -- bad items already stored never break a read route or the CLI -----------------------------------
def _store_bad_items(key_id: str, synced_id: str) -> None:
    """Items as an older version or a hand edit could have left them, written straight to the table
    (boto3 sends the lone surrogate as a JSON \\ud800 escape, which DynamoDB keeps)."""
    table = aws.dynamodb_table()
    table.put_item(
        Item={
            "pk": "MAP",
            "sk": key_id,
            "key_id": key_id,
            "name": "bad\ud800name\x1b]0;pwned\x07",
            "owner": "\udcff\r\nowner",
            "team": "t\x00eam\u202e",
            "budget": {"period": "monthly", "unit": "usd", "amount": Decimal("1E+125")},
            "active": True,
            "created_at": 1,
            "updated_at": 1,
        }
    )
    table.put_item(
        Item={
            "pk": "DIR",
            "sk": f"key#{synced_id}",
            "name": "syn\udc80ced\x1b[2J",
            "redacted_value": "sk-\x07...x",
        }
    )
    rollup = DayRollup(day=day_label(int(time.time())))
    for kid in (key_id, synced_id):
        rollup.daily[Cell(kid, "gpt-4o-2024-08-06", "proj_a")] = Usage(input_tokens=10, requests=1)
    RollupStore().replace_day(rollup, keep_hourly=False, hourly_retention_days=35)


def test_stored_bad_names_render_safely_on_every_read_route(empty_api, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: int(time.time()))
    key_id, synced_id = new_key_id(), new_key_id()
    _store_bad_items(key_id, synced_id)
    now = int(time.time())
    period = {"start_time": floor_day(now) - DAY, "end_time": floor_day(now) + DAY}
    by_key = {**period, "group_by": "api_key_id"}
    routes = {"/api/usage": by_key, "/api/export": by_key}
    routes["/api/compare"] = {**period, "api_key_ids": f"{key_id},{synced_id}"}
    for path in READ_ROUTES:
        response = empty_api.get(path, routes.get(path))
        expected = (200, 503) if path == "/api/health" else (200,)
        assert response.status_code in expected, (path, response.body)
        text = response.body if isinstance(response.body, str) else response.body.decode("utf-8")
        text.encode("utf-8")  # strictly valid UTF-8 on the wire
        assert not {"\x1b", "\x07"} & set(text)
    listed = {entry["key_id"]: entry for entry in empty_api.json("/api/keys")["data"]}
    assert listed[key_id]["name"] == "bad\ufffdname\ufffd]0;pwned\ufffd"
    assert listed[key_id]["budget"] is None  # 1e125 is beyond any budget a user may set
    assert listed[synced_id]["name"] == "syn\ufffdced\ufffd[2J"
    for path in ("/api/usage", "/api/compare"):
        assert "bad\ufffdname" in json.dumps(empty_api.json(path, routes[path]), ensure_ascii=False)


def test_list_keys_and_directory_list_escape_stored_control_characters(usage_table, capsys):
    key_id, synced_id = new_key_id(), new_key_id()
    _store_bad_items(key_id, synced_id)
    for argv in (("list-keys", "--all"), ("directory", "list")):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert not {"\x1b", "\x07", "\x00"} & set(out)
        out.encode("utf-8")
        code, out, err = run(capsys, "--json", *argv)
        assert code == 0, err
        json.loads(out)
    code, out, _ = run(capsys, "list-keys")
    assert "bad\ufffdname" in out


# -- the CLI refuses hostile input with exit 2 -------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "param"),
    [
        (["--name", "from argv \udcff\udcfe"], "name"),  # invalid UTF-8 in argv (surrogateescape)
        (["--name", "a\x1b]0;pwned\x07"], "name"),
        (["--name", "ok", "--team", "t\r\nx"], "team"),
        (["--name", "ok", "--owner", "o\u202e"], "owner"),
        (["--name", "ok", "--budget", "1e999999999"], "budget"),
        (["--name", "ok", "--budget", "1e-999999999", "--budget-unit", "usd"], "budget"),
        (["--name", "ok", "--budget", "1E+999999999999999999"], "budget"),
        (["--name", "ok", "--budget", "NaN"], "budget"),
    ],
)
def test_add_key_refuses_hostile_input_with_one_line_and_exit_2(usage_table, capsys, argv, param):
    code, _, err = run(capsys, "add-key", "--key-id", new_key_id(), *argv)
    assert code == 2
    assert err.startswith(f"error: {param}")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert "\x1b" not in err
    err.encode("utf-8")
    assert DirectoryStore().list_mappings() == []


# -- the directory sync makes OpenAI's names safe and says so ---------------------------------------
def test_directory_sync_replaces_bad_synced_names_and_logs_it(
    usage_table, sim_org, sim_server, capfd, caplog
):
    directory = sim_org.directory
    victim = next(key for key in directory.keys if key.listed)
    # (the simulator writes UTF-8, so a lone surrogate cannot cross its wire: see the next test)
    hostile = dataclasses.replace(victim, name="evil\u202e\x1b]0;x\x07" + "y" * 500)
    sim_org.directory = dataclasses.replace(
        directory, keys=tuple(hostile if key.id == victim.id else key for key in directory.keys)
    )
    with caplog.at_level(logging.WARNING):
        sync_directory(make_client(sim_server), DirectoryStore(), int(time.time()))
    stored = DirectoryStore().directory().keys[victim.id]
    assert stored.name.startswith("evil\ufffd\ufffd]0;x\ufffdy")
    assert len(stored.name) == 200
    stored.name.encode("utf-8")
    captured = capfd.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "directory text replaced" in logged
    assert victim.id in logged
    assert "evil" not in logged


def test_a_lone_surrogate_from_openai_json_is_replaced_when_read():
    # json.loads turns OpenAI's `"\\ud800"` escape into a lone surrogate: what key_from_json meets
    data = json.loads('{"id": "key_abc", "name": "x\\ud800y", "redacted_value": "sk-...\\udcffz"}')
    key = key_from_json(data, "proj_a", {})
    assert (key.name, key.redacted_value) == ("x\ufffdy", "sk-...\ufffdz")


# -- the contract states the same rules ------------------------------------------------------------
def _spec_schemas() -> dict:
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
    return spec["components"]["schemas"]


def test_the_spec_refuses_what_the_api_refuses():
    schemas = _spec_schemas()
    name, optional = (
        re.compile(schemas["NameText"]["pattern"]),
        re.compile(schemas["OptionalText"]["pattern"]),
    )
    for label, text in HOSTILE_TEXT.items():
        if "surrogate" in label:
            continue  # a JSON document cannot carry one as text; the API still refuses the escape
        assert not name.search(text), label
        assert not optional.search(text), label
    assert name.search("Caf\u00e9 \U0001f469\u200d\U0001f4bb")
    assert not name.search("   ")
    amount = schemas["BudgetInput"]["properties"]["amount"]["oneOf"]
    text_amount = re.compile(amount[0]["pattern"])
    for bad in [*HOSTILE_AMOUNTS, "0.0", "0.0000001", "1000000000000000.5"]:
        assert not text_amount.search(bad), bad
    assert text_amount.search("0.000001")
    assert text_amount.search("999999999999999.999999")
    assert amount[1]["minimum"] == 1
    patch = schemas["KeyPatch"]
    assert {"updated_at"} not in [set(choice["required"]) for choice in patch["anyOf"]]
    assert {field for choice in patch["anyOf"] for field in choice["required"]} == set(
        patch["properties"]
    ) - {"updated_at"}


def test_invalid_utf8_bytes_in_a_real_argv_exit_2_with_one_line(usage_table):
    # the bytes as a shell passes them: Python decodes argv with surrogateescape (\udcff\udcfe)
    argv = [
        sys.executable.encode(),
        b"-m",
        b"chalicelib.cli",
        b"add-key",
        b"--key-id",
        b"key_argv1",
        b"--name",
    ]
    done = subprocess.run([*argv, b"bad\xff\xfename"], capture_output=True, check=False, timeout=60)
    assert done.returncode == 2
    err = done.stderr.decode("utf-8")  # what reaches the terminal is valid UTF-8
    assert err.startswith("error: name: must be valid Unicode text")
    assert len(err.strip().splitlines()) == 1
    assert DirectoryStore().list_mappings() == []
