"""Per-key daily series: what a few-key read (`/api/compare`, an `api_key_ids` filter) takes instead
of every key's `AD#key` day items (~28 KB a day at 1,000 keys, ~300 KB at 10,000).

    pk KS#<key_id>   sk <month>   z: zlib(JSON {day: [sk, h, usage]})

Each day of a key's series is that key's member of one `AD#key` item of the day (`sk`: the day, or a
shard `<day>#<nn>`), with that item's content hash (`h`, base64 of rollups' CONTENT_HASH). A day is
only ever taken from the series when the day's stamps (`RollupStore.aggregate_stamps`, a few bytes
per item) still show an item with that sk and hash, and no mix of sharded and unsharded items: then
the key's usage that day is exactly what the aggregate holds (shards hold disjoint members). Any
other day (a crashed run, a table written before series, a day rewritten since, a key without usage
that day) is read from the aggregate, so the answer is always the aggregates'.

Written for closed UTC days only (RollupStore.replace_day with `closed`, flushed once per collected
window by `write_series`): today's aggregates change every run, and rewriting every key's month item
each run would cost more write units than the rest of the collector. Only the keys of `AD#key` items
the run rewrote are queued (every item when the run trusts no earlier write: a backfill, a run after
a failed one), so an incremental run over unchanged closed days reads and writes no series. Writes
are read-modify-write (one month item per key) and skip a key whose month already holds the same
entries.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.store.table import batch_get, batch_write
from chalicelib.usage import Usage, canonical

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PREFIX = "KS#"
MAX_READ_ITEMS = 200  # keys x months a series read takes (two BatchGetItems); more: read aggregates

Entry = tuple[str, str, dict[str, Any]]  # (aggregate sk, content hash as base64, stored usage)
Pending = dict[tuple[str, str], dict[str, Entry]]  # (key, month) -> day -> entry


def hash_text(raw: bytes) -> str:
    """An aggregate item's content hash as the series keeps it."""
    return base64.b64encode(raw).decode()


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot store {type(value).__name__} in a series")


def add_day(pending: Pending, day: str, items: Iterable[tuple[str, bytes, Mapping[str, Usage]]]) -> None:
    """Add to `pending` each key's entry of one closed day, from that day's `AD#key` items given as
    (sk, content hash, members)."""
    for sk, content_hash, members in items:
        stamp = hash_text(content_hash)
        for key, usage in members.items():
            pending[(key, day[:7])][day] = (sk, stamp, canonical(usage).to_stored())


def _encode(days: Mapping[str, Any]) -> bytes:
    text = json.dumps(dict(sorted(days.items())), separators=(",", ":"), default=_text)
    return zlib.compress(text.encode(), 6)


def _decode(item: Mapping[str, Any]) -> dict[str, Any]:
    packed = item.get("z")
    if packed is None:
        return {}
    document: dict[str, Any] = json.loads(zlib.decompress(bytes(packed)))
    return document


def _stored_form(entry: Entry) -> list[Any]:
    """An entry as JSON gives it back (money as decimal strings), to compare with what is stored."""
    parsed: list[Any] = json.loads(json.dumps(list(entry), default=_text))
    return parsed


def write_series(table: Table, pending: Pending) -> int:
    """Merge `pending` into the stored month items (read, then written only when they change);
    returns the items written."""
    if not pending:
        return 0
    keys = [{"pk": f"{PREFIX}{key}", "sk": month} for key, month in sorted(pending)]
    stored = {
        (str(item["pk"])[len(PREFIX) :], str(item["sk"])): _decode(item) for item in batch_get(table, keys)
    }
    puts: list[dict[str, Any]] = []
    for (key, month), days in sorted(pending.items()):
        current = stored.get((key, month), {})
        updated = {**current, **{day: _stored_form(entry) for day, entry in days.items()}}
        if updated != current:
            puts.append({"pk": f"{PREFIX}{key}", "sk": month, "z": _encode(updated)})
    batch_write(table, puts, [])
    pending.clear()
    return len(puts)


def months_of(first_day: str, last_day: str, days: Iterable[str]) -> list[str]:
    """The months of the days in the inclusive range."""
    return sorted({day[:7] for day in days if first_day <= day <= last_day})


def read_series(table: Table, keys: Sequence[str], months: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """Per key, its stored entries by day (`[sk, hash, usage]`) for the months (one BatchGetItem per
    100 key-months)."""
    wanted = [{"pk": f"{PREFIX}{key}", "sk": month} for key in keys for month in months]
    found: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for item in batch_get(table, wanted):
        found[str(item["pk"])[len(PREFIX) :]].update(_decode(item))
    return found


def usage_of(entry: Sequence[Any]) -> Usage:
    """The usage of a stored entry."""
    return Usage.from_stored(entry[2])


__all__ = ["MAX_READ_ITEMS", "Pending", "add_day", "hash_text", "read_series", "usage_of", "write_series"]
