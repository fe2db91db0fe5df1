"""Key hygiene end to end: the simulator's directory (a departed owner, service accounts of an archived
project, a never-used key) synced and collected into DynamoDB Local, then `/api/hygiene` and the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib import aws, store
from chalicelib.cli import main as cli_main
from chalicelib.keys.model import KeyMapping
from chalicelib.periods import DAY, iso
from chalicelib.query import clock
from chalicelib.store.directory import DirectoryStore
from simulator.directory import User
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW
from simulator.server import SimulatorServer
from tests.conftest import unique_name
from tests.functional import api_helpers
from tests.functional.api_helpers import Api, chalice_client, fill_from_simulator, make_tokens

# Four projects: the last one is archived part-way, and keys 3 and 7 (service-account keys) live in it.
HYGIENE_SPEC = OrgSpec(seed=7, keys=12, projects=4, users=5, days=30, now=SIM_NOW)
UNUSED_DAYS = 7
ROTATION_DAYS = 60


class Filled:
    """The filled table and the simulator it came from."""

    def __init__(self, name: str, org: SyntheticOrg, admin: str, viewer: str, departed: str) -> None:
        self.name, self.org, self.admin, self.viewer, self.departed = name, org, admin, viewer, departed


@pytest.fixture(scope="module")
def filled(local_aws: Any) -> Iterator[Filled]:
    name = unique_name("hygiene")
    org = SyntheticOrg(HYGIENE_SPEC)
    departed = org.directory.keys[0].owner
    assert isinstance(departed, User)
    org.remove_user(departed.id)
    with SimulatorServer(org) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("USAGE_TABLE", name)
        api_helpers._clear()
        store.ensure_table()
        fill_from_simulator(server)
        admin, viewer = make_tokens()
        api_helpers._clear()
        yield Filled(name, org, admin, viewer, departed.id)
        aws.dynamodb_client().delete_table(TableName=name)
    api_helpers._clear()


@pytest.fixture
def hygiene_api(filled: Filled, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Api:
    api_helpers._prepare(monkeypatch, filled.name)
    monkeypatch.setenv("HYGIENE_UNUSED_DAYS", str(UNUSED_DAYS))
    monkeypatch.setenv("HYGIENE_ROTATION_DAYS", str(ROTATION_DAYS))
    api_helpers._clear()
    return Api(chalice_client(tmp_path), filled.admin, filled.viewer)


def _expected(org: SyntheticOrg, departed: str) -> dict[str, list[str]]:
    """The findings the simulator's own directory implies, key by key."""
    archived = {p.id for p in org.directory.projects if p.archived_at is not None}
    expected: dict[str, list[str]] = {}
    for key in org.directory.keys:
        if not key.listed:
            # deleted before the first sync: its id is in the usage and nothing names it
            expected[key.id] = ["unowned"]
            continue
        found = []
        last = org.last_used_at(key, SIM_NOW)
        if SIM_NOW - (last if last is not None else key.created_at) >= UNUSED_DAYS * DAY:
            found.append("unused")
        if SIM_NOW - key.created_at >= ROTATION_DAYS * DAY:
            found.append("rotation_due")
        if isinstance(key.owner, User) and key.owner.id == departed:
            found.append("owner_departed")
        if not isinstance(key.owner, User) and key.project_id in archived:
            found.append("service_account_gone")
        if found:
            expected[key.id] = found
    return expected


def test_hygiene_lists_each_finding_the_directory_implies(hygiene_api: Api, filled: Filled) -> None:
    report = hygiene_api.json("/api/hygiene")

    found = {entry["key_id"]: entry["findings"] for entry in report["data"]}
    expected = _expected(filled.org, filled.departed)
    assert found == expected
    keys = filled.org.directory.keys
    assert "owner_departed" in found[keys[0].id]
    assert "service_account_gone" in found[keys[3].id]
    assert "service_account_gone" in found[keys[7].id]
    assert "unused" in found[filled.org.directory.quiet_key_id]
    assert report["thresholds"] == {"unused_days": UNUSED_DAYS, "rotation_days": ROTATION_DAYS}
    assert report["counts"]["service_account_gone"] == 2
    assert report["counts"]["owner_departed"] == sum(
        1 for k in keys if k.listed and isinstance(k.owner, User) and k.owner.id == filled.departed
    )


