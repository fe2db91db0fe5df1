"""The names cache on DynamoDB Local: names trusted a minute, then confirmed by the identity
generations (one GetItem) instead of read again, and read again as soon as another process (another
Lambda container) wrote a mapping or the directory, or after an hour whatever the generations say."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib import aws
from chalicelib.keys.model import DirectoryKey, DirectoryProject, KeyMapping
from chalicelib.query import names as names_module
from chalicelib.query.names import NAMES_CACHE_SECONDS, NAMES_KEEP_SECONDS, NamesCache
from chalicelib.store import table as table_module
from chalicelib.store.directory import DirectoryStore

NOW = 1_767_225_600


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def other_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes as another container makes them: this process's write counter does not see them."""
    monkeypatch.setattr(names_module, "identity_writes", lambda: 0)


def _store_with_a_key() -> tuple[DirectoryStore, str]:
    store = DirectoryStore()
    key_id = "key_" + uuid.uuid4().hex[:16]
    store.replace_directory(
        [DirectoryKey(key_id, "synced", "sk-abc...xyz", "proj_a")],
        [DirectoryProject("proj_a", "Alpha", "active")],
        [],
        now=NOW,
    )
    return store, key_id


def _reads_of(cache: NamesCache, store: DirectoryStore) -> tuple[Any, int]:
    table_module.reset_stats()
    names = cache.get(store)
    return names, table_module.STATS.requests  # Queries only: the generations' GetItem is not counted


def test_unchanged_names_are_confirmed_without_reading_them_again(usage_table, other_process):
    store, key_id = _store_with_a_key()
    clock = Clock()
    cache = NamesCache(clock)
    first, reads = _reads_of(cache, store)
    assert reads == 2
    assert first.key(key_id).name == "synced"

    clock.now += NAMES_CACHE_SECONDS + 1
    again, reads = _reads_of(cache, store)
    assert (again, reads) == (first, 0)
    assert again is first


def test_a_rename_by_another_process_shows_once_the_minute_is_over(usage_table, other_process):
    store, key_id = _store_with_a_key()
    clock = Clock()
    cache = NamesCache(clock)
    cache.get(store)
    store.put_mapping(KeyMapping(key_id, "renamed elsewhere", created_at=NOW, updated_at=NOW))
    assert cache.get(store).key(key_id).name == "synced"  # within the minute, as before
    clock.now += NAMES_CACHE_SECONDS + 1
    names, reads = _reads_of(cache, store)
    assert reads == 1  # MAP again; the unchanged directory is the snapshot this process decoded
    assert names.key(key_id).name == "renamed elsewhere"


def test_a_directory_sync_by_another_process_shows_once_the_minute_is_over(usage_table, other_process):
    store, key_id = _store_with_a_key()
    clock = Clock()
    cache = NamesCache(clock)
    cache.get(store)
    store.replace_directory(
        [DirectoryKey(key_id, "renamed in OpenAI", "sk-abc...xyz", "proj_a")],
        [DirectoryProject("proj_a", "Alpha", "active")],
        [],
        now=NOW + 10,
    )
    clock.now += NAMES_CACHE_SECONDS + 1
    assert cache.get(store).key(key_id).name == "renamed in OpenAI"


def test_names_are_read_again_after_an_hour_even_when_nothing_moved(usage_table, other_process):
    store, key_id = _store_with_a_key()
    clock = Clock()
    cache = NamesCache(clock)
    cache.get(store)
    # a hand edit of an item moves no generation: the hour bounds how long it can go unseen
    aws.dynamodb_table().update_item(
        Key={"pk": "MAP", "sk": key_id},
        UpdateExpression="SET #n = :n, key_id = :k",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": "edited by hand", ":k": key_id},
    )
    for _ in range(int(NAMES_KEEP_SECONDS // NAMES_CACHE_SECONDS) - 1):
        clock.now += NAMES_CACHE_SECONDS
        assert cache.get(store).key(key_id).name == "synced"
    clock.now += 2 * NAMES_CACHE_SECONDS
    assert cache.get(store).key(key_id).name == "edited by hand"


def test_a_table_without_generations_reads_names_again_every_minute(usage_table, other_process):
    table = aws.dynamodb_table()
    key_id = "key_" + uuid.uuid4().hex[:16]
    table.put_item(Item={"pk": "DIR", "sk": f"key#{key_id}", "name": "old code", "project_id": "p"})
    store = DirectoryStore()
    clock = Clock()
    cache = NamesCache(clock)
    cache.get(store)
    table.put_item(Item={"pk": "DIR", "sk": f"key#{key_id}", "name": "old code, renamed", "project_id": "p"})
    clock.now += NAMES_CACHE_SECONDS + 1
    names, reads = _reads_of(cache, store)
    assert reads >= 2
    assert names.key(key_id).name == "old code, renamed"


def _store_with_keys(count: int) -> tuple[DirectoryStore, list[str]]:
    store = DirectoryStore()
    key_ids = sorted("key_" + uuid.uuid4().hex[:16] for _ in range(count))
    store.replace_directory(
        [
            DirectoryKey(key_id, f"synced {i}", "sk-abc...xyz", f"proj_{i % 2}")
            for i, key_id in enumerate(key_ids)
        ],
        [DirectoryProject("proj_0", "Zero", "active"), DirectoryProject("proj_1", "One", "active")],
        [],
        now=NOW,
    )
    store.put_mapping(KeyMapping(key_id=key_ids[1], name="Mapped one", team="research", created_at=NOW))
    return store, key_ids


def test_a_few_keys_names_are_theirs_in_the_whole_names(usage_table: str) -> None:
    store, key_ids = _store_with_keys(6)
    few = frozenset([*key_ids[:3], "key_NotAnywhere00"])
    whole = NamesCache(Clock()).get(store)
    table_module.reset_stats()
    names = NamesCache(Clock()).get(store, few)
    assert table_module.STATS.items_read == 3 + 2 + 1  # their DIR items, their projects, one mapping
    assert set(names.identities) == set(key_ids[:3])
    for key_id in few:
        assert names.key(key_id) == whole.key(key_id)
    assert names.key(key_ids[1]).team == "research"
    assert {p.name for p in names.projects.values()} == {"Zero", "One"}


def test_a_few_keys_names_come_from_the_whole_names_when_those_are_cached(usage_table: str) -> None:
    store, key_ids = _store_with_keys(3)
    cache = NamesCache(Clock())
    whole = cache.get(store)
    assert cache.get(store, frozenset(key_ids[:2])) is whole


def test_a_few_keys_names_show_another_process_edit_once_the_minute_is_over(
    usage_table: str, other_process: None
) -> None:
    store, key_ids = _store_with_keys(3)
    clock = Clock()
    cache = NamesCache(clock)
    few = frozenset(key_ids[:2])
    assert cache.get(store, few).key(key_ids[0]).name == "synced 0"
    store.put_mapping(KeyMapping(key_id=key_ids[0], name="Renamed", created_at=NOW))
    assert cache.get(store, few).key(key_ids[0]).name == "synced 0"  # trusted for the minute
    clock.now += NAMES_CACHE_SECONDS + 1
    assert cache.get(store, few).key(key_ids[0]).name == "Renamed"
