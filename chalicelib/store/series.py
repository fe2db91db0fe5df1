"""Per-key daily series: what a few-key read (`/api/compare`, an `api_key_ids` filter) takes instead
of every key's `AD#key` day items (~28 KB a day at 1,000 keys, ~300 KB at 10,000).

    pk KS#<key_id>   sk <month>-<d>   z: zlib(JSON {day: [shard, h, usage]})

`d` is the day's third of the month (0: days 1-9, 1: 10-19, 2: 20-31): at most 12 days of ~75
bytes compressed, so an item stays under 1 KB and each write costs one write unit (a month item
would grow to ~2.3 KB, three units), while a 90-day read of 20 keys is still 220 items (three
BatchGetItems).

Each day of a key's series is that key's member of one `AD#key` item of the day (`shard`: "" for
the item `<day>`, `nn` for the shard `<day>#<nn>`), with the first 8 bytes of that item's content
hash (`h`, base64 of rollups' CONTENT_HASH: 2^-64 that a rewritten item keeps them). A day is
only ever taken from the series when the day's stamps (`RollupStore.aggregate_stamps`, a few bytes
per item) still show an item with that sk and hash, and no mix of sharded and unsharded items: then
the key's usage that day is exactly what the aggregate holds (shards hold disjoint members). Any
other day (a crashed run, a table written before series, a day rewritten since, a key without usage
that day) is read from the aggregate, so the answer is always the aggregates'.

A day's voucher (`pk SV#key`, `sk <day>`, `items`: {aggregate sk: content hash}) says more: every
member of those `AD#key` items has its entry stored, so a key without a matching entry had no usage
that day. A few-key read takes the stamps of vouched days from their vouchers (one Query of ~300
bytes a day) instead of the items' stamps (a projected Query is billed, and cut at 1 MB, by the
whole items it passes: ~300 KB a day at 10,000 keys), and reads no day whole for a key that was
idle. The writer deletes a day's voucher before it changes that day's `AD#key` items and writes the
new one after the day's entries (`write_series`), only when it knows every member's entry is stored:
it queued them all (a run that trusts no earlier write), or the items it did not rewrite are the
ones the old voucher named. A day without a voucher (today, a crashed run, a table written before
vouchers) is read as above.

Written for closed UTC days only (RollupStore.replace_day with `closed`, flushed once per collected
window by `write_series`): today's aggregates change every run, and rewriting every key's month item
each run would cost more write units than the rest of the collector. Only the keys of `AD#key` items
the run rewrote are queued (every item when the run trusts no earlier write: a backfill, a run after
a failed one), so an incremental run over unchanged closed days reads and writes no series. Writes
are read-modify-write (one item per key and third of a month) and skip an item that already holds
the same entries.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from chalicelib.store.table import batch_get, batch_write, query_all
from chalicelib.usage import Usage, canonical

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PREFIX = "KS#"
VOUCHER_PK = "SV#key"
MAX_READ_ITEMS = 300  # key x part items a series read takes (three BatchGetItems); more: aggregates

Entry = tuple[str, str, dict[str, Any]]  # (shard, content hash as base64, stored usage)
Pending = dict[tuple[str, str], dict[str, Entry]]  # (key, part) -> day -> entry


def part_of(day: str) -> str:
    """The sort key of the item holding `day` (a `YYYY-MM-DD` label) in a key's series."""
    return f"{day[:7]}-{min(int(day[8:10]) // 10, 2)}"


def parts_of(days: Iterable[str]) -> list[str]:
    """The items' sort keys holding `days`."""
    return sorted({part_of(day) for day in days})


HASH_BYTES = 8


def hash_text(raw: bytes) -> str:
    """An aggregate item's content hash as the series keeps it."""
    return base64.b64encode(raw[:HASH_BYTES]).decode()


def shard_of(day: str, sk: str) -> str:
    """How an entry names the aggregate item `sk` of `day`."""
    return sk[len(day) + 1 :] if sk != day else ""


def aggregate_sk(day: str, shard: str) -> str:
    """The sort key of the aggregate item an entry names."""
    return f"{day}#{shard}" if shard else day


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
            pending[(key, part_of(day))][day] = (shard_of(day, sk), stamp, canonical(usage).to_stored())


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
    """Merge `pending` into the stored items (read, then written only when they change);
    returns the items written."""
    if not pending:
        return 0
    keys = [item_key(key, part) for key, part in sorted(pending)]
    stored = {
        (str(item["pk"])[len(PREFIX) :], str(item["sk"])): _decode(item) for item in batch_get(table, keys)
    }
    puts: list[dict[str, Any]] = []
    for (key, part), days in sorted(pending.items()):
        current = stored.get((key, part), {})
        updated = {**current, **{day: _stored_form(entry) for day, entry in days.items()}}
        if updated != current:
            puts.append({**item_key(key, part), "z": _encode(updated)})
    batch_write(table, puts, [])
    pending.clear()
    return len(puts)


def item_key(key: str, part: str) -> dict[str, str]:
    """The table key of one series item."""
    return {"pk": f"{PREFIX}{key}", "sk": part}


def read_series(table: Table, keys: Sequence[str], days: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
    """Per key, its stored entries by day (`[shard, hash, usage]`) for the items holding `days` (one
    BatchGetItem per 100 items)."""
    wanted = [item_key(key, part) for key in keys for part in parts_of(days)]
    found: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for item in batch_get(table, wanted):
        found[str(item["pk"])[len(PREFIX) :]].update(_decode(item))
    return found


Vouchers = dict[str, dict[str, bytes]]  # day -> {aggregate sk: content hash}


def voucher_key(day: str) -> dict[str, str]:
    """The table key of one day's voucher."""
    return {"pk": VOUCHER_PK, "sk": day}


def _hashes(item: Mapping[str, Any]) -> dict[str, bytes]:
    return {str(sk): bytes(raw) for sk, raw in (item.get("items") or {}).items()}


def read_voucher(table: Table, day: str) -> dict[str, bytes] | None:
    """One day's voucher ({aggregate sk: content hash}), or None."""
    found = batch_get(table, [voucher_key(day)])
    return _hashes(found[0]) if found else None


def read_vouchers(table: Table, first: str, last: str) -> Vouchers:
    """The vouchers of the days `first`..`last` (inclusive), one Query."""
    items = query_all(table, KeyConditionExpression=Key("pk").eq(VOUCHER_PK) & Key("sk").between(first, last))
    return {str(item["sk"]): _hashes(item) for item in items}


def write_vouchers(table: Table, vouchers: Vouchers) -> int:
    """Store `vouchers` (after the entries they vouch for); returns items written."""
    puts = [{**voucher_key(day), "items": dict(hashes)} for day, hashes in sorted(vouchers.items())]
    batch_write(table, puts, [])
    vouchers.clear()
    return len(puts)


def usage_of(entry: Sequence[Any]) -> Usage:
    """The usage of a stored entry."""
    return Usage.from_stored(entry[2])


__all__ = [
    "MAX_READ_ITEMS",
    "VOUCHER_PK",
    "Pending",
    "Vouchers",
    "add_day",
    "aggregate_sk",
    "hash_text",
    "item_key",
    "part_of",
    "parts_of",
    "read_series",
    "read_voucher",
    "read_vouchers",
    "usage_of",
    "voucher_key",
    "write_series",
    "write_vouchers",
]
