"""The directory snapshot: every DIR item in a few compressed items, and the identity generations.

    pk          sk          item
    DIRSNAP     head        dir_gen, map_gen: bumped around every DIR write and after every MAP write
                            snap_gen, parts, digest: the snapshot, true of the DIR items at dir_gen
    DIRSNAP     part#<nnn>  gen, z: one slice (under PART_BYTES) of the snapshot's zlib(JSON) document

Reading the directory as DIR items costs ~270 bytes and a deserialised item per record (2.8 MB,
three paginated Queries and ~1.2 s of local CPU at 10,000 keys); the snapshot holds the same
records as JSON columns (one per record field, repeated texts kept once: `encode`), compressed and
cut into parts, so that the whole directory is one Query of ~380 KB and ~80 ms of decoding there.
chalicelib.store.directory writes it after the items and reads it first, falling back to the items
whenever it cannot be trusted. A process keeps the snapshot it decoded last (by digest), so a warm
container reads only the head.

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
import threading
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, fields
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
FORMAT = 1  # raise when a field changes meaning or type: older snapshots then read as untrusted
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
    """The compressed document of a directory.

    Per kind, one column of values per record field (records sorted by id, so that the same
    directory always gives the same bytes and reads back in the items' order); a text that occurs
    more than once anywhere (a project id, an owner's id, name and e-mail, a role) is kept once in
    `strings` and written as its index in the columns listed `interned` (which hold no other
    integers). At 10,000 keys: 1.3 MB of JSON, ~380 KB compressed (rows of values compress to 607 KB).
    """
    columns: dict[str, dict[str, list[Any]]] = {}
    for part, record_type, _ in _KINDS:
        records = getattr(directory, part)
        ordered = [records[rid] for rid in sorted(records)]
        columns[part] = {f.name: [getattr(record, f.name) for record in ordered] for f in fields(record_type)}
    texts = (v for kind in columns.values() for col in kind.values() for v in col if isinstance(v, str))
    counts = Counter(texts)
    strings = sorted(text for text, count in counts.items() if count > 1)
    index = {text: i for i, text in enumerate(strings)}
    document: dict[str, Any] = {"format": FORMAT, "strings": strings}
    for part, kind in columns.items():
        interned = [name for name, col in kind.items() if all(v is None or isinstance(v, str) for v in col)]
        for name in interned:
            kind[name] = [index.get(v, v) if v is not None else None for v in kind[name]]
        document[part] = {"count": len(next(iter(kind.values()))), "columns": kind, "interned": interned}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)


def _column(stored: Mapping[str, Any], strings: list[str], f: Field[Any]) -> list[Any]:
    """One field's values as `encode` stored them; a field the snapshot lacks (added to the model
    since) takes its default, and one with no default makes the snapshot unreadable (KeyError)."""
    if f.name not in stored["columns"]:
        if f.default is MISSING:
            raise KeyError(f.name)
        return [f.default] * int(stored["count"])
    values: list[Any] = stored["columns"][f.name]
    if f.name in stored["interned"]:
        return [strings[v] if isinstance(v, int) else v for v in values]
    return values


def decode(raw: bytes) -> Directory | None:
    """The directory of a document `encode` wrote, or None when it is not one this code can read
    (another format, or a field the model needs and the snapshot lacks)."""
    try:
        document = json.loads(zlib.decompress(raw))
        if document.get("format") != FORMAT:
            return None
        strings: list[str] = document["strings"]
        directory = Directory()
        for part, record_type, id_field in _KINDS:
            stored = document[part]
            columns = [_column(stored, strings, f) for f in fields(record_type)]
            if any(len(col) != stored["count"] for col in columns):
                return None
            records = [record_type(*row) for row in zip(*columns, strict=True)]
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


class _Decoded:
    """The last snapshot this process decoded, by its digest: a warm API container whose head still
    shows that digest takes it from memory (one GetItem instead of the Query and ~60 ms of decoding
    at 10,000 keys). Content-addressed, so never stale; one entry, so memory stays one directory."""

    def __init__(self) -> None:
        self._entry: tuple[str, Directory] | None = None
        self._lock = threading.Lock()

    def holds(self) -> bool:
        with self._lock:
            return self._entry is not None

    def get(self, digest: str | None) -> Directory | None:
        with self._lock:
            entry = self._entry
        if entry is None or digest is None or entry[0] != digest:
            return None
        # callers may change their directory's dicts; the records are frozen
        found = entry[1]
        return Directory(dict(found.keys), dict(found.projects), dict(found.users))

    def put(self, digest: str, directory: Directory) -> None:
        with self._lock:
            self._entry = (digest, directory)

    def clear(self) -> None:
        with self._lock:
            self._entry = None


_DECODED = _Decoded()


def forget_decoded() -> None:
    """Forget the snapshot decoded last (tests; the bench's reads of a container that cached nothing)."""
    _DECODED.clear()


def read(table: Table) -> Directory | None:
    """The snapshot, or None when there is none or it cannot be trusted: one Query of the head and
    the parts (a few hundred KB at 10,000 keys), or, when this process decoded the snapshot the head
    shows, one GetItem of the head."""
    return read_at(table)[1]


def read_at(table: Table) -> tuple[SnapshotHead, Directory | None]:
    """`read`, with the head as read before anything else (its generations are a token of what was
    read: chalicelib.query.names)."""
    if _DECODED.holds():  # this process decoded one: is it still the one the head shows?
        latest = head(table)
        found = _DECODED.get(latest.digest) if latest.current else None
        if found is not None:
            return latest, found
    return read_with_head(table)


def read_with_head(table: Table, *, consistent: bool = False) -> tuple[SnapshotHead, Directory | None]:
    """The head and the snapshot it describes (None when there is none or it cannot be trusted),
    in one Query; a writer reads them consistently, before anything else (module docstring)."""
    found = SnapshotHead()
    parts: dict[str, Mapping[str, Any]] = {}
    query = query_all(table, KeyConditionExpression=Key("pk").eq(SNAPSHOT_PK), ConsistentRead=consistent)
    for item in query:
        if item.get("sk") == HEAD_SK:
            found = _head(item)
        else:
            parts[str(item.get("sk"))] = item
    if not found.current or found.parts <= 0:
        return found, None
    chunks: list[bytes] = []
    for index in range(found.parts):
        part = parts.get(_part_sk(index))
        if part is None or _int(part, "gen") != found.snap_gen or part.get("z") is None:
            return found, None  # a part missing, or of another generation: a write under way or crashed
        chunks.append(bytes(part["z"]))  # boto3 returns a Binary, which converts to bytes
    raw = b"".join(chunks)
    if digest_of(raw) != found.digest:
        return found, None
    cached = _DECODED.get(found.digest)
    if cached is not None:
        return found, cached
    directory = decode(raw)
    if directory is not None and found.digest is not None:
        _DECODED.put(found.digest, directory)
        directory = _DECODED.get(found.digest)
    return found, directory


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
    _add_one(table, "dir_gen")
    return None


def bump_map(table: Table) -> None:
    """Raise `map_gen` by one after a MAP write (caches of names compare it)."""
    _add_one(table, "map_gen")


def _add_one(table: Table, generation: str) -> None:
    table.update_item(
        Key={"pk": SNAPSHOT_PK, "sk": HEAD_SK},
        UpdateExpression=f"ADD {generation} :one",
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
    "forget_decoded",
    "head",
    "read",
    "read_at",
    "read_with_head",
    "write",
]