def test_each_finding_carries_the_keys_30_day_spend_and_dates(hygiene_api: Api, filled: Filled) -> None:
    report = hygiene_api.json("/api/hygiene")
    listed = {entry["key_id"]: entry for entry in hygiene_api.json("/api/keys")["data"]}

    by_id = {key.id: key for key in filled.org.directory.keys}
    for entry in report["data"]:
        usage = listed[entry["key_id"]]["usage_30d"]
        assert entry["spend_30d"] == {"cost_usd": usage["cost_usd"], "total_tokens": usage["total_tokens"]}
        key = by_id[entry["key_id"]]
        if not key.listed:  # known only from usage: no dates
            assert (entry["created_at"], entry["last_used_at"], entry["owner"]) == (None, None, None)
            continue
        assert entry["created_at"] == iso(key.created_at)
        last = filled.org.last_used_at(key, SIM_NOW)
        assert entry["last_used_at"] == (iso(last) if last is not None else None)
    spends = [Decimal(entry["spend_30d"]["cost_usd"]) for entry in report["data"]]
    assert spends == sorted(spends, reverse=True)
    assert any(spend > 0 for spend in spends)  # the departed owner's key still spends


def test_a_key_with_no_mapping_and_no_owner_is_unowned(hygiene_api: Api, filled: Filled) -> None:
    report = hygiene_api.json("/api/hygiene")
    deleted = filled.org.directory.deleted_key_id
    # every listed simulator key has an owner; the key deleted before the sync is named by nothing
    assert [e["key_id"] for e in report["data"] if "unowned" in e["findings"]] == [deleted]
    assert next(e for e in report["data"] if e["key_id"] == deleted)["spend_30d"]["total_tokens"] > 0

    # a mapping names a key: a mapped key with a departed owner is still reported, under its mapped name
    directory = DirectoryStore()
    key_id = filled.org.directory.keys[0].id
    directory.put_mapping(KeyMapping(key_id=key_id, name="Ada's bot", team="research", created_at=SIM_NOW))
    directory.put_mapping(KeyMapping(key_id=deleted, name="old prototype", created_at=SIM_NOW))
    try:
        data = {e["key_id"]: e for e in hygiene_api.json("/api/hygiene")["data"]}
        assert data[key_id]["name"] == "Ada's bot"
        assert data[key_id]["team"] == "research"
        assert "owner_departed" in data[key_id]["findings"]
        assert deleted not in data  # a mapping names it: no longer unowned
    finally:
        directory.delete_mapping(key_id)
        directory.delete_mapping(deleted)


def test_hygiene_refuses_unknown_parameters(hygiene_api: Api) -> None:
    response = hygiene_api.get("/api/hygiene", {"days": "3"})

    assert response.status_code == 400
    assert json.loads(response.body)["error"]["param"] == "days"


def test_the_cli_prints_the_same_findings(
    hygiene_api: Api, filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW)
    expected = hygiene_api.json("/api/hygiene")
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli_main.main(["hygiene", "--json"])
    assert code == 0
    printed = json.loads(out.getvalue())
    assert printed == expected

    text = io.StringIO()
    with redirect_stdout(text):
        assert cli_main.main(["hygiene"]) == 0
    lines = text.getvalue().splitlines()
    assert lines[0].startswith("key hygiene as of")
    assert any(filled.org.directory.keys[3].id in line and "service_account_gone" in line for line in lines)


def test_hygiene_needs_a_token(hygiene_api: Api) -> None:
    assert hygiene_api.get("/api/hygiene", token=None).status_code == 401
