"""Usage rollups: hourly and daily detail per key x model x project, and per-dimension aggregates.

Items (values are `Usage.to_stored()` dicts of short names; items written before the named form
hold positional lists, which `Usage.from_stored` still reads; hourly items carry `expires_at`):

    pk HD#<day>      sk <hh>#<key>#<project>#<model>    hourly detail, one item per cell
    pk DD#<month>    sk <day>#<key>#<project>#<model>   daily detail, one item per cell
    pk AH#<dim>      sk <day>T<hh>   z: zlib(JSON {member: dict})  hourly aggregate of one dimension
    pk AD#<dim>      sk <day>        z: zlib(JSON {member: dict})  daily aggregate of one dimension

`dim` is key, model or project. A 30-day view by one dimension is one Query of 30 items; the
detail partitions serve filtered and combined groupings. Aggregate members are one compressed JSON
document (money as decimal strings), not a DynamoDB map: at 1,000 keys that halves the bytes read
and makes decoding a day ~50x cheaper than boto3's per-number deserialization.

Writes are absolute and only for items whose values changed; items that no longer exist in a
recomputed day are deleted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.conditions import Key

from chalicelib.dimensions import BASES, Base
from chalicelib.periods import DAY, HOUR, day_start, month_label
from chalicelib.store.table import TableBacked, batch_get, batch_write, query_all
from chalicelib.usage import Usage, canonical


@dataclass(frozen=True, order=True)
class Cell:
    """One key x model x project combination."""

    key: str
    model: str
    project: str

    def member(self, dim: Base) -> str:
        """This cell's member in one dimension."""
        return {"key": self.key, "model": self.model, "project": self.project}[dim]


@dataclass
class DayRollup:
    """Everything known about one UTC day: usage per hour and cell, and per cell for the day."""

    day: str
    hourly: dict[tuple[str, Cell], Usage] = field(default_factory=dict)
    daily: dict[Cell, Usage] = field(default_factory=dict)


def _cell_sk(cell: Cell) -> str:
    return f"{cell.key}#{cell.project}#{cell.model}"


def _parse_cell(text: str) -> Cell:
    key, project, model = text.split("#", 2)
    return Cell(key=key, model=model, project=project)


def aggregate(cells: Iterable[tuple[Cell, Usage]], dim: Base) -> dict[str, Usage]:
    """Sum cells by their member in `dim`."""
    totals: dict[str, Usage] = {}
    for cell, usage in cells:
        member = cell.member(dim)
        totals[member] = totals[member] + usage if member in totals else usage
    return totals


def _values(item: dict[str, Any]) -> Usage:
    return Usage.from_stored(item.get("v") or [])


def _encode_members(members: dict[str, Usage]) -> bytes:
    document = {member: canonical(usage).to_stored() for member, usage in sorted(members.items())}
    text = json.dumps(document, separators=(",", ":"), default=_decimal_text)
    return zlib.compress(text.encode(), 6)


def _decimal_text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot store {type(value).__name__} in an aggregate")


class _DecodedMembers:
    """Decoded aggregate documents by their stored bytes, least recently used out past
    `max_members` members in all. Decoding is a pure function of the bytes, so an entry is never
    stale: a rewritten item has other bytes. Past days never change, so a warm API container decodes
    only the days the collector rewrote (at 1,000 keys a day costs ~3 ms to decode, the bytes ~15 us
    to hash)."""

    def __init__(self, max_members: int = 400_000) -> None:
        self.max_members = max_members
        self._entries: OrderedDict[bytes, dict[str, Usage]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, raw: bytes) -> dict[str, Usage]:
        with self._lock:
            found = self._entries.get(raw)
            if found is not None:
                self._entries.move_to_end(raw)
                return dict(found)  # callers may add to their copy; the Usage values are immutable
        document: dict[str, Any] = json.loads(zlib.decompress(raw))
        decoded = {member: Usage.from_stored(values) for member, values in document.items()}
        with self._lock:
            if raw not in self._entries:
                self._entries[raw] = decoded
                self._size += len(decoded)
            while self._size > self.max_members and len(self._entries) > 1:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)
        return dict(decoded)


_DECODED = _DecodedMembers()


