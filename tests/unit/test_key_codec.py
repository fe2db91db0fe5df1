"""The key-identity codec is derived from the records' fields: a field added to a record is stored
and read back without another line in the store, and a field of a type it cannot store is refused."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pytest

from chalicelib.keys.model import KeyMapping
from chalicelib.store import directory as directory_store


@dataclass(frozen=True)
class _Widened:
    """KeyMapping with one more field, as a later version might add it."""

    key_id: str
    name: str
    cost_center: str | None = None
    seats: int = 0


@dataclass(frozen=True)
class _Unstorable:
    key_id: str
    tags: list[str]


def test_a_new_field_round_trips_through_a_codec_built_from_the_fields():
    codec = directory_store._Codec(_Widened, "MAP", id_attribute=True)
    record = _Widened("key_new1", "New", cost_center="cc-9", seats=3)
    item = codec.item(record)
    assert item == {
        "pk": "MAP",
        "sk": "key_new1",
        "key_id": "key_new1",
        "name": "New",
        "cost_center": "cc-9",
        "seats": 3,
    }
    assert codec.record(item) == record
    assert codec.record({"pk": "MAP", "sk": "key_new1", "name": "New"}) == _Widened("key_new1", "New")


def test_every_mapping_field_is_an_attribute_of_its_item():
    mapping = KeyMapping(
        "key_all1", "All", owner="o", team="t", description="d", api_key_sha256="s", api_key_last4="l"
    )
    item = directory_store.mapping_item(mapping)
    assert {f.name for f in fields(KeyMapping)} - {"budget"} <= set(item)


def test_a_field_the_codec_cannot_store_is_refused():
    codec = directory_store._Codec(_Unstorable, "MAP")
    with pytest.raises(TypeError, match="no codec"):
        codec.record({"pk": "MAP", "sk": "key_x"})
