"""chalicelib.hygiene's rules on a hand-built directory: each finding at its threshold, and none before."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.hygiene import Spend, Thresholds, counts, find
from chalicelib.keys.model import Directory, DirectoryKey, DirectoryProject, DirectoryUser, KeyMapping
from chalicelib.periods import DAY

NOW = 1_767_225_600
LIMITS = Thresholds(unused_days=30, rotation_days=90)


def _directory(*keys: DirectoryKey) -> Directory:
    return Directory(
        keys={key.key_id: key for key in keys},
        projects={
            "proj_live": DirectoryProject("proj_live", "Live", "active"),
            "proj_old": DirectoryProject("proj_old", "Old", "archived", archived_at=NOW - 5 * DAY),
        },
        users={"user-here": DirectoryUser("user-here", "Here", "here@example.com")},
    )


def _key(key_id: str, **fields: object) -> DirectoryKey:
    base: dict[str, object] = {
        "name": key_id,
        "redacted_value": "sk-...abcd",
        "project_id": "proj_live",
        "owner_type": "user",
        "owner_id": "user-here",
        "owner_name": "Here",
        "created_at": NOW - 10 * DAY,
        "last_used_at": NOW - DAY,
    }
    base.update(fields)
    return DirectoryKey(key_id=key_id, **base)  # type: ignore[arg-type]


def _codes(
    directory: Directory, mappings: list[KeyMapping] | None = None, **kwargs: object
) -> dict[str, tuple[str, ...]]:
    found = find(directory, mappings or [], {}, NOW, LIMITS, **kwargs)  # type: ignore[arg-type]
    return {item.key_id: item.findings for item in found}


def test_a_healthy_key_has_no_finding() -> None:
    assert _codes(_directory(_key("key_ok"))) == {}


def test_unused_starts_at_the_threshold_and_a_never_used_key_counts_from_its_creation() -> None:
    directory = _directory(
        _key("key_edge", last_used_at=NOW - 30 * DAY),
        _key("key_young", last_used_at=NOW - 30 * DAY + 1),
        _key("key_never", last_used_at=None, created_at=NOW - 31 * DAY),
        _key("key_new", last_used_at=None, created_at=NOW - 29 * DAY),
    )
    assert _codes(directory) == {"key_edge": ("unused",), "key_never": ("unused",)}


def test_rotation_departed_owner_gone_service_account_and_unowned() -> None:
    directory = _directory(
        _key("key_old", created_at=NOW - 90 * DAY),
        _key("key_left", owner_id="user-gone"),
        _key("key_svc", owner_type="service_account", owner_id="svc_1", project_id="proj_old"),
        _key("key_svc_ok", owner_type="service_account", owner_id="svc_2"),
        _key("key_none", owner_type=None, owner_id=None, owner_name=None),
        _key("key_dead", owner_id="user-gone", deleted_at=NOW - DAY),
    )
    assert _codes(directory) == {
        "key_old": ("rotation_due",),
        "key_left": ("owner_departed",),
        "key_svc": ("service_account_gone",),
        "key_none": ("unowned",),
    }


def test_a_mapping_owns_a_key_and_an_id_named_nowhere_is_unowned() -> None:
    directory = _directory(_key("key_none", owner_type=None, owner_id=None, owner_name=None))
    mapped = [KeyMapping(key_id="key_none", name="Named", owner="Ops")]
    assert _codes(directory, mapped, unnamed_key_ids=["key_stray", "unattributed", "key_none"]) == {
        "key_stray": ("unowned",)
    }


def test_findings_come_biggest_spender_first_with_their_spend_and_are_counted() -> None:
    directory = _directory(_key("key_a", owner_id="user-gone"), _key("key_b", created_at=NOW - 100 * DAY))
    spend = {"key_b": Spend(Decimal("12.50"), 1000), "key_a": Spend(Decimal("3"), 10)}
    found = find(directory, [], spend, NOW, LIMITS)
    assert [(item.key_id, item.spend) for item in found] == [
        ("key_b", Spend(Decimal("12.50"), 1000)),
        ("key_a", Spend(Decimal("3"), 10)),
    ]
    assert found[0].as_json()["spend_30d"] == {"cost_usd": "12.50", "total_tokens": 1000}
    assert counts(found) == {
        "unused": 0,
        "rotation_due": 1,
        "owner_departed": 1,
        "service_account_gone": 0,
        "unowned": 0,
    }
