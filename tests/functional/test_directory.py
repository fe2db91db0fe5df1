"""Key identities on DynamoDB Local: mappings, the directory synced from the simulator, unmapped keys."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import aws
from chalicelib.errors import InvalidInput
from chalicelib.keys.model import Budget, DirectoryKey, DirectoryProject, DirectoryUser, KeyMapping
from chalicelib.keys.resolve import resolve, unknown_key_ids
from chalicelib.keys.sync import sync_directory
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.store import table as table_module
from chalicelib.store.directory import DirectoryStore
from simulator.pytest_plugin import SIM_ADMIN_KEY

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def _key_id() -> str:
    return "key_" + uuid.uuid4().hex[:16]


def _items(pk: str) -> list[dict[str, Any]]:
    return list(table_module.query_all(aws.dynamodb_table(), KeyConditionExpression=Key("pk").eq(pk)))


def _dir_key(key_id: str, project_id: str = "proj_a", **fields: Any) -> DirectoryKey:
    values: dict[str, Any] = {
        "key_id": key_id,
        "name": f"synced {key_id}",
        "redacted_value": "sk-abc...xyz",
        "project_id": project_id,
        "owner_type": "user",
        "owner_id": "user-1",
        "owner_name": "Ada Lovelace",
        "owner_email": "ada@example.com",
        "created_at": NOW - 86400,
        "last_used_at": NOW - 60,
    }
    values.update(fields)
    return DirectoryKey(**values)


# -- mappings --------------------------------------------------------------------------------
def test_a_mapping_round_trips_with_its_budget_and_fingerprint(usage_table):
    store = DirectoryStore()
    mapping = KeyMapping(
        _key_id(),
        "Ada's evals",
        owner="Ada",
        team="Research",
        description="nightly evals",
        budget=Budget("monthly", "usd", Decimal("12.345")),
        api_key_sha256="a" * 64,
        api_key_last4="wxyz",
        created_at=NOW,
        updated_at=NOW,
    )
    store.put_mapping(mapping, must_not_exist=True)
    assert store.get_mapping(mapping.key_id) == mapping
    assert store.list_mappings() == [mapping]
    with pytest.raises(InvalidInput) as again:
        store.put_mapping(mapping, must_not_exist=True)
    assert again.value.param == "key_id"


def test_an_optimistic_put_refuses_a_mapping_changed_since_it_was_read(usage_table):
    store = DirectoryStore()
    first = KeyMapping(_key_id(), "First", created_at=NOW, updated_at=NOW)
    store.put_mapping(first)
    second = KeyMapping(first.key_id, "Second", created_at=NOW, updated_at=NOW + 5)
    store.put_mapping(second, expected_updated_at=NOW)
    with pytest.raises(InvalidInput) as stale:
        store.put_mapping(KeyMapping(first.key_id, "Third", updated_at=NOW + 9), expected_updated_at=NOW)
    assert stale.value.param == "updated_at"
    assert store.get_mapping(first.key_id) == second


def test_deleting_a_mapping_touches_nothing_else(usage_table):
    store = DirectoryStore()
    key_id = _key_id()
    usage_item = {"pk": "AD#key", "sk": "2026-01-01", "m": {key_id: [1, 2]}}
    aws.dynamodb_table().put_item(Item=usage_item)
    store.put_mapping(KeyMapping(key_id, "Doomed", created_at=NOW, updated_at=NOW))
    assert store.delete_mapping(key_id) is True
    assert store.delete_mapping(key_id) is False
    assert store.get_mapping(key_id) is None
    assert _items("AD#key") == [usage_item]


# -- directory and identities ----------------------------------------------------------------
def test_replace_directory_writes_only_what_changed_and_keeps_vanished_keys_as_tombstones(usage_table):
    store = DirectoryStore()
    kept, renamed, vanished = _key_id(), _key_id(), _key_id()
    projects = [
        DirectoryProject("proj_a", "Alpha", "active"),
        DirectoryProject("proj_b", "Beta", "archived", NOW),
    ]
    users = [
        DirectoryUser("user-1", "Ada Lovelace", "ada@example.com", "owner"),
        DirectoryUser("user-2", "Old"),
    ]
    keys = [_dir_key(kept), _dir_key(renamed), _dir_key(vanished, "proj_b")]
    assert store.replace_directory(keys, projects, users, now=NOW) == 7
    assert store.replace_directory(keys, projects, users, now=NOW) == 0

    keys = [_dir_key(kept), _dir_key(renamed, name="new name")]
    assert store.replace_directory(keys, projects, users[:1], now=NOW + 10) == 3  # rename, tombstone, user
    directory = store.directory()
    assert directory.keys[renamed].name == "new name"
    assert directory.keys[vanished].deleted_at == NOW + 10
    assert directory.keys[vanished].name == f"synced {vanished}"
    assert set(directory.users) == {"user-1"}
    assert store.replace_directory(keys, projects, users[:1], now=NOW + 20) == 0


def test_replace_directory_leaves_the_keys_of_an_unreadable_project_alone(usage_table):
    store = DirectoryStore()
    key_id = _key_id()
    projects = [DirectoryProject("proj_b", "Beta", "archived", NOW)]
    store.replace_directory([_dir_key(key_id, "proj_b")], projects, [], now=NOW)
    assert store.replace_directory([], projects, [], now=NOW + 1, keep_keys_of=["proj_b"]) == 0
    assert store.directory().keys[key_id].deleted_at is None


def test_a_manual_name_and_team_win_over_the_synced_name(usage_table):
    store = DirectoryStore()
    mapped, synced_only = _key_id(), _key_id()
    store.replace_directory(
        [_dir_key(mapped), _dir_key(synced_only)],
        [DirectoryProject("proj_a", "Alpha", "active")],
        [],
        now=NOW,
    )
    store.put_mapping(KeyMapping(mapped, "Manual name", team="Platform", created_at=NOW, updated_at=NOW))
    identities = store.identities()
    assert (identities[mapped].name, identities[mapped].team, identities[mapped].source) == (
        "Manual name",
        "Platform",
        "mapping",
    )
    assert identities[mapped].owner == "Ada Lovelace"  # the directory's owner is the default
    assert identities[mapped].project_name == "Alpha"
    assert (identities[synced_only].name, identities[synced_only].source) == (
        f"synced {synced_only}",
        "directory",
    )


def test_reading_every_identity_costs_two_queries_whatever_the_number_of_keys(usage_table):
    store = DirectoryStore()
    key_ids = [_key_id() for _ in range(60)]
    store.replace_directory([_dir_key(k) for k in key_ids], [], [], now=NOW)
    store.put_mappings([KeyMapping(k, f"name {k}", created_at=NOW, updated_at=NOW) for k in key_ids[:30]])
    before = table_module.reset_stats()
    del before
    identities = store.identities()
    assert len(identities) == 60
    assert table_module.STATS.requests == 2


def test_queries_follow_every_page(usage_table, monkeypatch):
    store = DirectoryStore()
    key_ids = [_key_id() for _ in range(7)]
    store.put_mappings([KeyMapping(k, "n", created_at=NOW, updated_at=NOW) for k in key_ids])
    real_query = table_module.query_all

    def small_pages(table, **kwargs):
        return real_query(table, Limit=2, **kwargs)

    monkeypatch.setattr("chalicelib.store.directory.query_all", small_pages)
    assert sorted(m.key_id for m in store.list_mappings()) == sorted(key_ids)


# -- unmapped keys ---------------------------------------------------------------------------
def test_unknown_ids_resolve_as_unmapped_and_are_recorded_once(usage_table):
    store = DirectoryStore()
    unknown, other = _key_id(), _key_id()
    identity = resolve(unknown, store.identities())
    assert (identity.name, identity.source, identity.mapped) == (unknown, "unmapped", False)
    assert store.record_unmapped([unknown, other, "unattributed"], NOW) == sorted([unknown, other])
    assert store.record_unmapped([unknown, other], NOW) == []
    assert store.record_unmapped([unknown], NOW + 900) == []
    entries = {entry.key_id: entry for entry in store.list_unmapped()}
    assert (entries[unknown].first_seen, entries[unknown].last_seen) == (NOW, NOW + 900)


def test_a_mapping_clears_the_unmapped_entry(usage_table):
    store = DirectoryStore()
    key_id = _key_id()
    store.record_unmapped([key_id], NOW)
    store.put_mapping(KeyMapping(key_id, "Named now", created_at=NOW, updated_at=NOW))
    assert store.list_unmapped() == []
    assert store.record_unmapped([key_id], NOW + 1) == [key_id]  # if it ever loses its name again


# -- sync against the simulator --------------------------------------------------------------
@pytest.fixture
def sim_client(sim_server) -> OpenAIAdminClient:
    return OpenAIAdminClient(sim_server.base_url, SIM_ADMIN_KEY, sleep=lambda _: None)


def test_sync_stores_every_simulator_key_project_and_user_with_names_and_owners(
    usage_table, sim_org, sim_client
):
    report = sync_directory(sim_client, DirectoryStore(), NOW)
    directory = DirectoryStore().directory()

    projects = sim_org.projects(include_archived=True)
    assert {p.id: p.name for p in projects} == {p.id: p.name for p in directory.projects.values()}
    archived = [p for p in projects if p.archived_at is not None]
    assert archived
    assert all(directory.projects[p.id].status == "archived" for p in archived)
    assert {u.id: (u.name, u.email) for u in sim_org.users()} == {
        u.id: (u.name, u.email) for u in directory.users.values()
    }
    listed = [key for p in projects for key in sim_org.api_keys(p.id)]
    assert len(listed) == report.keys == len(directory.keys)
    for key in listed:
        stored = directory.keys[key.id]
        assert (stored.name, stored.redacted_value, stored.project_id) == (
            key.name,
            key.redacted_value,
            key.project_id,
        )
        assert stored.owner_id == key.owner.id
        assert stored.owner_name == key.owner.name
    assert {stored.owner_type for stored in directory.keys.values()} == {"user", "service_account"}
    assert report.items_written == len(listed) + len(projects) + len(sim_org.users())


def test_a_second_sync_writes_nothing(usage_table, sim_client):
    store = DirectoryStore()
    assert sync_directory(sim_client, store, NOW).items_written > 0
    table_module.reset_stats()
    assert sync_directory(sim_client, store, NOW + 900).items_written == 0
    assert table_module.STATS.items_written == 0
    assert table_module.STATS.items_deleted == 0


def test_after_a_sync_a_manual_name_and_team_still_win(usage_table, sim_org, sim_client):
    store = DirectoryStore()
    key = sim_org.api_keys(sim_org.projects()[0].id)[0]
    store.put_mapping(KeyMapping(key.id, "Our name", team="Platform", created_at=NOW, updated_at=NOW))
    sync_directory(sim_client, store, NOW)
    identity = store.identities()[key.id]
    assert (identity.name, identity.team, identity.owner) == ("Our name", "Platform", key.owner.name)
    assert store.directory().keys[key.id].name == key.name


def test_the_deleted_simulator_key_is_unmapped_and_recorded_once(usage_table, sim_org, sim_client):
    store = DirectoryStore()
    sync_directory(sim_client, store, NOW)
    identities = store.identities()
    deleted = sim_org.directory.deleted_key_id
    assert resolve(deleted, identities).source == "unmapped"
    seen = [deleted, sim_org.directory.spike_key_id, "unattributed"]
    assert store.record_unmapped(unknown_key_ids(seen, identities), NOW) == [deleted]
    assert store.record_unmapped(unknown_key_ids(seen, identities), NOW + 900) == []


def test_a_sync_clears_unmapped_entries_of_keys_it_now_names(usage_table, sim_org, sim_client):
    store = DirectoryStore()
    named_later = sim_org.directory.spike_key_id
    stranger = _key_id()
    store.record_unmapped([named_later, stranger], NOW)
    report = sync_directory(sim_client, store, NOW + 60)
    assert report.unmapped_cleared == [named_later]
    assert [entry.key_id for entry in store.list_unmapped()] == [stranger]
