"""Usage rollups: hourly and daily detail per key x model x project, and per-dimension aggregates.

Items (values are `Usage.to_stored()` dicts of short names; items written before the named form
hold positional lists, which `Usage.from_stored` still reads; hourly items carry `expires_at`):

    pk HD#<day>      sk <hh>[!<nn>]  z: zlib(JSON {cell: dict})  hourly detail, one document per hour
    pk HD#<day>      sk <hh>#<key>#<project>#<model>    hourly detail written before: one item per cell
    pk DD#<month>    sk <day>#<key>#<project>#<model>   daily detail, one item per cell
    pk AH#<dim>      sk <day>T<hh>   z: zlib(JSON {member: dict})  hourly aggregate of one dimension
    pk AD#<dim>      sk <day>        z: zlib(JSON {member: dict})  daily aggregate of one dimension
    pk CT#<day>      sk day | <hh>   z: zlib(JSON {cell: tokens})  tokens per cell (store.cell_tokens)

`cell` is `<key>#<project>#<model>`; `dim` is key, model or project. A 30-day view by one dimension
is one Query of 30 items; the detail partitions serve filtered and combined groupings. Aggregate
members are one compressed JSON document (money as decimal strings), not a DynamoDB map: at 1,000
keys that halves the bytes read and makes decoding a day ~50x cheaper than boto3's per-number
deserialization.

An aggregate whose compressed document would pass `SHARD_BYTES` (an `AD#key` day grows by ~30
bytes per active key: ~300 KB at 10,000 keys, and DynamoDB refuses items over 400 KB) is split into
shards of contiguous members, `sk <label>#<nn>` (`nn` from 00), each under `SHARD_BYTES`. Reads
take every item from the first label to `<last label>#\uffff` in the same Query (shards sort right
after their label) and merge the shards of a label (`merged`, `label_of`); unsharded items, the
only kind written before, read as before. Writes delete the items of the other layout.

An hour's detail is one compressed document of its cells (shards `<hh>!<nn>` past `SHARD_BYTES`),
not an item per cell: today's bill so far changes every run and is spread again over every hour of
a cell (chalicelib.money.apportion_day): at 10,000 keys a run wrote ~2,200 one-unit cell items,
where it now writes ~15 documents, about a fifth of the write units (bench/results-10000-*.md).
Both sort under their hour (`!` before `#`), so a Query of an hour reads either layout, and writing
an hour deletes its cell items of the layout before.

Writes are absolute and only for items whose values changed; items that no longer exist in a
recomputed day are deleted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from boto3.dynamodb.conditions import Key

from chalicelib.dimensions import BASES, Base
from chalicelib.periods import DAY, HOUR, day_label, day_start, month_label
from chalicelib.store import cell_tokens, series
from chalicelib.store.table import TableBacked, batch_get, batch_write, query_all
from chalicelib.usage import Usage, canonical

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True, order=True)
class Cell:
    """One key x model x project combination."""

    key: str
    model: str
    project: str

    def member(self, dim: Base) -> str:
        """This cell's member in one dimension (the dimensions are named as the fields)."""
        return str(getattr(self, dim))


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


STALE_HOURS_READ_ONE_BY_ONE = 4  # more hours to read than this: one Query of the whole day
T = TypeVar("T")
SHARD_BYTES = 64_000  # compressed document per item: items stay well under the 100 KB target
LAST = "#\uffff"  # after every shard of a label
HOUR_SHARD = "!"  # an hour's detail shards, `<hh>!<nn>`: before its cell items of the layout before


def _encode_members(members: dict[str, Usage]) -> bytes:
    """The compressed document of members already in their stored form (`canonical`)."""
    document = {member: usage.to_stored() for member, usage in sorted(members.items())}
    text = json.dumps(document, separators=(",", ":"), default=_decimal_text)
    return zlib.compress(text.encode(), 6)