def _members(item: dict[str, Any]) -> dict[str, Usage]:
    packed = item.get("z")
    if packed is None:
        return {}
    return _DECODED.get(bytes(packed))  # boto3 returns a Binary, which converts to bytes


Item = dict[str, Any]


def members(item: Item) -> dict[str, Usage]:
    """The members of one aggregate item as `aggregate_items` returns it."""
    return _members(item)


def fingerprint(items: Iterable[Item]) -> bytes:
    """A digest of aggregate items' keys and stored bytes: equal digests, equal contents (what the
    API's report memo keys on, so no writer has to tell it that the data changed)."""
    digest = hashlib.blake2b(digest_size=20)
    for item in items:
        for part in (str(item["pk"]), str(item["sk"]), str(item.get("expires_at", ""))):
            digest.update(part.encode())
            digest.update(b"\0")
        packed = bytes(item.get("z") or b"")
        digest.update(len(packed).to_bytes(8, "big"))
        digest.update(packed)
    return digest.digest()


@dataclass
class _Desired:
    """Items a day should consist of, keyed by (pk, sk), with their comparable content."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    members: dict[tuple[str, str], dict[str, Usage]] = field(default_factory=dict)

    def detail(self, pk: str, sk: str, usage: Usage, expires_at: int | None) -> None:
        item: dict[str, Any] = {"pk": pk, "sk": sk, "v": canonical(usage).to_stored()}
        if expires_at is not None:
            item["expires_at"] = expires_at
        self.items[(pk, sk)] = item

    def aggregate(self, pk: str, sk: str, members: dict[str, Usage], expires_at: int | None) -> None:
        if not members:
            return
        item: dict[str, Any] = {"pk": pk, "sk": sk, "z": _encode_members(members)}
        if expires_at is not None:
            item["expires_at"] = expires_at
        self.items[(pk, sk)] = item
        self.members[(pk, sk)] = {member: canonical(usage) for member, usage in members.items()}


def _already_stored(
    existing: dict[str, Any] | None, desired: dict[str, Any], members: dict[str, Usage] | None
) -> bool:
    """True when the stored item already holds the desired values (`members` for aggregates)."""
    if existing is None or existing.get("expires_at") != desired.get("expires_at"):
        return False
    if members is None:
        return _values(existing) == Usage.from_stored(desired["v"])
    return _members(existing) == members


class RollupStore(TableBacked):
    """Reads and writes the rollup items of the usage table."""

    # -- writes ------------------------------------------------------------------------------
    def replace_day(self, rollup: DayRollup, *, keep_hourly: bool, hourly_retention_days: int) -> int:
        """Make the stored items of `rollup.day` equal `rollup`; returns items written or deleted.

        Hourly items are written only when `keep_hourly` (the day is within retention); they expire
        `hourly_retention_days` after their hour ends.
        """
        desired = self._desired(rollup, keep_hourly, hourly_retention_days)
        existing = self._existing(rollup.day, keep_hourly)
        puts = [
            item
            for key, item in desired.items.items()
            if not _already_stored(existing.get(key), item, desired.members.get(key))
        ]
        deletes = [{"pk": pk, "sk": sk} for (pk, sk) in existing if (pk, sk) not in desired.items]
        batch_write(self.table, puts, deletes)
        return len(puts) + len(deletes)

    def _desired(self, rollup: DayRollup, keep_hourly: bool, retention_days: int) -> _Desired:
        desired = _Desired()
        day = rollup.day
        for cell, usage in rollup.daily.items():
            if not usage.is_zero():
                desired.detail(f"DD#{day[:7]}", f"{day}#{_cell_sk(cell)}", usage, None)
        for dim in BASES:
            members = aggregate(((c, u) for c, u in rollup.daily.items() if not u.is_zero()), dim)
            desired.aggregate(f"AD#{dim}", day, members, None)
        if not keep_hourly:
            return desired
        by_hour: dict[str, list[tuple[Cell, Usage]]] = defaultdict(list)
        for (hour, cell), usage in rollup.hourly.items():
            if not usage.is_zero():
                by_hour[hour].append((cell, usage))
        for hour, cells in by_hour.items():
            expires = day_start(day) + (int(hour[-2:]) + 1) * HOUR + retention_days * DAY
            for cell, usage in cells:
                desired.detail(f"HD#{day}", f"{hour[-2:]}#{_cell_sk(cell)}", usage, expires)
            for dim in BASES:
                desired.aggregate(f"AH#{dim}", hour, aggregate(cells, dim), expires)
        return desired

    def _existing(self, day: str, include_hourly: bool) -> dict[tuple[str, str], dict[str, Any]]:
        found: list[dict[str, Any]] = list(
            query_all(
                self.table,
                KeyConditionExpression=Key("pk").eq(f"DD#{day[:7]}") & Key("sk").begins_with(f"{day}#"),
            )
        )
        found += batch_get(self.table, [{"pk": f"AD#{dim}", "sk": day} for dim in BASES])
        if include_hourly:
            found += query_all(self.table, KeyConditionExpression=Key("pk").eq(f"HD#{day}"))
            for dim in BASES:
                found += query_all(
                    self.table,
                    KeyConditionExpression=Key("pk").eq(f"AH#{dim}")
                    & Key("sk").between(f"{day}T00", f"{day}T23"),
                )
        return {(str(item["pk"]), str(item["sk"])): item for item in found}

    # -- reads -------------------------------------------------------------------------------
    def aggregate_items(self, kind: Literal["AD", "AH"], dim: Base, first: str, last: str) -> list[Item]:
        """The stored aggregate items of `dim`, undecoded (`members` decodes one), for the inclusive
        range of day (`AD`) or hour (`AH`) labels."""
        return list(
            query_all(
                self.table,
                KeyConditionExpression=Key("pk").eq(f"{kind}#{dim}") & Key("sk").between(first, last),
            )
        )

    def daily_aggregates(self, dim: Base, first_day: str, last_day: str) -> dict[str, dict[str, Usage]]:
        """Per day (inclusive range), the usage of every member of `dim`."""
        items = self.aggregate_items("AD", dim, first_day, last_day)
        return {str(item["sk"]): _members(item) for item in items}

    def hourly_aggregates(self, dim: Base, first_hour: str, last_hour: str) -> dict[str, dict[str, Usage]]:
        """Per hour (inclusive range of `YYYY-MM-DDTHH` labels), the usage of every member of `dim`."""
        items = self.aggregate_items("AH", dim, first_hour, last_hour)
        return {str(item["sk"]): _members(item) for item in items}

    def daily_detail(self, first_day: str, last_day: str) -> Iterator[tuple[str, Cell, Usage]]:
        """(day, cell, usage) for every stored cell of the days in the inclusive range."""
        for month in _months(first_day, last_day):
            items = query_all(
                self.table,
                KeyConditionExpression=Key("pk").eq(f"DD#{month}")
                & Key("sk").between(f"{max(first_day, month)}#", f"{last_day}#\uffff"),
            )
            for item in items:
                day, rest = str(item["sk"]).split("#", 1)
                yield day, _parse_cell(rest), _values(item)

    def hourly_detail(self, day: str) -> Iterator[tuple[str, Cell, Usage]]:
        """(hour label, cell, usage) for every stored cell of one day's hours."""
        for item in query_all(self.table, KeyConditionExpression=Key("pk").eq(f"HD#{day}")):
            hh, rest = str(item["sk"]).split("#", 1)
            yield f"{day}T{hh}", _parse_cell(rest), _values(item)

    def stored_day(self, day: str) -> dict[tuple[str, str], Item]:
        """Every stored rollup item of one UTC day (detail and aggregates, daily and hourly) by
        (pk, sk): what recomputing the day may rewrite or delete. The bench reads it before and after
        a run, so that only this module knows where a day's items are kept."""
        return self._existing(day, include_hourly=True)


def _months(first_day: str, last_day: str) -> list[str]:
    months: list[str] = []
    ts = day_start(first_day)
    end = day_start(last_day)
    while ts <= end:
        label = month_label(ts)
        if label not in months:
            months.append(label)
        ts += DAY
    return months


__all__ = [
    "Cell",
    "DayRollup",
    "RollupStore",
    "aggregate",
    "fingerprint",
    "members",
]
