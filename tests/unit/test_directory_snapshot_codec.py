"""The directory snapshot's document (chalicelib.store.directory_snapshot.encode/decode), pure: the
same directory gives the same bytes and reads back equal, repeated texts are kept once, and a
document from another model (a field added or dropped since) reads by field name or not at all."""

from __future__ import annotations

import json
import zlib
from typing import Any

from chalicelib.keys.model import Directory, DirectoryKey, DirectoryProject, DirectoryUser
from chalicelib.store.directory_snapshot import decode, encode


def _directory() -> Directory:
    keys = [
        DirectoryKey("key_b", "two", "sk-b...b", "proj_1", "user", "user_1", "Ada", "ada@example.com", 1, 2),
        DirectoryKey("key_a", "one", "sk-a...a", "proj_1", "service_account", "svc_1", "bot", None, 3),
        DirectoryKey("key_c", "", "", "proj_2", deleted_at=9),
    ]
    return Directory(
        keys={key.key_id: key for key in keys},
        projects={
            "proj_1": DirectoryProject("proj_1", "P", "active"),
            "proj_2": DirectoryProject("proj_2", "", "archived", 5),
        },
        users={"user_1": DirectoryUser("user_1", "Ada", "ada@example.com", "owner")},
    )


def _document(raw: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(zlib.decompress(raw))
    return document


def _raw(document: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(document).encode())


def test_a_directory_reads_back_equal_in_id_order_from_the_same_bytes():
    directory = _directory()
    raw = encode(directory)
    assert raw == encode(
        Directory(dict(reversed(directory.keys.items())), directory.projects, directory.users)
    )
    back = decode(raw)
    assert back == directory
    assert back is not None
    assert list(back.keys) == ["key_a", "key_b", "key_c"]


def test_texts_that_repeat_are_stored_once_and_numbers_are_never_taken_for_them():
    document = _document(encode(_directory()))
    assert document["strings"].count("proj_1") == 1
    assert "ada@example.com" in document["strings"]  # a user's e-mail and a key owner's
    assert "created_at" not in document["keys"]["interned"]
    assert document["keys"]["columns"]["created_at"] == [3, 1, None]


def test_a_document_without_a_field_added_since_reads_its_default():
    document = _document(encode(_directory()))
    del document["keys"]["columns"]["deleted_at"]
    document["keys"]["columns"]["retired_field"] = ["x", "y", "z"]
    back = decode(_raw(document))
    assert back is not None
    assert [key.deleted_at for key in back.keys.values()] == [None, None, None]
    assert back.keys["key_b"] == _directory().keys["key_b"]


def test_a_document_without_a_field_the_model_needs_or_of_another_format_is_not_read():
    document = _document(encode(_directory()))
    del document["keys"]["columns"]["name"]
    assert decode(_raw(document)) is None
    assert decode(_raw({**_document(encode(_directory())), "format": 99})) is None
    short = _document(encode(_directory()))
    short["keys"]["columns"]["name"].pop()
    assert decode(_raw(short)) is None
    assert decode(b"not zlib") is None