def _shards(members: dict[str, Usage]) -> list[tuple[bytes, dict[str, Usage]]]:
    """The members' compressed document, split into contiguous runs of members when it passes
    `SHARD_BYTES` (one part when it does not), with the members of each part."""
    whole = _encode_members(members)
    if len(whole) <= SHARD_BYTES:
        return [(whole, members)]
    names = sorted(members)
    count = -(-len(whole) // SHARD_BYTES) + 1  # compressed sizes are near proportional; one spare
    while True:
        size = -(-len(names) // count)
        parts = [{name: members[name] for name in names[i : i + size]} for i in range(0, len(names), size)]
        encoded = [(_encode_members(part), part) for part in parts]
        if all(len(raw) <= SHARD_BYTES for raw, _ in encoded) or size == 1:
            return encoded
        count += 1


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


def _is_aggregate(item: Item) -> bool:
    return str(item["pk"]).startswith(("AD#", "AH#"))


def label_of(item: Item) -> str:
    """The day (`AD`) or hour (`AH`) label of an aggregate item."""
    return str(item["sk"]).split("#", 1)[0]


def merged(items: Iterable[Item]) -> dict[str, dict[str, Usage]]:
    """Per label, the members of aggregate items as `aggregate_items` returns them."""
    found: dict[str, dict[str, Usage]] = {}
    for item in items:
        label = label_of(item)
        if label in found:
            found[label].update(_members(item))
        else:
            found[label] = _members(item)
    return found


CONTENT_HASH = "h"
"""On aggregate items: blake2b-128 of their `z` bytes, written in the same PutItem, so that a Query
projecting only keys and hashes (`aggregate_stamps`, a few bytes per item) fingerprints the items."""


def _content_hash(packed: bytes) -> bytes:
    return hashlib.blake2b(packed, digest_size=16).digest()


def fingerprint(items: Iterable[Item]) -> bytes:
    """A digest of aggregate items' keys and contents (their content hash, else their stored bytes):
    equal digests, equal contents (what the API's memos key on, so no writer has to tell them that
    the data changed). Items read whole and their stamps (`aggregate_stamps`) give the same digest."""
    digest = hashlib.blake2b(digest_size=20)
    for item in items:
        for part in (str(item["pk"]), str(item["sk"]), str(item.get("expires_at", ""))):
            digest.update(part.encode())
            digest.update(b"\0")
        if item.get(CONTENT_HASH) is not None:
            digest.update(b"h" + bytes(item[CONTENT_HASH]))
        else:
            packed = bytes(item.get("z") or b"")
            digest.update(b"z" + len(packed).to_bytes(8, "big"))
            digest.update(packed)
    return digest.digest()


DAILY_GROUP = "day"  # the group of a day's daily detail; an hour's group is its label


@dataclass
class _Desired:
    """Items a day should consist of, keyed by (pk, sk), with their comparable content, and the
    keys of the detail items of each group (the day's daily detail; each hour's hourly detail)."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    members: dict[tuple[str, str], dict[str, Usage]] = field(default_factory=dict)
    groups: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def detail(self, group: str, pk: str, sk: str, usage: Usage, expires_at: int | None) -> None:
        item: dict[str, Any] = {"pk": pk, "sk": sk, "v": canonical(usage).to_stored()}
        if expires_at is not None:
            item["expires_at"] = expires_at
        self.items[(pk, sk)] = item
        self.groups.setdefault(group, []).append((pk, sk))

    def hour_detail(self, hour: str, pk: str, cells: list[tuple[Cell, Usage]], expires_at: int) -> None:
        """The hour's detail as its compressed document(s) of cells (`<hh>`, or shards `<hh>!<nn>`)."""
        parts = _shards({_cell_sk(cell): canonical(usage) for cell, usage in cells})
        for index, (packed, part) in enumerate(parts):
            sk = hour[-2:] if len(parts) == 1 else f"{hour[-2:]}{HOUR_SHARD}{index:02d}"
            item = {"pk": pk, "sk": sk, "z": packed, CONTENT_HASH: _content_hash(packed)}
            self.items[(pk, sk)] = {**item, "expires_at": expires_at}
            self.members[(pk, sk)] = part
            self.groups.setdefault(hour, []).append((pk, sk))

    digests: dict[str, bytes | None] = field(default_factory=dict)
    deferred: dict[str, tuple[str, list[tuple[Cell, Usage]], int | None]] = field(default_factory=dict)
    """Per group, the aggregates still to build: their label, the group's cells and expiry."""

    def defer_aggregates(
        self, group: str, label: str, cells: list[tuple[Cell, Usage]], expires_at: int | None
    ) -> None:
        """The group's aggregates of every dimension, built by `settle` (or kept as stored)."""
        self.deferred[group] = (label, cells, expires_at)

    def settle(self, existing: dict[tuple[str, str], Item], certified: set[str]) -> None:
        """Build the deferred aggregates, except a certified group's: its stored aggregate items stand
        (the run that stored its digest wrote them from the same detail, after it; `trust_digests`),
        so at 10,000 keys the unchanged days and hours cost no summing, encoding or compressing."""
        stored: dict[str, list[tuple[str, str]]] = defaultdict(list)  # aggregate keys by label
        for key, item in existing.items():
            if key[0].startswith(("AD#", "AH#")):
                stored[label_of(item)].append(key)
        for group, (label, cells, expires_at) in self.deferred.items():
            kind = "AD#" if group == DAILY_GROUP else "AH#"
            if group in certified:
                for key in stored.get(label, []):
                    self.items[key] = existing[key]
                continue
            cells_digest = self.digest(group)
            for dim in BASES:
                digest = cells_digest if dim == "key" else None
                self.aggregate(f"{kind}{dim}", label, aggregate(cells, dim), expires_at, digest)
        self.deferred.clear()

    def digest(self, group: str) -> bytes | None:
        """A digest of the group's detail items (keys, values, expiry), or None for no items."""
        if group in self.digests:
            return self.digests[group]
        keys = self.groups.get(group)
        found: bytes | None = None
        if keys:
            digest = hashlib.blake2b(digest_size=16)
            for key in sorted(keys):
                item = self.items[key]
                values = bytes(item[CONTENT_HASH]).hex() if "z" in item else repr(sorted(item["v"].items()))
                digest.update(f"{key[1]}\0{values}\0{item.get('expires_at')}\n".encode())
            found = digest.digest()
        self.digests[group] = found
        return found

    def aggregate(
        self,
        pk: str,
        label: str,
        members: dict[str, Usage],
        expires_at: int | None,
        cells: bytes | None = None,
    ) -> None:
        if not members:
            return
        kept = {member: canonical(usage) for member, usage in members.items()}
        parts = _shards(kept)
        for index, (packed, part) in enumerate(parts):
            sk = label if len(parts) == 1 else f"{label}#{index:02d}"
            item: dict[str, Any] = {"pk": pk, "sk": sk, "z": packed, CONTENT_HASH: _content_hash(packed)}
            if expires_at is not None:
                item["expires_at"] = expires_at
            if cells is not None:
                item[CELLS_DIGEST] = cells
            self.items[(pk, sk)] = item
            self.members[(pk, sk)] = part


CELLS_DIGEST = "cd"
"""On `AD#key` and `AH#key` items: the digest (`_Desired.digest`) of the day's or hour's detail
items, written after them. `replace_day` with `trust_digests` skips reading a group whose stored
digest equals the one it is about to write: the stored detail is then what it would write."""


def _digest_of(items: Iterable[Item]) -> set[bytes | None]:
    return {bytes(item[CELLS_DIGEST]) if item.get(CELLS_DIGEST) is not None else None for item in items}


def _already_stored(
    existing: dict[str, Any] | None, desired: dict[str, Any], members: dict[str, Usage] | None
) -> bool:
    """True when the stored item already holds the desired values (`members` for aggregates)."""
    if existing is desired:  # a certified group's detail stands for itself (`RollupStore._existing`)
        return True
    if existing is None or existing.get("expires_at") != desired.get("expires_at"):
        return False
    if cell_tokens.is_cell_tokens(str(desired["pk"])):
        return cell_tokens.same(existing, desired)
    if members is None:
        return _values(existing) == Usage.from_stored(desired["v"])
    if existing.get(CELLS_DIGEST) is not None and _digest_of([existing]) != _digest_of([desired]):
        return False  # a stale digest must never certify a detail it does not describe
    if existing.get(CONTENT_HASH) is not None and bytes(existing[CONTENT_HASH]) == desired[CONTENT_HASH]:
        return True  # the same compressed bytes: no need to decode ~10,000 members to compare them
    return _members(existing) == members  # an item without a digest (older) keeps none: always read


@dataclass(frozen=True)
class _Voucher:
    """A day's series voucher as stored (`old`) and as it will be once the day's entries are (`new`,
    None when they may not all be)."""

    old: dict[str, bytes] | None
    new: dict[str, bytes] | None
    closed: bool

    def forget(self, key_items_change: bool) -> bool:
        """Whether the stored voucher must go before the day's `AD#key` items are written: it no
        longer names them (an open day's, unread, whenever they change: it should have none)."""
        if not self.closed:
            return key_items_change
        return self.old is not None and self.old != self.new


class RollupStore(TableBacked):
    """Reads and writes the rollup items of the usage table.

    `trust_digests` (off unless the caller turns it on): `replace_day` takes a detail group whose
    stored `CELLS_DIGEST` equals the desired one as stored, without reading it. Only safe when every
    earlier write of the day finished (details are written before their aggregates, so a digest is
    stored only after its detail); the runner turns it on for an incremental run whose previous run
    neither failed nor was cut off (chalicelib.runner)."""

    trust_digests = False

    def __init__(self, table: Table | None = None) -> None:
        super().__init__(table)
        self._series: series.Pending = defaultdict(dict)  # closed days' key series, until write_series
        self._vouchers: series.Vouchers = {}  # closed days' vouchers, written after their series
        self.key_days_written: set[str] = set()
        """Days whose `AD#key` items this store wrote or deleted (what a materialized period of
        them must be summed again for: chalicelib.store.periods)."""

    # -- writes ------------------------------------------------------------------------------
    def replace_day(
        self, rollup: DayRollup, *, keep_hourly: bool, hourly_retention_days: int, closed: bool = False
    ) -> int:
        """Make the stored items of `rollup.day` equal `rollup`; returns items written or deleted.

        Hourly items are written only when `keep_hourly` (the day is within retention); they expire
        `hourly_retention_days` after their hour ends. Detail items are written (and deleted) before
        the aggregate items that carry their digest. A `closed` day (over in UTC) also queues its
        keys' series entries (chalicelib.store.series), stored by `write_series`.
        """
        desired = self._desired(rollup, keep_hourly, hourly_retention_days)
        existing, certified = self._existing(rollup.day, keep_hourly, desired, trust=self.trust_digests)
        desired.settle(existing, certified)
        puts = [
            item
            for key, item in desired.items.items()
            if not _already_stored(existing.get(key), item, desired.members.get(key))
        ]
        deletes = [{"pk": pk, "sk": sk} for (pk, sk) in existing if (pk, sk) not in desired.items]
        written = {(str(item["pk"]), str(item["sk"])) for item in puts}
        key_items_change = any(str(key["pk"]) == "AD#key" for key in [*puts, *deletes])
        voucher = self._next_voucher(rollup.day, desired, written, closed=closed)
        stale_voucher = [series.voucher_key(rollup.day)] if voucher.forget(key_items_change) else []
        batch_write(  # the voucher goes with the detail: before any `AD#key` item changes
            self.table,
            [item for item in puts if not _is_aggregate(item)],
            [*stale_voucher, *(key for key in deletes if not _is_aggregate(key))],
        )
        batch_write(
            self.table,
            [item for item in puts if _is_aggregate(item)],
            [key for key in deletes if _is_aggregate(key)],
        )
        if key_items_change:
            self.key_days_written.add(rollup.day)
        if closed:  # after the aggregates: an entry's hash names an item already stored
            # Items rewritten now, or all when the run trusts no earlier write (a crashed run's
            # series may be missing): an unchanged item's entries were queued when it was written.
            day_keys = [
                key
                for key in desired.items
                if key[0] == "AD#key" and (key in written or not self.trust_digests)
            ]
            parts = [
                (sk, bytes(desired.items[(pk, sk)][CONTENT_HASH]), desired.members[(pk, sk)])
                for pk, sk in day_keys
            ]
            series.add_day(self._series, rollup.day, parts)
            if voucher.new is not None and voucher.new != voucher.old:
                self._vouchers[rollup.day] = voucher.new
        return len(puts) + len(deletes)

    def _next_voucher(
        self, day: str, desired: _Desired, written: set[tuple[str, str]], *, closed: bool
    ) -> _Voucher:
        """The day's voucher as stored (closed days only: only they have one) and the one to store
        once the day's series entries are (chalicelib.store.series): when the entries of every
        `AD#key` item are known stored, queued now (all of them when the run trusts no earlier
        write) or named by the old voucher with the same hash."""
        if not closed:
            return _Voucher(old=None, new=None, closed=False)
        old = series.read_voucher(self.table, day)
        current = {
            sk: bytes(item[CONTENT_HASH]) for (pk, sk), item in desired.items.items() if pk == "AD#key"
        }
        kept = [sk for sk in current if ("AD#key", sk) not in written]
        vouched = not self.trust_digests or all(old is not None and old.get(sk) == current[sk] for sk in kept)
        return _Voucher(old=old, new=current if vouched else None, closed=True)

    def write_series(self) -> int:
        """Store the series entries `replace_day` queued for closed days, then the days' vouchers;
        returns items written."""
        return series.write_series(self.table, self._series) + series.write_vouchers(
            self.table, self._vouchers
        )

    def _desired(self, rollup: DayRollup, keep_hourly: bool, retention_days: int) -> _Desired:
        desired = _Desired()
        day = rollup.day
        for cell, usage in rollup.daily.items():
            if not usage.is_zero():
                desired.detail(DAILY_GROUP, f"DD#{day[:7]}", f"{day}#{_cell_sk(cell)}", usage, None)
        daily = [(cell, usage) for cell, usage in rollup.daily.items() if not usage.is_zero()]
        if daily:
            desired.defer_aggregates(DAILY_GROUP, day, daily, None)
        if not keep_hourly:
            return desired
        for item in _cell_token_items(rollup, retention_days):
            desired.items[(str(item["pk"]), str(item["sk"]))] = item
        by_hour: dict[str, list[tuple[Cell, Usage]]] = defaultdict(list)
        for (hour, cell), usage in rollup.hourly.items():
            if not usage.is_zero():
                by_hour[hour].append((cell, usage))
        for hour, cells in by_hour.items():
            expires = day_start(day) + (int(hour[-2:]) + 1) * HOUR + retention_days * DAY
            desired.hour_detail(hour, f"HD#{day}", cells, expires)
            desired.defer_aggregates(hour, hour, cells, expires)
        return desired

    def _existing(
        self, day: str, include_hourly: bool, desired: _Desired, *, trust: bool
    ) -> tuple[dict[tuple[str, str], Item], set[str]]:
        """The stored items of the day, by key, and the groups certified. With `trust`, a detail
        group whose stored digest equals the desired one is not read: its desired items stand for it."""
        found: list[Item] = []
        for dim in BASES:  # a Query, not a BatchGet: a day may be stored in shards
            found += self.aggregate_items("AD", dim, day, day)
        if include_hourly:
            for dim in BASES:
                found += self.aggregate_items("AH", dim, f"{day}T00", f"{day}T23")
            found += cell_tokens.stamps(self.table, day)
        existing = {(str(item["pk"]), str(item["sk"])): item for item in found}
        by_label: dict[str, list[Item]] = defaultdict(list)
        for item in found:
            if item["pk"] in ("AD#key", "AH#key"):
                by_label[label_of(item)].append(item)

        def certified(label: str, group: str) -> bool:
            return trust and _digest_of(by_label.get(label, [])) == {desired.digest(group)}

        def take_desired(group: str) -> None:
            for key in desired.groups.get(group, []):
                existing[key] = desired.items[key]

        groups: set[str] = set()
        if certified(day, DAILY_GROUP):
            take_desired(DAILY_GROUP)
            groups.add(DAILY_GROUP)
        else:
            detail = query_all(
                self.table,
                KeyConditionExpression=Key("pk").eq(f"DD#{day[:7]}") & Key("sk").begins_with(f"{day}#"),
            )
            existing.update({(str(item["pk"]), str(item["sk"])): item for item in detail})
        if not include_hourly:
            return existing, groups
        hours = {label for label in by_label if "T" in label} | {g for g in desired.groups if "T" in g}
        stale = sorted(hour for hour in hours if not certified(hour, hour))
        for hour in hours.difference(stale):
            take_desired(hour)
            groups.add(hour)
        queries: list[Any]
        if not trust or len(stale) > STALE_HOURS_READ_ONE_BY_ONE:
            queries = [Key("pk").eq(f"HD#{day}")]
        else:
            # an hour's document(s) and its cell items of the layout before
            queries = [Key("pk").eq(f"HD#{day}") & Key("sk").begins_with(hour[-2:]) for hour in stale]
        for condition in queries:
            for item in query_all(self.table, KeyConditionExpression=condition):
                existing[(str(item["pk"]), str(item["sk"]))] = item
        return existing, groups

    # -- reads -------------------------------------------------------------------------------
    def day_items(self, day: str, dims: Iterable[Base]) -> list[Item]:
        """The stored `AD` items of one day in `dims`, undecoded, sorted by key: one BatchGetItem,
        plus a Query of the shards of each dimension whose day has no unsharded item."""
        dims = tuple(dims)
        found = batch_get(self.table, [{"pk": f"AD#{dim}", "sk": day} for dim in dims])
        present = {str(item["pk"]) for item in found}
        for dim in dims:
            if f"AD#{dim}" not in present:
                found += self.aggregate_items("AD", dim, f"{day}#", day)
        return sorted(found, key=lambda item: (str(item["pk"]), str(item["sk"])))

    def remembered(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        """`read()`: a store that remembers its reads (`store.read_once.ReadOnce`) gives what the
        same `key` gave before, so callers name their other reads of the table here too."""
        return read()

    def aggregate_items(self, kind: Literal["AD", "AH"], dim: Base, first: str, last: str) -> list[Item]:
        """The stored aggregate items of `dim`, undecoded (`members` decodes one, `merged` all), for
        the inclusive range of day (`AD`) or hour (`AH`) labels, shards included."""
        return list(
            query_all(
                self.table,
                KeyConditionExpression=Key("pk").eq(f"{kind}#{dim}") & Key("sk").between(first, last + LAST),
            )
        )

    def aggregate_stamps(
        self, kind: Literal["AD", "AH"], dim: Base, first: str, last: str
    ) -> list[Item] | None:
        """`aggregate_items`' keys, expiry, content hashes and detail digests only (a few bytes per
        item instead of ~28 KB for an `AD#key` day at 1,000 keys); None when an item has no hash
        (written before hashes were): then only the whole items tell their contents."""
        stamps = list(
            query_all(
                self.table,
                KeyConditionExpression=Key("pk").eq(f"{kind}#{dim}") & Key("sk").between(first, last + LAST),
                ProjectionExpression="pk, sk, #h, expires_at, #cd",
                ExpressionAttributeNames={"#h": CONTENT_HASH, "#cd": CELLS_DIGEST},
            )
        )
        if any(item.get(CONTENT_HASH) is None for item in stamps):
            return None
        return stamps

    def key_day_stamps(self, first: str, last: str) -> tuple[list[Item], frozenset[str]] | None:
        """The stamps `aggregate_stamps("AD", "key", first, last)` gives, those of vouched days from
        their vouchers (chalicelib.store.series: one Query of a few hundred bytes a day) and the
        others' from the items (a Query billed by the whole items: only the days without a voucher);
        and the vouched days. None as `aggregate_stamps` gives it."""
        vouchers = series.read_vouchers(self.table, first, last)
        days = [day_label(ts) for ts in range(day_start(first), day_start(last) + 1, DAY)]
        unvouched = [day for day in days if day not in vouchers]
        stamps: list[Item] = []
        if unvouched:
            found = self.aggregate_stamps("AD", "key", unvouched[0], unvouched[-1])
            if found is None:
                return None
            stamps = [stamp for stamp in found if label_of(stamp) not in vouchers]
        stamps += [
            {"pk": "AD#key", "sk": sk, CONTENT_HASH: content_hash}
            for hashes in vouchers.values()
            for sk, content_hash in hashes.items()
        ]
        return sorted(stamps, key=lambda stamp: str(stamp["sk"])), frozenset(vouchers)

    def stamped_items(self, stamps: Iterable[Item]) -> list[Item]:
        """The whole items of some of `aggregate_stamps`' stamps (BatchGetItem of their keys), in
        the order a Query gives them."""
        found = batch_get(self.table, [{"pk": str(s["pk"]), "sk": str(s["sk"])} for s in stamps])
        return sorted(found, key=lambda item: (str(item["pk"]), str(item["sk"])))

    def key_series(self, keys: Sequence[str], days: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
        """Per key, its series entries by day, of the series items holding `days` (at least those
        days: chalicelib.store.series)."""
        return series.read_series(self.table, keys, days)

    def daily_aggregates(self, dim: Base, first_day: str, last_day: str) -> dict[str, dict[str, Usage]]:
        """Per day (inclusive range), the usage of every member of `dim`."""
        return merged(self.aggregate_items("AD", dim, first_day, last_day))

    def hourly_aggregates(self, dim: Base, first_hour: str, last_hour: str) -> dict[str, dict[str, Usage]]:
        """Per hour (inclusive range of `YYYY-MM-DDTHH` labels), the usage of every member of `dim`."""
        return merged(self.aggregate_items("AH", dim, first_hour, last_hour))

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
        """(hour label, cell, usage) for every stored cell of one day's hours, once each: while a
        rewrite of an hour is under way, its old and new items may both be there for a moment."""
        cells: dict[str, dict[str, Usage]] = defaultdict(dict)
        for item in query_all(self.table, KeyConditionExpression=Key("pk").eq(f"HD#{day}")):
            sk = str(item["sk"])
            if "z" in item:
                cells[sk[:2]].update(_members(item))
            else:  # a cell item of the layout before
                hh, text = sk.split("#", 1)
                cells[hh][text] = _values(item)
        for hh, found in cells.items():
            for text, usage in found.items():
                yield f"{day}T{hh}", _parse_cell(text), usage

    def cell_tokens(self, day: str, *, hours: bool) -> CellTokens | None:
        """One day's tokens per cell (and per hour and cell when `hours`) from its cell-token
        documents (chalicelib.store.cell_tokens), one Query; None for a day written before them."""
        found = cell_tokens.read(self.table, day, hours=hours)
        if found is None:
            return None
        daily, hourly = found
        return CellTokens(
            daily={_parse_cell(text): tokens for text, tokens in daily.items()},
            hourly=None
            if hourly is None
            else [
                (f"{day}T{hh}", _parse_cell(text), tokens)
                for hh, cells in sorted(hourly.items())
                for text, tokens in cells.items()
            ],
        )

    def stored_day(self, day: str) -> dict[tuple[str, str], Item]:
        """Every stored rollup item of one UTC day (detail and aggregates, daily and hourly) by
        (pk, sk): what recomputing the day may rewrite or delete. The bench reads it before and after
        a run, so that only this module knows where a day's items are kept."""
        return self._existing(day, True, _Desired(), trust=False)[0]


@dataclass(frozen=True)
class CellTokens:
    """`RollupStore.cell_tokens`: today's tokens per cell; (hour label, cell, tokens) when read."""

    daily: dict[Cell, int]
    hourly: list[tuple[str, Cell, int]] | None


def _cell_token_items(rollup: DayRollup, retention_days: int) -> list[Item]:
    """The day's cell-token items (chalicelib.store.cell_tokens), from the same cells as its detail."""
    hourly: dict[str, dict[str, int]] = defaultdict(dict)
    for (hour, cell), usage in rollup.hourly.items():
        hourly[hour[-2:]][_cell_sk(cell)] = usage.total_tokens
    daily = {_cell_sk(cell): usage.total_tokens for cell, usage in rollup.daily.items()}
    return cell_tokens.desired_items(rollup.day, daily, hourly, retention_days)


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
    "SHARD_BYTES",
    "Cell",
    "DayRollup",
    "RollupStore",
    "aggregate",
    "fingerprint",
    "label_of",
    "members",
    "merged",
]
