"""The directory's snapshot on DynamoDB Local: written by a sync after the DIR items, read back equal to
them in one Query, never trusted when it may disagree with them (no snapshot, a crash between the
items and the snapshot, a part missing or of another generation, two writers interleaved)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib import aws
from chalicelib.keys.model import Directory, DirectoryKey, DirectoryProject, DirectoryUser, KeyMapping
from chalicelib.keys.sync import sync_directory
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.store import directory_snapshot
from chalicelib.store import table as table_module
from chalicelib.store.directory import DirectoryStore
from simulator.pytest_plugin import SIM_ADMIN_KEY
from tests.functional.test_directory import _dir_key

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
PROJECTS = [
    DirectoryProject("proj_a", "Alpha", "active"),
    DirectoryProject("proj_b", "Beta", "archived", NOW),
]
USERS = [
    DirectoryUser("user-1", "Ada Lovelace", "ada@example.com", "owner"),
    DirectoryUser("user-2", "Bob"),
]


def _keys(count: int) -> list[DirectoryKey]:
    return [_dir_key("key_" + uuid.uuid4().hex[:16]) for _ in range(count)]


def _snapshot_items() -> dict[str, dict[str, Any]]:
    items = table_module.query_all(
        aws.dynamodb_table(), KeyConditionExpression=Key("pk").eq(directory_snapshot.SNAPSHOT_PK)
    )
    return {str(item["sk"]): item for item in items}


def _from_items() -> Directory:
    """The directory as the DIR items say, whatever the snapshot holds: read with it deleted."""
    table = aws.dynamodb_table()
    saved = list(_snapshot_items().values())
    for item in saved:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    try:
        return DirectoryStore().directory()
    finally:
        for item in saved:
            table.put_item(Item=item)


def _requests_to_read(*, cached: bool = False) -> tuple[Directory, dict[str, int]]:
    """The directory and the DynamoDB requests reading it took, by operation (a container that has
    decoded nothing yet unless `cached`)."""
    if not cached:
        directory_snapshot.forget_decoded()
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = aws.dynamodb_table().meta.client.meta.events
    events.register("before-call.dynamodb", count)
    try:
        directory = DirectoryStore().directory()
    finally:
        events.unregister("before-call.dynamodb", count)
    return directory, dict(calls)


def _read_uncached(table: Any) -> Directory | None:
    """The snapshot as a container that decoded none reads it: the head and every part."""
    directory_snapshot.forget_decoded()
    return directory_snapshot.read(table)


@pytest.fixture
def sim_client(sim_server) -> OpenAIAdminClient:
    return OpenAIAdminClient(sim_server.base_url, SIM_ADMIN_KEY, sleep=lambda _: None)


def test_a_sync_writes_a_snapshot_that_reads_back_equal_to_the_items_in_one_query(
    usage_table, sim_org, sim_client
):
    report = sync_directory(sim_client, DirectoryStore(), NOW)

    snapshot = directory_snapshot.read(aws.dynamodb_table())
    assert snapshot is not None
    assert len(snapshot.keys) == report.keys > 0
    assert len(snapshot.projects) == report.projects
    assert len(snapshot.users) == report.users
    directory, requests = _requests_to_read()
    assert requests == {"Query": 1}
    assert directory == snapshot == _from_items()
    again, requests = _requests_to_read(cached=True)  # a warm container: the head says it is the same
    assert requests == {"GetItem": 1}
    assert again == directory
    assert report.items_written == report.keys + report.projects + report.users  # the snapshot is not counted


def test_a_table_written_before_the_snapshot_reads_the_items_until_the_next_sync_writes_one(usage_table):
    keys = _keys(3)
    table = aws.dynamodb_table()
    old_key = {"pk": "DIR", "sk": f"key#{keys[0].key_id}", "name": "old code", "redacted_value": ""}
    for item in (
        {**old_key, "project_id": "p"},
        {"pk": "DIR", "sk": "project#p", "name": "P", "status": "active"},
    ):
        table.put_item(Item=item)
    assert directory_snapshot.read(table) is None
    directory, requests = _requests_to_read()
    assert requests == {"Query": 2}  # the empty snapshot partition, then the items
    assert directory.keys[keys[0].key_id].name == "old code"
    assert DirectoryStore().generations() is None

    store = DirectoryStore()
    store.replace_directory(
        [DirectoryKey(keys[0].key_id, "old code", "", "p")], [DirectoryProject("p", "P", "active")], []
    )
    assert directory_snapshot.read(table) == _from_items() == directory


@pytest.mark.parametrize("crash_at", ["amid the items", "after the items"])
def test_a_sync_that_crashed_before_its_snapshot_reads_the_items_until_a_sync_completes(
    usage_table, monkeypatch, crash_at
):
    store = DirectoryStore()
    keys = _keys(4)
    store.replace_directory(keys, PROJECTS, USERS, now=NOW)
    assert directory_snapshot.read(aws.dynamodb_table()) is not None
    renamed = [_dir_key(key.key_id, name=f"renamed {key.key_id}") for key in keys]

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("the Lambda timed out")

    if crash_at == "after the items":
        monkeypatch.setattr(directory_snapshot, "write", crash)
    else:
        real_batch_write = table_module.batch_write

        def half_then_crash(table: Any, puts: Any, deletes: Any) -> None:
            real_batch_write(table, puts[:2], [])
            crash()

        monkeypatch.setattr("chalicelib.store.directory.batch_write", half_then_crash)
    with pytest.raises(RuntimeError):
        store.replace_directory(renamed, PROJECTS, USERS, now=NOW + 10)
    monkeypatch.undo()

    assert directory_snapshot.read(aws.dynamodb_table()) is None
    directory = store.directory()
    assert directory == _from_items()
    assert directory.keys[keys[0].key_id].name == f"renamed {keys[0].key_id}"  # the item written first
    assert store.replace_directory(renamed, PROJECTS, USERS, now=NOW + 20) == (
        2 if crash_at == "amid the items" else 0
    )
    assert directory_snapshot.read(aws.dynamodb_table()) == _from_items()
    assert {key.name for key in store.directory().keys.values()} == {key.name for key in renamed}


def test_a_large_snapshot_is_split_into_parts_read_whole_and_shrinks_without_leftovers(
    usage_table, monkeypatch
):
    monkeypatch.setattr(directory_snapshot, "PART_BYTES", 200)
    store = DirectoryStore()
    keys = _keys(60)
    store.replace_directory(keys, PROJECTS, USERS, now=NOW)
    parts = [sk for sk in _snapshot_items() if sk != "head"]
    assert len(parts) > 3
    assert all(len(bytes(item["z"])) <= 200 for sk, item in _snapshot_items().items() if sk != "head")
    directory, requests = _requests_to_read()
    assert requests == {"Query": 1}
    assert directory == _from_items()
    assert set(directory.keys) == {key.key_id for key in keys}

    store.replace_directory(keys[:5], PROJECTS[:1], USERS, now=None)  # the other 55 deleted
    remaining = _snapshot_items()
    assert len(remaining) - 1 == int(remaining["head"]["parts"]) < len(parts)
    assert set(store.directory().keys) == {key.key_id for key in keys[:5]}
    assert store.directory() == _from_items()


def test_a_snapshot_with_a_part_missing_of_another_generation_or_altered_is_not_trusted(
    usage_table, monkeypatch
):
    monkeypatch.setattr(directory_snapshot, "PART_BYTES", 200)
    store = DirectoryStore()
    store.replace_directory(_keys(30), PROJECTS, USERS, now=NOW)
    table = aws.dynamodb_table()
    items = _snapshot_items()
    part = dict(items["part#001"])
    assert _read_uncached(table) is not None

    table.delete_item(Key={"pk": part["pk"], "sk": part["sk"]})
    assert _read_uncached(table) is None
    table.put_item(Item={**part, "gen": int(part["gen"]) + 1})
    assert _read_uncached(table) is None
    table.put_item(Item={**part, "z": bytes(reversed(bytes(part["z"])))})
    assert _read_uncached(table) is None
    assert store.directory() == _from_items()
    table.put_item(Item=part)
    assert _read_uncached(table) == _from_items()


def test_a_writer_interleaved_with_another_leaves_no_snapshot_that_disagrees_with_the_items(
    usage_table, monkeypatch
):
    store = DirectoryStore()
    keys = _keys(3)
    store.replace_directory(keys, PROJECTS, USERS, now=NOW)
    real_bump = directory_snapshot.bump_dir
    interleaved = []

    def other_sync_first(table: Any, expected: int | None) -> int | None:
        if not interleaved:  # a second writer runs whole between this one's read and its writes
            interleaved.append(True)
            DirectoryStore().replace_directory(
                [_dir_key(keys[0].key_id, name="from the other")], PROJECTS, USERS
            )
        return real_bump(table, expected)

    monkeypatch.setattr(directory_snapshot, "bump_dir", other_sync_first)
    store.replace_directory([*keys, *_keys(1)], PROJECTS, USERS, now=NOW + 10)
    monkeypatch.undo()

    assert interleaved
    assert directory_snapshot.read(aws.dynamodb_table()) is None  # its reading of the items was stale
    assert store.directory() == _from_items()
    store.replace_directory([*keys, *_keys(1)], PROJECTS, USERS, now=NOW + 20)  # the next sync repairs it
    assert directory_snapshot.read(aws.dynamodb_table()) == _from_items()


def test_generations_move_with_every_write_and_only_then(usage_table):
    store = DirectoryStore()
    assert store.generations() is None
    key_id = "key_" + uuid.uuid4().hex[:16]
    store.put_mapping(KeyMapping(key_id, "one", created_at=NOW, updated_at=NOW))
    assert store.generations() == (0, 1)
    store.put_mappings([KeyMapping(key_id, "two", created_at=NOW, updated_at=NOW + 1)])
    assert store.generations() == (0, 2)
    assert store.delete_mapping("key_never_mapped") is False
    assert store.generations() == (0, 2)
    assert store.delete_mapping(key_id) is True
    assert store.generations() == (0, 3)
    keys = _keys(2)
    store.replace_directory(keys, PROJECTS, USERS, now=NOW)
    dir_gen, map_gen = store.generations() or (0, 0)
    assert dir_gen > 0
    assert map_gen == 3
    store.replace_directory(keys, PROJECTS, USERS, now=NOW + 10)  # nothing changed
    assert store.generations() == (dir_gen, 3)
    store.replace_directory(keys[:1], PROJECTS, USERS, now=NOW + 20)  # a tombstone
    assert store.generations() not in {None, (dir_gen, 3)}


def test_a_sync_after_a_trusted_snapshot_reads_it_instead_of_every_item(usage_table, sim_client):
    store = DirectoryStore()
    first = sync_directory(sim_client, store, NOW)
    table_module.reset_stats()
    again = sync_directory(sim_client, store, NOW + 900)
    assert again.items_written == 0
    assert table_module.STATS.items_read <= 2 < first.items_written  # the head and one part
    assert directory_snapshot.read(aws.dynamodb_table()) == _from_items()
