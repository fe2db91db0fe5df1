"""The key commands end to end: `python -m chalicelib.cli` parsing, DynamoDB Local, exit codes, output."""

from __future__ import annotations

import io
import json
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import aws
from chalicelib.keys.model import DirectoryKey, DirectoryProject, KeyMapping
from chalicelib.periods import day_label
from chalicelib.settings import get_settings
from chalicelib.store import table as table_module
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_ADMIN_KEY
from tests.functional.cli_helpers import new_key_id, run, run_json

NOW = 1_767_225_600


def _all_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for pk in ("MAP", "DIR", "UNMAPPED"):
        items += table_module.query_all(aws.dynamodb_table(), KeyConditionExpression=Key("pk").eq(pk))
    return items


def _synced(key_id: str, redacted: str, name: str = "synced") -> DirectoryKey:
    return DirectoryKey(
        key_id, name, redacted, "proj_a", "user", "user-1", "Ada Lovelace", "ada@example.com", NOW
    )


# -- add-key ---------------------------------------------------------------------------------
def test_add_key_by_id_stores_every_field(usage_table, capsys):
    key_id = new_key_id()
    payload = run_json(
        capsys,
        "add-key",
        "--key-id",
        key_id,
        "--name",
        "Support bot",
        "--owner",
        "Grace",
        "--team",
        "Support",
        "--description",
        "answers tickets",
        "--budget",
        "25.50",
        "--budget-unit",
        "usd",
        "--budget-period",
        "daily",
    )
    assert payload["action"] == "added"
    stored = DirectoryStore().get_mapping(key_id)
    assert stored is not None
    assert (stored.name, stored.owner, stored.team, stored.description) == (
        "Support bot",
        "Grace",
        "Support",
        "answers tickets",
    )
    assert stored.budget is not None
    assert (stored.budget.period, stored.budget.unit, str(stored.budget.amount)) == ("daily", "usd", "25.50")
    assert payload["mapping"]["budget"]["amount"] == "25.50"


def test_add_key_by_raw_key_finds_the_id_and_keeps_only_hash_and_last_four(usage_table, capsys):
    store = DirectoryStore()
    wanted, other = new_key_id(), new_key_id()
    raw = "sk-q7x" + uuid.uuid4().hex + uuid.uuid4().hex + "M3z"
    store.replace_directory(
        [_synced(wanted, "sk-q7x...M3z"), _synced(other, "sk-q7y...M3z")], [], [], now=NOW
    )
    code, out, err = run(capsys, "add-key", "--api-key", raw, "--name", "By raw key", "--team", "Platform")
    assert code == 0, err
    mapping = store.get_mapping(wanted)
    assert mapping is not None
    assert mapping.api_key_last4 == raw[-4:]
    assert mapping.api_key_sha256 is not None
    assert len(mapping.api_key_sha256) == 64
    assert raw not in out + err
    assert raw not in json.dumps(_all_items(), default=str)
    assert wanted in out


def test_add_key_by_raw_key_refuses_no_match_and_ambiguity_without_echoing_it(usage_table, capsys):
    store = DirectoryStore()
    first, second = new_key_id(), new_key_id()
    store.replace_directory(
        [_synced(first, "sk-aaa...zzz"), _synced(second, "sk-aaa...zzz")], [], [], now=NOW
    )
    ambiguous = "sk-aaa" + uuid.uuid4().hex + "zzz"
    code, out, err = run(capsys, "add-key", "--api-key", ambiguous, "--name", "x")
    assert code == 2
    assert first in err
    assert second in err
    assert ambiguous not in out + err
    unknown = "sk-bbb" + uuid.uuid4().hex + "yyy"
    code, out, err = run(capsys, "add-key", "--api-key", unknown, "--name", "x")
    assert code == 2
    assert "directory sync" in err
    assert unknown not in out + err
    assert store.list_mappings() == []


