"""The directory snapshot: every DIR item in a few compressed items, and the identity generations.

    pk          sk          item
    DIRSNAP     head        dir_gen, map_gen: bumped around every DIR write and after every MAP write
                            snap_gen, parts, digest: the snapshot, true of the DIR items at dir_gen
    DIRSNAP     part#<nnn>  gen, z: one slice (under PART_BYTES) of the snapshot's zlib(JSON) document

Reading the directory as DIR items costs ~270 bytes and a deserialised item per record (2.7 MB and
several paginated Query requests at 10,000 keys); the snapshot holds the same records as JSON rows
(one row per record, the field names once per kind), compressed and cut into parts, so that the
whole directory is one Query of a few hundred KB. chalicelib.store.directory writes it after the
items and reads it first, falling back to the items whenever it cannot be trusted.

When it is trusted: the writer of DIR items raises `dir_gen` before its item writes and again
after them, each time only from the generation it read before reading the items (a conditional
update); when both hold, no other write interleaved, and it writes the parts tagged with that
generation, then the head (`snap_gen = dir_gen`, on condition that `dir_gen` has not moved). A
reader takes the snapshot only when `snap_gen == dir_gen`, every part up to `parts` carries
`snap_gen`, and the parts' bytes match `digest`. So a sync that crashes between its items and its
snapshot, two syncs racing, or an eventually consistent read that sees a new head with old parts all
read the items instead, as before; the next sync writes a true snapshot again. A table written
before the snapshot has no head and reads the items.

`map_gen` has nothing to do with the snapshot: together with `dir_gen` it tells a cache of names
built from MAP and DIR (chalicelib.query.names) that neither changed, in one small GetItem.

A hand edit of DIR items (not through chalicelib.store.directory) leaves `dir_gen` as it was: delete
the head afterwards (or run a sync) so that readers see the edit.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.keys.model import Directory, DirectoryKey, DirectoryProject, DirectoryUser
from chalicelib.store.table import batch_write, is_condition_failure, query_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SNAPSHOT_PK = "DIRSNAP"
HEAD_SK = "head"
PART_PREFIX = "part#"
PART_BYTES = 64_000  # like chalicelib.store.rollups.SHARD_BYTES: items stay well under 100 KB
FORMAT = 1
_NAMES = {"#parts": "parts", "#digest": "digest"}  # placeholders: never trip over a reserved word

# which Directory field holds each kind of record, and the field that is its id
_KINDS: tuple[tuple[str, type[Any], str], ...] = (
    ("keys", DirectoryKey, "key_id"),
    ("projects", DirectoryProject, "id"),
    ("users", DirectoryUser, "id"),
)


@dataclass(frozen=True)
class SnapshotHead:
    """The head item as stored (zeros and None before anything wrote it)."""

    dir_gen: int = 0
    map_gen: int = 0
    snap_gen: int | None = None
    parts: int = 0
    digest: str | None = None

    @property
    def current(self) -> bool:
        """True when the head describes a snapshot of the DIR items as they are."""
        return self.snap_gen is not None and self.snap_gen == self.dir_gen and self.digest is not None


def _int(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    return None if value is None or isinstance(value, bool) else int(value)


def _head(item: Mapping[str, Any] | None) -> SnapshotHead:
    if not item:
        return SnapshotHead()
    digest = item.get("digest")
    return SnapshotHead(
        dir_gen=_int(item, "dir_gen") or 0,
        map_gen=_int(item, "map_gen") or 0,
        snap_gen=_int(item, "snap_gen"),
        parts=_int(item, "parts") or 0,
        digest=digest if isinstance(digest, str) else None,
    )


# -- the document ----------------------------------------------------------------------------
def encode(directory: Directory) -> bytes:
    """The compressed document of a directory: per kind, its field names and one row per record
    (sorted by id, so that the same directory always gives the same bytes)."""
    document: dict[str, Any] = {"format": FORMAT}
    for part, record_type, _ in _KINDS:
        names = [f.name for f in fields(record_type)]
        records = getattr(directory, part)
        rows = [[getattr(records[rid], name) for name in names] for rid in sorted(records)]
        document[part] = {"fields": names, "rows": rows}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)


def decode(raw: bytes) -> Directory | None:
    """The directory of a document `encode` wrote, or None when it is not one this code can read (a
    record field it does not know, or one it needs missing, as after a change to chalicelib.keys.model)."""
    try:
        document = json.loads(zlib.decompress(raw))
        if document.get("format") != FORMAT:
            return None
        directory = Directory()
        for part, record_type, id_field in _KINDS:
            names = [f.name for f in fields(record_type)]
            stored = document[part]
            rows = stored["rows"]
            if stored["fields"] == names:
                records = [record_type(*row) for row in rows]
            else:  # fields added or removed since the snapshot: the record by name, defaults for the rest
                known = [(i, name) for i, name in enumerate(stored["fields"]) if name in names]
                records = [record_type(**{name: row[i] for i, name in known}) for row in rows]
            getattr(directory, part).update((getattr(record, id_field), record) for record in records)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, zlib.error):
        return None
    return directory


def digest_of(raw: bytes) -> str:
    """The digest the head keeps of a snapshot's bytes."""
    return hashlib.sha256(raw).hexdigest()


