"""Cell-token documents: one UTC day's tokens (input + output) per key x project x model cell, for the day
and for each hour, compressed, so that the pools (chalicelib.pools) read a day's contributors in one
Query instead of its daily and hourly detail (at 10,000 keys ~17,000 items, 2.3 MB).

Items (`z`: zlib(JSON {cell: tokens}), cells as the detail's `<key>#<project>#<model>`, only cells
with tokens; `h`: blake2b-128 of `z`; shards `#<nn>` from 00 as the aggregates', each under
`SHARD_BYTES`):

    pk CT#<day>   sk day     the day's tokens per cell            expires `retention` days after the day
    pk CT#<day>   sk <hh>    the hour's tokens per cell           expires as the hour's detail

chalicelib.store.rollups writes them with the day's detail (`RollupStore.replace_day`, when the hourly
detail is kept) and compares them by `h` alone. A day written before these items has none: readers
get None and read the detail. Hours sort before `day`, so one Query of the partition reads them all.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from chalicelib.periods import DAY, HOUR, day_start
from chalicelib.store.table import query_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PREFIX = "CT#"
DAY_DOC = "day"
HASH = "h"
SHARD_BYTES = 64_000  # as the aggregates' (chalicelib.store.rollups): items well under 100 KB

Item = dict[str, Any]
Tokens = dict[str, int]


def is_cell_tokens(pk: str) -> bool:
    """Whether an item key's partition is a cell-token partition."""
    return pk.startswith(PREFIX)


def _encode(tokens: Mapping[str, int]) -> bytes:
    text = json.dumps(dict(sorted(tokens.items())), separators=(",", ":"))
    return zlib.compress(text.encode(), 6)


def _parts(tokens: Mapping[str, int]) -> list[bytes]:
    """The compressed document, split into contiguous runs of cells when it passes `SHARD_BYTES`."""
    whole = _encode(tokens)
    if len(whole) <= SHARD_BYTES:
        return [whole]
    names = sorted(tokens)
    count = -(-len(whole) // SHARD_BYTES) + 1  # compressed sizes are near proportional; one spare
    while True:
        size = -(-len(names) // count)
        runs = [names[i : i + size] for i in range(0, len(names), size)]
        parts = [_encode({name: tokens[name] for name in run}) for run in runs]
        if all(len(part) <= SHARD_BYTES for part in parts) or size == 1:
            return parts
        count += 1


def _items(day: str, label: str, tokens: Mapping[str, int], expires_at: int) -> list[Item]:
    parts = _parts(tokens)
    return [
        {
            "pk": f"{PREFIX}{day}",
            "sk": label if len(parts) == 1 else f"{label}#{index:02d}",
            "z": packed,
            HASH: hashlib.blake2b(packed, digest_size=16).digest(),
            "expires_at": expires_at,
        }
        for index, packed in enumerate(parts)
    ]


def desired_items(
    day: str, daily: Mapping[str, int], hourly: Mapping[str, Mapping[str, int]], retention_days: int
) -> list[Item]:
    """The day's items: `daily` {cell: tokens}, `hourly` {hh: {cell: tokens}}; cells without tokens
    and hours without any are left out, the day's document is written even when empty (so that a
    reader can tell a quiet day from a day written before these items)."""
    start = day_start(day)
    items = _items(day, DAY_DOC, {c: t for c, t in daily.items() if t}, start + DAY + retention_days * DAY)
    for hh, cells in sorted(hourly.items()):
        kept = {cell: tokens for cell, tokens in cells.items() if tokens}
        if kept:
            items += _items(day, hh, kept, start + (int(hh) + 1) * HOUR + retention_days * DAY)
    return items


def same(existing: Item | None, desired: Item) -> bool:
    """True when a stored item (whole, or its `stamps`) holds the desired document and expiry."""
    if existing is None or existing.get("expires_at") != desired.get("expires_at"):
        return False
    stored = existing.get(HASH)
    return stored is not None and bytes(stored) == desired[HASH]


def stamps(table: Table, day: str) -> list[Item]:
    """The day's items without their documents (keys, hash and expiry: a few bytes each)."""
    return list(
        query_all(
            table,
            KeyConditionExpression=Key("pk").eq(f"{PREFIX}{day}"),
            ProjectionExpression="pk, sk, #h, expires_at",
            ExpressionAttributeNames={"#h": HASH},
        )
    )


def _decoded(items: Iterable[Item]) -> dict[str, Tokens]:
    """Per label (`day` or `hh`), the cells of its items, shards merged."""
    found: dict[str, Tokens] = {}
    for item in items:
        label = str(item["sk"]).split("#", 1)[0]
        document: Tokens = json.loads(zlib.decompress(bytes(item["z"])))
        found.setdefault(label, {}).update(document)
    return found


def read(table: Table, day: str, *, hours: bool) -> tuple[Tokens, dict[str, Tokens] | None] | None:
    """(the day's {cell: tokens}, {hh: {cell: tokens}} when `hours`, else None) in one Query; None when
    the day has no document (written before these items, or past the hourly retention)."""
    partition = Key("pk").eq(f"{PREFIX}{day}")
    condition = partition if hours else partition & Key("sk").begins_with(DAY_DOC)
    documents = _decoded(query_all(table, KeyConditionExpression=condition))
    daily = documents.pop(DAY_DOC, None)
    if daily is None:
        return None
    return daily, (documents if hours else None)


__all__ = ["DAY_DOC", "PREFIX", "desired_items", "is_cell_tokens", "read", "same", "stamps"]