@pytest.mark.parametrize(
    ("argv", "param"),
    [
        (["--key-id", "sk-notanid", "--name", "x"], "key_id"),
        (["--key-id", "key_ok1", "--name", "  "], "name"),
        (["--key-id", "key_ok1", "--name", "n" * 201], "name"),
        (["--key-id", "key_ok1", "--name", "x", "--budget", "-3"], "budget"),
        (["--key-id", "key_ok1", "--name", "x", "--budget", "0", "--budget-unit", "usd"], "budget"),
        (["--key-id", "key_ok1", "--name", "x", "--budget-unit", "usd"], "budget"),
        (["--api-key", "not-a-key", "--name", "x"], "api_key"),
    ],
)
def test_add_key_rejects_bad_input_with_exit_code_2(usage_table, capsys, argv, param):
    code, _, err = run(capsys, "add-key", *argv)
    assert code == 2
    assert err.startswith(f"error: {param}:")
    assert DirectoryStore().list_mappings() == []


def test_add_key_needs_exactly_one_of_key_id_and_api_key(usage_table, capsys):
    code, _, err = run(capsys, "add-key", "--name", "x")
    assert code == 2
    assert "--key-id" in err


def test_add_key_refuses_to_overwrite_unless_asked(usage_table, capsys):
    key_id = new_key_id()
    assert run(capsys, "add-key", "--key-id", key_id, "--name", "First", "--team", "A")[0] == 0
    code, _, err = run(capsys, "add-key", "--key-id", key_id, "--name", "Second")
    assert code == 2
    assert "'First'" in err
    assert "--replace" in err
    first = DirectoryStore().get_mapping(key_id)
    assert first is not None
    assert run(capsys, "add-key", "--key-id", key_id, "--name", "Second", "--replace")[0] == 0
    second = DirectoryStore().get_mapping(key_id)
    assert second is not None
    assert (second.name, second.team, second.created_at) == ("Second", None, first.created_at)


# -- list-keys -------------------------------------------------------------------------------
def test_list_keys_shows_status_owner_and_thirty_day_usage(usage_table, capsys):
    store = DirectoryStore()
    active, inactive = new_key_id(), new_key_id()
    store.replace_directory(
        [_synced(active, "sk-abc...def")], [DirectoryProject("proj_a", "Alpha", "active")], [], now=NOW
    )
    store.put_mappings(
        [
            KeyMapping(
                active, "Active key", team="Search", description="indexer", created_at=NOW, updated_at=NOW
            ),
            KeyMapping(inactive, "Retired key", active=False, created_at=NOW, updated_at=NOW),
        ]
    )
    today = day_label(int(time.time()))
    rollup = DayRollup(day=today)
    rollup.daily[Cell(active, "gpt-4o-2024-08-06", "proj_a")] = Usage(
        input_tokens=1000, output_tokens=234, requests=7, billed_usd=Decimal("1.25")
    )
    RollupStore().replace_day(rollup, keep_hourly=False, hourly_retention_days=35)

    payload = run_json(capsys, "list-keys")
    by_id = {record["key_id"]: record for record in payload["keys"]}
    assert set(by_id) == {active, inactive}
    assert by_id[active]["owner"] == "Ada Lovelace"
    assert by_id[active]["status"] == "active"
    assert by_id[inactive]["status"] == "inactive"
    # Behaviour changed with chalicelib.money: today is not settled, so its cost is the estimate
    # (the partial bill is shown as billed_usd, not as the cost), as in every other view.
    assert by_id[active]["usage"] == {
        "total_tokens": 1234,
        "requests": 7,
        "cost_usd": "0",
        "billed_usd": "1.25",
        "estimated_usd": "0",
        "unpriced_tokens": 0,
    }
    code, out, _ = run(capsys, "list-keys")
    assert code == 0
    assert "Active key" in out
    assert "1,234" in out
    assert "inactive" in out


def test_list_keys_all_includes_directory_only_keys(usage_table, capsys):
    store = DirectoryStore()
    synced_only = new_key_id()
    store.replace_directory([_synced(synced_only, "sk-abc...def", name="from openai")], [], [], now=NOW)
    assert run_json(capsys, "list-keys")["keys"] == []
    names = [record["name"] for record in run_json(capsys, "list-keys", "--all")["keys"]]
    assert names == ["from openai"]


