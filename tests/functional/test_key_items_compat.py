"""Stored key identities stay byte-compatible: MAP, DIR and UNMAPPED items as the code before the
`chalicelib.keys` split wrote them still read back, and writing the same records writes the same items.

The ITEMS below were captured from that code (store/directory.py's hand-written `mapping_item`,
`directory_key_item`, `directory_project_item`, `directory_user_item` and `record_unmapped`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from chalicelib import aws
from chalicelib.keys.model import (
    Budget,
    DirectoryKey,
    DirectoryProject,
    DirectoryUser,
    KeyMapping,
    UnmappedKey,
)
from chalicelib.store import table as table_module
from chalicelib.store.directory import DirectoryStore

SHA = "ab" * 32

FULL_MAPPING: dict[str, Any] = {
    "pk": "MAP",
    "sk": "key_legacy1",
    "key_id": "key_legacy1",
    "name": "Legacy one",
    "owner": "Ada",
    "team": "ml",
    "description": "d",
    "budget": {"period": "monthly", "unit": "usd", "amount": Decimal("12.5")},
    "active": False,
    "api_key_sha256": SHA,
    "api_key_last4": "wxyz",
    "created_at": 100,
    "updated_at": 200,
}
BARE_MAPPING: dict[str, Any] = {
    "pk": "MAP",
    "sk": "key_legacy2",
    "key_id": "key_legacy2",
    "name": "Bare",
    "active": True,
    "created_at": 0,
    "updated_at": 0,
}
DIR_ITEMS: list[dict[str, Any]] = [
    {
        "pk": "DIR",
        "sk": "key#key_legacy3",
        "name": "n",
        "redacted_value": "sk-ab...yz",
        "project_id": "proj_1",
        "owner_type": "service_account",
        "owner_id": "svc_1",
        "owner_name": "bot",
        "created_at": 10,
        "last_used_at": 20,
        "deleted_at": 30,
    },
    {"pk": "DIR", "sk": "key#key_legacy4", "name": "", "redacted_value": "", "project_id": "proj_1"},
    {"pk": "DIR", "sk": "project#proj_1", "name": "P", "status": "archived", "archived_at": 50},
    {"pk": "DIR", "sk": "user#user_1", "name": "U", "email": "u@example.com", "role": "owner"},
    {"pk": "DIR", "sk": "user#user_2", "name": ""},
]
UNMAPPED_ITEM: dict[str, Any] = {"pk": "UNMAPPED", "sk": "key_legacy5", "first_seen": 7, "last_seen": 9}

MAPPINGS = [
    KeyMapping(
        "key_legacy1",
        "Legacy one",
        owner="Ada",
        team="ml",
        description="d",
        budget=Budget("monthly", "usd", Decimal("12.5")),
        active=False,
        api_key_sha256=SHA,
        api_key_last4="wxyz",
        created_at=100,
        updated_at=200,
    ),
    KeyMapping("key_legacy2", "Bare"),
]
KEYS = [
    DirectoryKey(
        "key_legacy3", "n", "sk-ab...yz", "proj_1", "service_account", "svc_1", "bot", None, 10, 20, 30
    ),
    DirectoryKey("key_legacy4", "", "", "proj_1"),
]
PROJECTS = [DirectoryProject("proj_1", "P", "archived", 50)]
USERS = [DirectoryUser("user_1", "U", "u@example.com", "owner"), DirectoryUser("user_2", "")]


def _items(pk: str) -> list[dict[str, Any]]:
    return sorted(
        table_module.query_all(aws.dynamodb_table(), KeyConditionExpression=Key("pk").eq(pk)),
        key=lambda item: str(item["sk"]),
    )


def _put_raw(items: list[dict[str, Any]]) -> None:
    for item in items:
        aws.dynamodb_table().put_item(Item=item)


def test_items_written_before_the_split_read_back_as_the_same_records(usage_table):
    _put_raw([FULL_MAPPING, BARE_MAPPING, *DIR_ITEMS, UNMAPPED_ITEM])
    store = DirectoryStore()

    assert sorted(store.list_mappings(), key=lambda m: m.key_id) == MAPPINGS
    assert store.get_mapping("key_legacy1") == MAPPINGS[0]
    directory = store.directory()
    assert directory.keys == {key.key_id: key for key in KEYS}
    assert directory.projects == {project.id: project for project in PROJECTS}
    assert directory.users == {user.id: user for user in USERS}
    assert store.list_unmapped() == [UnmappedKey("key_legacy5", 7, 9)]


def test_writing_the_same_records_writes_the_same_items(usage_table):
    store = DirectoryStore()
    store.put_mapping(MAPPINGS[0])
    store.put_mappings(MAPPINGS[1:])
    assert store.replace_directory(KEYS, PROJECTS, USERS) == len(DIR_ITEMS)

    assert _items("MAP") == [FULL_MAPPING, BARE_MAPPING]
    assert _items("DIR") == sorted(DIR_ITEMS, key=lambda item: str(item["sk"]))


def test_a_directory_stored_before_the_split_is_not_rewritten_by_the_same_sync(usage_table):
    _put_raw(DIR_ITEMS)
    assert DirectoryStore().replace_directory(KEYS, PROJECTS, USERS) == 0


def test_items_of_the_wrong_types_read_as_unset_as_before(usage_table):
    # what a hand edit could leave: each attribute of the wrong type reads as the field's "unset"
    _put_raw(
        [
            {
                "pk": "MAP",
                "sk": "key_odd1",
                "name": 7,
                "owner": True,
                "budget": {"period": "weekly", "unit": "usd", "amount": Decimal(5)},
                "created_at": "yesterday",
                "updated_at": True,
            },
            {
                "pk": "MAP",
                "sk": "key_odd2",
                "name": "Zero budget",
                "active": "no",
                "budget": {"period": "daily", "unit": "tokens", "amount": Decimal(0)},
            },
            {
                "pk": "DIR",
                "sk": "key#key_odd3",
                "owner_type": "robot",
                "owner_id": 12,
                "created_at": Decimal("1.5e9"),
                "deleted_at": "never",
            },
        ]
    )
    store = DirectoryStore()
    assert sorted(store.list_mappings(), key=lambda m: m.key_id) == [
        KeyMapping("key_odd1", ""),
        KeyMapping("key_odd2", "Zero budget"),  # only a stored False turns a mapping off
    ]
    assert store.directory().keys == {
        "key_odd3": DirectoryKey("key_odd3", "", "", "", created_at=1_500_000_000),
    }
