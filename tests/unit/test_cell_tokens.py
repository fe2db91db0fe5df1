"""The cell-token documents' pure parts (chalicelib.store.cell_tokens): which items a day makes, their
shards, expiry and comparison."""

from __future__ import annotations

import pytest

from chalicelib.periods import DAY, HOUR, day_start
from chalicelib.store import cell_tokens

TODAY = "2026-11-20"


def _cells(count: int) -> dict[str, int]:
    return {f"key_{i:05d}#proj_{i % 3}#gpt-4o-2024-08-06": 1_000 + i * 37 for i in range(count)}


def test_a_day_makes_its_document_and_one_per_hour_with_tokens_expiring_with_the_detail() -> None:
    items = cell_tokens.desired_items(
        TODAY, {"a#p#m": 5, "b#p#m": 0}, {"03": {"a#p#m": 5}, "04": {"b#p#m": 0}}, 35
    )

    assert [(item["pk"], item["sk"]) for item in items] == [(f"CT#{TODAY}", "day"), (f"CT#{TODAY}", "03")]
    assert items[0]["expires_at"] == day_start(TODAY) + DAY + 35 * DAY
    assert items[1]["expires_at"] == day_start(TODAY) + 4 * HOUR + 35 * DAY  # as HD's hour 03
    assert cell_tokens._decoded(items) == {"day": {"a#p#m": 5}, "03": {"a#p#m": 5}}


def test_a_day_without_tokens_still_has_its_empty_document() -> None:
    items = cell_tokens.desired_items(TODAY, {}, {}, 35)

    assert [item["sk"] for item in items] == ["day"]
    assert cell_tokens._decoded(items) == {"day": {}}


def test_a_large_document_is_split_into_contiguous_shards_under_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cell_tokens, "SHARD_BYTES", 2_000)
    cells = _cells(2_000)

    items = cell_tokens.desired_items(TODAY, cells, {}, 35)

    assert len(items) > 2
    assert [item["sk"] for item in items] == [f"day#{i:02d}" for i in range(len(items))]
    assert all(len(item["z"]) <= 2_000 for item in items)
    assert cell_tokens._decoded(items) == {"day": cells}


def test_items_compare_by_hash_and_expiry_alone() -> None:
    item = cell_tokens.desired_items(TODAY, {"a#p#m": 5}, {}, 35)[0]
    stamp = {key: item[key] for key in ("pk", "sk", "h", "expires_at")}
    other = cell_tokens.desired_items(TODAY, {"a#p#m": 6}, {}, 35)[0]

    assert cell_tokens.same(stamp, item)
    assert not cell_tokens.same(stamp, other)
    assert not cell_tokens.same({**stamp, "expires_at": 1}, item)
    assert not cell_tokens.same({"pk": item["pk"], "sk": "day", "expires_at": item["expires_at"]}, item)
    assert not cell_tokens.same(None, item)