# -- remove-key ------------------------------------------------------------------------------
def test_remove_key_by_name_or_id_keeps_usage(usage_table, capsys):
    store = DirectoryStore()
    by_name, by_id = new_key_id(), new_key_id()
    store.put_mappings(
        [
            KeyMapping(by_name, "Unique name", created_at=NOW, updated_at=NOW),
            KeyMapping(by_id, "Other", created_at=NOW, updated_at=NOW),
        ]
    )
    usage_item = {"pk": "AD#key", "sk": "2026-01-01", "m": {by_name: [5]}}
    aws.dynamodb_table().put_item(Item=usage_item)
    code, out, _ = run(capsys, "remove-key", "unique NAME")
    assert code == 0
    assert "usage history is kept" in out
    assert run(capsys, "remove-key", by_id)[0] == 0
    assert store.list_mappings() == []
    assert aws.dynamodb_table().get_item(Key={"pk": "AD#key", "sk": "2026-01-01"})["Item"] == usage_item


def test_remove_key_with_an_ambiguous_name_lists_the_matches(usage_table, capsys):
    store = DirectoryStore()
    first, second = new_key_id(), new_key_id()
    store.put_mappings(
        [
            KeyMapping(first, "Shared", team="A", created_at=NOW, updated_at=NOW),
            KeyMapping(second, "Shared", team="B", created_at=NOW, updated_at=NOW),
        ]
    )
    code, _, err = run(capsys, "remove-key", "Shared")
    assert code == 2
    assert first in err
    assert second in err
    assert len(store.list_mappings()) == 2
    code, _, err = run(capsys, "remove-key", "nobody")
    assert code == 2
    assert "no mapping" in err


# -- import / export -------------------------------------------------------------------------
def test_import_then_export_round_trips_the_old_format_and_is_idempotent(usage_table, capsys, tmp_path):
    old = {new_key_id(): "Ada Lovelace", new_key_id(): "Équipe données — prod", new_key_id(): "<b>html</b>"}
    source = tmp_path / "apiKeyMappings.json"
    source.write_text(json.dumps(old), encoding="utf-8")
    first = run_json(capsys, "import-mappings", str(source))
    assert (first["added"], first["updated"], first["unchanged"], first["format"]) == (3, 0, 0, "legacy")
    again = run_json(capsys, "import-mappings", str(source))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)

    code, out, _ = run(capsys, "export-mappings")
    assert code == 0
    assert json.loads(out) == old
    target = tmp_path / "out" / "apiKeyMappings.json"
    target.parent.mkdir()
    assert run(capsys, "export-mappings", "--output", str(target))[0] == 0
    assert json.loads(target.read_text(encoding="utf-8")) == old


def test_importing_the_old_format_renames_but_keeps_our_fields(usage_table, capsys, tmp_path):
    key_id = new_key_id()
    DirectoryStore().put_mapping(KeyMapping(key_id, "Old", team="Search", created_at=NOW, updated_at=NOW))
    source = tmp_path / "m.json"
    source.write_text(json.dumps({key_id: "New"}), encoding="utf-8")
    assert run_json(capsys, "import-mappings", str(source))["updated"] == 1
    mapping = DirectoryStore().get_mapping(key_id)
    assert mapping is not None
    assert (mapping.name, mapping.team, mapping.created_at) == ("New", "Search", NOW)