def _part_sk(index: int) -> str:
    return f"{PART_PREFIX}{index:03d}"


# -- reads -----------------------------------------------------------------------------------
def head(table: Table, *, consistent: bool = False) -> SnapshotHead:
    """The head item (one GetItem)."""
    item = table.get_item(
        Key={"pk": SNAPSHOT_PK, "sk": HEAD_SK},
        ConsistentRead=consistent,
        ProjectionExpression="dir_gen, map_gen, snap_gen, #parts, #digest",
        ExpressionAttributeNames=_NAMES,
    ).get("Item")
    return _head(item)


def read(table: Table) -> Directory | None:
    """The snapshot, or None when there is none or it cannot be trusted (one Query: the head and
    the parts, a few hundred KB at 10,000 keys)."""
    found: SnapshotHead | None = None
    parts: dict[str, Mapping[str, Any]] = {}
    for item in query_all(table, KeyConditionExpression=Key("pk").eq(SNAPSHOT_PK)):
        if item.get("sk") == HEAD_SK:
            found = _head(item)
        else:
            parts[str(item.get("sk"))] = item
    if found is None or not found.current or found.parts <= 0:
        return None
    chunks: list[bytes] = []
    for index in range(found.parts):
        part = parts.get(_part_sk(index))
        if part is None or _int(part, "gen") != found.snap_gen or part.get("z") is None:
            return None  # a part missing, or of another generation: a write under way or crashed
        chunks.append(bytes(part["z"]))  # boto3 returns a Binary, which converts to bytes
    raw = b"".join(chunks)
    if digest_of(raw) != found.digest:
        return None
    return decode(raw)


# -- writes ----------------------------------------------------------------------------------
def bump_dir(table: Table, expected: int | None) -> int | None:
    """Raise `dir_gen` by one before or after DIR item writes; returns the new generation when it
    was `expected` (no other writer moved it since), else None (and raises it anyway, so that any
    snapshot written meanwhile stops being trusted)."""
    if expected is not None:
        condition = "attribute_not_exists(dir_gen)" if expected == 0 else "dir_gen = :expected"
        values: dict[str, Any] = {":next": expected + 1}
        if expected:
            values[":expected"] = expected
        try:
            table.update_item(
                Key={"pk": SNAPSHOT_PK, "sk": HEAD_SK},
                UpdateExpression="SET dir_gen = :next",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
            return expected + 1
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
    table.update_item(
        Key={"pk": SNAPSHOT_PK, "sk": HEAD_SK},
        UpdateExpression="ADD dir_gen :one",
        ExpressionAttributeValues={":one": 1},
    )
    return None


def bump_map(table: Table) -> None:
    """Raise `map_gen` by one after a MAP write (caches of names compare it)."""
    table.update_item(
        Key={"pk": SNAPSHOT_PK, "sk": HEAD_SK},
        UpdateExpression="ADD map_gen :one",
        ExpressionAttributeValues={":one": 1},
    )


def write(table: Table, raw: bytes, generation: int, previous: SnapshotHead) -> bool:
    """Write a snapshot (`encode`'s bytes) as true at `generation`: the parts, then the head on
    condition that `dir_gen` is still `generation`; parts the previous snapshot had beyond the new
    ones are deleted after. True when the head was written."""
    chunks = [raw[offset : offset + PART_BYTES] for offset in range(0, len(raw), PART_BYTES)]
    puts = [
        {"pk": SNAPSHOT_PK, "sk": _part_sk(index), "gen": generation, "z": chunk}
        for index, chunk in enumerate(chunks)
    ]
    batch_write(table, puts, [])
    condition = "attribute_not_exists(dir_gen)" if generation == 0 else "dir_gen = :gen"
    try:
        table.update_item(
            Key={"pk": SNAPSHOT_PK, "sk": HEAD_SK},
            UpdateExpression="SET snap_gen = :gen, #parts = :parts, #digest = :digest",
            ConditionExpression=condition,
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={":gen": generation, ":parts": len(chunks), ":digest": digest_of(raw)},
        )
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    stale = [{"pk": SNAPSHOT_PK, "sk": _part_sk(index)} for index in range(len(chunks), previous.parts)]
    if stale:
        batch_write(table, [], stale)
    return True


__all__ = [
    "PART_BYTES",
    "SNAPSHOT_PK",
    "SnapshotHead",
    "bump_dir",
    "bump_map",
    "decode",
    "digest_of",
    "encode",
    "head",
    "read",
    "write",
]
