"""Key identities without a table: validation, raw-key matching, identity resolution, sync timing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.errors import InvalidInput
from chalicelib.keys.model import (
    UNATTRIBUTED_NAME,
    Budget,
    Directory,
    DirectoryKey,
    DirectoryProject,
    DirectoryUser,
    KeyMapping,
)
from chalicelib.keys.resolve import build_identities, match_raw_key, redacted_parts, resolve, unknown_key_ids
from chalicelib.keys.sync import key_from_json, needs_sync
from chalicelib.keys.validate import (
    fingerprint,
    new_mapping,
    parse_budget,
    validate_key_id,
    validate_name,
    validate_raw_key,
)
from chalicelib.store.directory import mapping_from_item, mapping_item

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def _key_id() -> str:
    return "key_" + uuid.uuid4().hex[:16]


def _dir_key(key_id: str, **fields: object) -> DirectoryKey:
    base: dict[str, object] = {
        "key_id": key_id,
        "name": "synced name",
        "redacted_value": "sk-abc...wxyz",
        "project_id": "proj_a",
        "owner_type": "user",
        "owner_id": "user-1",
        "owner_name": "Ada Lovelace",
        "owner_email": "ada@example.com",
    }
    base.update(fields)
    return DirectoryKey(**base)  # type: ignore[arg-type]


# -- validation ------------------------------------------------------------------------------
def test_key_ids_must_be_key_underscore_alphanumerics():
    assert validate_key_id(" key_Ab12 ") == "key_Ab12"
    for bad in ["", "key_", "sk-abc", "key_ab-c", "key_ab c", None, 42]:
        with pytest.raises(InvalidInput) as caught:
            validate_key_id(bad)
        assert caught.value.param == "key_id"


def test_names_are_trimmed_non_empty_single_lines_of_at_most_200_characters():
    assert validate_name("  Ada  ") == "Ada"
    assert validate_name("x" * 200) == "x" * 200
    for bad in ["", "   ", "x" * 201, "two\nlines", None]:
        with pytest.raises(InvalidInput) as caught:
            validate_name(bad)
        assert caught.value.param == "name"


def test_budgets_are_positive_with_known_units_and_periods():
    assert parse_budget("1000", "tokens", "daily") == Budget("daily", "tokens", Decimal(1000))
    assert parse_budget("12.50", "usd", "monthly") == Budget("monthly", "usd", Decimal("12.50"))
    for amount, unit, period, param in [
        ("0", "tokens", "daily", "budget"),
        ("-5", "usd", "daily", "budget"),
        ("NaN", "usd", "daily", "budget"),
        ("Infinity", "usd", "daily", "budget"),
        ("ten", "usd", "daily", "budget"),
        ("1.5", "tokens", "daily", "budget"),
        ("5", "euros", "daily", "budget_unit"),
        ("5", "usd", "weekly", "budget_period"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            parse_budget(amount, unit, period)
        assert caught.value.param == param


def test_new_mapping_validates_every_field_and_stamps_times():
    key_id = _key_id()
    mapping = new_mapping(key_id, " Ada ", NOW, owner=" ", team="Research", description="  ")
    assert mapping == KeyMapping(key_id, "Ada", None, "Research", None, created_at=NOW, updated_at=NOW)
    with pytest.raises(InvalidInput) as caught:
        new_mapping(key_id, "Ada", NOW, team="t" * 201)
    assert caught.value.param == "team"


def test_raw_key_errors_never_repeat_the_key():
    raw = "sk-not a key " + uuid.uuid4().hex
    with pytest.raises(InvalidInput) as caught:
        validate_raw_key(raw)
    assert raw not in str(caught.value)
    with pytest.raises(InvalidInput):
        validate_raw_key("pk-" + uuid.uuid4().hex)


# -- raw keys --------------------------------------------------------------------------------
def test_fingerprint_keeps_only_the_hash_and_last_four():
    digest, last4 = fingerprint("sk-proj-secretvalue1234")
    assert len(digest) == 64
    assert last4 == "1234"


def test_redacted_values_split_on_their_elision():
    assert redacted_parts("sk-abc...wxyz") == ("sk-abc", "wxyz")
    assert redacted_parts("sk-proj-ab…yz") == ("sk-proj-ab", "yz")
    assert redacted_parts("sk-ab***yz") == ("sk-ab", "yz")
    assert redacted_parts("plain") is None


def test_a_raw_key_matches_the_one_key_with_its_prefix_and_suffix():
    raw = "sk-abc" + uuid.uuid4().hex + "wxyz"
    wanted = _dir_key(_key_id(), redacted_value="sk-abc...wxyz")
    others = [
        _dir_key(_key_id(), redacted_value="sk-abd...wxyz"),
        _dir_key(_key_id(), redacted_value="sk-abc...wxyq"),
        _dir_key(_key_id(), redacted_value=""),
    ]
    assert match_raw_key(raw, [*others, wanted]) == wanted


def test_a_raw_key_matching_nothing_or_several_keys_is_refused_without_echoing_it():
    raw = "sk-abc" + uuid.uuid4().hex + "wxyz"
    first, second = _dir_key(_key_id()), _dir_key(_key_id())
    with pytest.raises(InvalidInput) as none:
        match_raw_key(raw, [_dir_key(_key_id(), redacted_value="sk-zzz...0000")])
    assert "directory sync" in none.value.message
    with pytest.raises(InvalidInput) as several:
        match_raw_key(raw, [first, second])
    assert first.key_id in several.value.message
    assert second.key_id in several.value.message
    for error in (none.value, several.value):
        assert raw not in str(error)


def test_a_live_key_wins_over_a_deleted_key_with_the_same_redaction():
    raw = "sk-abc" + uuid.uuid4().hex + "wxyz"
    live = _dir_key(_key_id())
    assert match_raw_key(raw, [_dir_key(_key_id(), deleted_at=NOW), live]) == live


def test_keys_from_openai_take_owner_names_from_the_user_list_and_never_keep_a_whole_value():
    users = {"user-9": DirectoryUser("user-9", "Grace Hopper", "grace@example.com", "owner")}
    key = key_from_json(
        {
            "id": "key_abc",
            "name": "ci",
            "redacted_value": "sk-proj-looks-whole-0000000000abcd",
            "created_at": 1,
            "last_used_at": None,
            "owner": {"type": "user", "user": {"id": "user-9"}},
            "unknown_field": {"ignored": True},
        },
        "proj_a",
        users,
    )
    assert (key.owner_type, key.owner_name, key.owner_email) == ("user", "Grace Hopper", "grace@example.com")
    assert key.redacted_value == "sk-pro...abcd"
    robot = key_from_json(
        {
            "id": "key_def",
            "name": "bot",
            "redacted_value": "sk-svc...1234",
            "owner": {"type": "service_account", "service_account": {"id": "svc_1", "name": "deployer"}},
        },
        "proj_b",
        users,
    )
    assert (robot.owner_type, robot.owner_id, robot.owner_name) == ("service_account", "svc_1", "deployer")


# -- identities ------------------------------------------------------------------------------
def test_a_manual_name_owner_and_team_win_over_the_directory():
    key_id = _key_id()
    directory = Directory(
        keys={key_id: _dir_key(key_id)}, projects={"proj_a": DirectoryProject("proj_a", "Alpha", "active")}
    )
    mapping = KeyMapping(
        key_id, "Manual", owner="Bob", team="Platform", budget=Budget("daily", "usd", Decimal(5))
    )
    identity = build_identities([mapping], directory)[key_id]
    assert (identity.name, identity.owner, identity.team, identity.source) == (
        "Manual",
        "Bob",
        "Platform",
        "mapping",
    )
    assert (identity.project_id, identity.project_name, identity.budget) == (
        "proj_a",
        "Alpha",
        mapping.budget,
    )


def test_the_directory_owner_is_the_default_owner_of_a_mapping():
    key_id = _key_id()
    identity = build_identities([KeyMapping(key_id, "Manual")], Directory(keys={key_id: _dir_key(key_id)}))[
        key_id
    ]
    assert identity.owner == "Ada Lovelace"
    no_name = _dir_key(key_id, owner_name=None)
    assert build_identities([], Directory(keys={key_id: no_name}))[key_id].owner == "ada@example.com"


def test_a_directory_only_key_uses_its_synced_name_and_is_inactive_once_deleted():
    key_id, gone = _key_id(), _key_id()
    directory = Directory(keys={key_id: _dir_key(key_id), gone: _dir_key(gone, deleted_at=NOW)})
    identities = build_identities([], directory)
    assert identities[key_id].name == "synced name"
    assert (identities[key_id].source, identities[key_id].mapped, identities[key_id].active) == (
        "directory",
        True,
        True,
    )
    assert identities[gone].active is False


def test_unknown_ids_resolve_to_themselves_and_null_ids_to_unattributed():
    key_id = _key_id()
    unknown = resolve(key_id, {})
    assert (unknown.name, unknown.source, unknown.mapped) == (key_id, "unmapped", False)
    for member in (UNATTRIBUTED, None):
        assert resolve(member, {}).name == UNATTRIBUTED_NAME
    assert unknown_key_ids([key_id, key_id, None, UNATTRIBUTED], {}) == [key_id]


def test_mapping_items_round_trip_and_never_hold_nulls():
    mapping = KeyMapping(
        _key_id(),
        "Ada",
        team="T",
        budget=Budget("monthly", "tokens", Decimal(1000)),
        active=False,
        api_key_sha256="0" * 64,
        api_key_last4="abcd",
        created_at=NOW,
        updated_at=NOW + 1,
    )
    item = mapping_item(mapping)
    assert None not in item.values()
    assert mapping_from_item(item) == mapping


# -- when to sync ----------------------------------------------------------------------------
def test_sync_when_never_synced_or_stale():
    assert needs_sync(None, NOW, [], {})
    assert needs_sync(NOW - 6 * 3600, NOW, [], {})
    assert not needs_sync(NOW - 5 * 3600, NOW, [], {})
    assert needs_sync(NOW - 2 * 3600, NOW, [], {}, max_age_hours=1)


def test_sync_when_usage_shows_an_unknown_key_but_not_on_every_run():
    known = _key_id()
    identities = build_identities([KeyMapping(known, "Known")], Directory())
    assert not needs_sync(NOW - 2 * 3600, NOW, [known, UNATTRIBUTED, None], identities)
    assert needs_sync(NOW - 2 * 3600, NOW, [known, _key_id()], identities)
    assert not needs_sync(NOW - 600, NOW, [_key_id()], identities)