def test_the_full_export_restores_every_field(usage_table, capsys, tmp_path):
    key_id = new_key_id()
    assert run(capsys, "add-key", "--key-id", key_id, "--name", "Full", "--owner", "Ada", "--team", "T",
               "--budget", "1000", "--inactive")[0] == 0  # fmt: skip
    before = DirectoryStore().get_mapping(key_id)
    target = tmp_path / "full.json"
    assert run(capsys, "export-mappings", "--full", "-o", str(target))[0] == 0
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["format"] == "openai-usage-tracker/key-mappings"
    assert document["mappings"][key_id]["budget"] == {"period": "monthly", "unit": "tokens", "amount": "1000"}
    assert run_json(capsys, "import-mappings", str(target))["unchanged"] == 1
    assert run(capsys, "remove-key", key_id)[0] == 0
    assert run_json(capsys, "import-mappings", str(target))["added"] == 1
    after = DirectoryStore().get_mapping(key_id)
    assert after is not None
    assert before is not None
    assert (after.name, after.owner, after.team, after.budget, after.active, after.created_at) == (
        before.name,
        before.owner,
        before.team,
        before.budget,
        before.active,
        before.created_at,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"key_abc": ""}', "1 invalid entries"),
        ('{"sk-abc": "Name"}', "key id"),
        ('{"key_abc": 5, "key_def": "ok"}', "nothing imported"),
        ('{"key_abc": "a", "key_abc": "b"}', "appears twice"),
        ('{"format": "something-else", "version": 1}', "unknown format"),
    ],
)
def test_import_refuses_bad_files_and_writes_nothing(usage_table, capsys, tmp_path, content, expected):
    source = tmp_path / "bad.json"
    source.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "import-mappings", str(source))
    assert code == 2
    assert expected in err
    assert DirectoryStore().list_mappings() == []


def test_import_of_a_missing_file_is_a_clear_error(usage_table, capsys, tmp_path):
    code, _, err = run(capsys, "import-mappings", str(tmp_path / "nope.json"))
    assert code == 2
    assert "does not exist" in err


# -- directory sync against the simulator ----------------------------------------------------
@pytest.fixture
def sim_env(usage_table, sim_server, monkeypatch):
    """The CLI pointed at the simulator (settings are cached: forget them after changing the env)."""
    monkeypatch.setenv("OPENAI_BASE_URL", sim_server.base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
    get_settings.cache_clear()
    return sim_server


def test_directory_sync_then_add_key_by_raw_key_from_the_simulator(usage_table, sim_env, sim_org, capsys):
    payload = run_json(capsys, "directory", "sync")
    listed = [key for p in sim_org.projects(include_archived=True) for key in sim_org.api_keys(p.id)]
    assert payload["keys"] == len(listed)
    assert run_json(capsys, "directory", "sync")["items_written"] == 0

    target = next(key for key in listed if key.id != sim_org.directory.xss_key_id)
    head, tail = target.redacted_value.split("...")
    raw = head + uuid.uuid4().hex + uuid.uuid4().hex + tail
    code, out, err = run(capsys, "add-key", "--api-key", raw, "--name", "Found by value")
    assert code == 0, err
    assert target.id in out
    mapping = DirectoryStore().get_mapping(target.id)
    assert mapping is not None
    assert (mapping.name, mapping.api_key_last4) == ("Found by value", raw[-4:])
    assert raw not in out + err
    assert raw not in json.dumps(_all_items(), default=str)
    code, out, _ = run(capsys, "directory", "list")
    assert code == 0
    assert target.redacted_value in out
    assert raw not in out


def test_directory_sync_with_a_rejected_admin_key_exits_1_without_showing_it(
    usage_table, sim_env, monkeypatch, capsys
):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-not-an-admin-key-0123456789")
    get_settings.cache_clear()
    code, out, err = run(capsys, "directory", "sync")
    assert code == 1
    assert err.startswith("error: admin key rejected")
    assert "sk-not-an-admin-key-0123456789" not in out + err
    assert DirectoryStore().directory().keys == {}


def test_add_key_reads_the_raw_key_from_stdin_with_a_dash(usage_table, capsys, monkeypatch):
    key_id = new_key_id()
    DirectoryStore().replace_directory([_synced(key_id, "sk-std...inp")], [], [], now=NOW)
    raw = "sk-std" + uuid.uuid4().hex + "inp"
    monkeypatch.setattr("sys.stdin", io.StringIO(raw + "\n"))
    code, out, err = run(capsys, "add-key", "--api-key", "-", "--name", "From stdin")
    assert code == 0, err
    mapping = DirectoryStore().get_mapping(key_id)
    assert mapping is not None
    assert mapping.api_key_last4 == raw[-4:]
    assert raw not in out + err
