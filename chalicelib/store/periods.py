"""Materialized periods: the settled days of the dashboard's long windows, summed per key ahead.

A 90-day view by key, owner or team has to rank every key over the period, so from the `AD#key`
days alone it reads every key's row of every day (~2.5 MB at 1,000 keys, ~19 MB at 10,000). The
days whose bill is settled no longer change, so the collector sums them once (`materialize`, after
each run; again only when those days' items or the names changed, and when the window only moved,
by difference: `shift_period`, the old sums minus the days left plus the days gained) into one
document per window:

    pk PS#key   sk <window:03d>         first, last, fp, nd, build, parts   (the header)
    pk PS#key   sk <window:03d>#<nn>    build, z: a slice of zlib(JSON document)

The document of the days `first`..`last` (every settled day of the window ending on the build's
day) holds each key's usage summed over them; each day's usage of all keys and its count of active
keys, owners and teams; and, for the top `TOP_SERIES` keys, owners and teams of those days (ranked
as reports rank: cost, tokens, id), their usage on each day they were active; the 30-day one
(`BUDGET_WINDOW`) also each monthly-budgeted key's usage over the month's settled days. `fp` is the
`rollups.fingerprint` of the `AD#key` items summed, `nd` the digest of every key's owner and team
(`names_digest`) the owner and team parts were built under, `build` an id that every part carries.

The reader (chalicelib.query.period) uses a period only when all of it holds: the header and
every part of its build are there, the items of its days still have fingerprint `fp` (their stamps:
a few bytes each), its last day is settled under the reader's checkpoint, and for owner and team the
names have digest `nd`. Otherwise it reads the days as before, so an answer is always the one
the `AD#key` items give.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.conditions import Key

from chalicelib.keys.model import KeyIdentity
from chalicelib.keys.resolve import resolve
from chalicelib.money import Settlement
from chalicelib.periods import day_label
from chalicelib.store.rollups import SHARD_BYTES, Item, RollupStore, fingerprint, label_of, members
from chalicelib.store.table import batch_get, batch_write, query_all
from chalicelib.usage import Usage, usage_sum

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PK = "PS#key"
WINDOWS = (7, 30, 90)
"""The dashboard's periods longer than today (frontend's period picker: today, 7, 30, 90 days)."""
BUDGET_WINDOW = 30
"""The window whose period also sums the month's settled days of the keys with a monthly budget
(`/api/keys`' budget status, chalicelib.query.keys)."""
TOP_SERIES = 24
"""Groups per grouping whose per-day usage a period always keeps: a view's top (the dashboard asks
8) must be among them, or have no usage in the settled days, for the period to serve it."""
HELD_SERIES = 32
"""Groups per grouping a period keeps per-day usage of when it is summed whole: a period shifted by
difference (`shift_period`) keeps those still this near the top, so that its top `TOP_SERIES` are
held as long as no group climbs from further down."""

Grouping = Literal["api_key_id", "owner", "team"]
GROUPINGS: tuple[Grouping, ...] = ("api_key_id", "owner", "team")
Member = str | None  # a key id, or an owner or team (None: no owner, no team)


@dataclass(frozen=True)
class Period:
    """The settled days `first`..`last` of one window, summed (see the module docstring)."""

    window: int
    first: str
    last: str
    fingerprint: bytes
    names_digest: bytes
    keys: dict[str, Usage]
    day_totals: dict[str, Usage]
    day_counts: dict[str, dict[Grouping, int]]
    series: dict[Grouping, dict[Member, dict[str, Usage]]]
    key_days: dict[str, int] = field(default_factory=dict)
    """Per key, how many of the days it was active on (what a shift by difference drops it at)."""
    month: str = ""
    month_keys: dict[str, Usage] = field(default_factory=dict)
    """For the keys with a monthly budget when it was built (`BUDGET_WINDOW` only), their usage
    summed over the settled days `month` (the build day's month's first day)..`last`, zero when none."""


def monthly_budgeted(identities: Mapping[str, KeyIdentity]) -> list[str]:
    """The keys with a monthly budget, sorted: those whose month the 30-day period sums."""
    return sorted(
        key for key, i in identities.items() if i.budget is not None and i.budget.period == "monthly"
    )


def names_digest(identities: Mapping[str, KeyIdentity]) -> bytes:
    """A digest of every named key's owner and team: equal digests, equal owner and team of every
    key (a key without an identity resolves alike on both sides)."""
    digest = hashlib.blake2b(digest_size=16)
    for key in sorted(identities):
        identity = identities[key]
        digest.update(json.dumps([key, identity.owner, identity.team]).encode())
    return digest.digest()


def _order(item: tuple[Member, Usage]) -> tuple[Decimal, int, str]:
    member, usage = item
    return (-usage.billed_usd, -usage.total_tokens, member or "")


def _day_sums(items: Iterable[Item]) -> dict[str, dict[str, Usage]]:
    """Per day, per key, the usage the items hold (an unsharded item beside shards is summed with
    them, as a report reading the items does)."""
    days: dict[str, dict[str, Usage]] = {}
    for item in items:
        into = days.setdefault(label_of(item), {})
        for key, usage in members(item).items():
            into[key] = into[key] + usage if key in into else usage
    return days


def _members_of(
    keys: Iterable[str], identities: Mapping[str, KeyIdentity]
) -> dict[Grouping, dict[str, Member]]:
    """Each key's owner and team, as reports resolve them."""
    identity = {key: resolve(key, identities) for key in keys}
    return {
        "owner": {key: of_key.owner for key, of_key in identity.items()},
        "team": {key: of_key.team for key, of_key in identity.items()},
    }


def _member(member_of: Mapping[Grouping, Mapping[str, Member]], grouping: Grouping, key: str) -> Member:
    return key if grouping == "api_key_id" else member_of[grouping][key]


def _ranked(
    keys: Mapping[str, Usage], member: Callable[[str], Member]
) -> tuple[dict[Member, Usage], list[Member]]:
    """The keys' usage summed per group (`member` of a key) and the top `HELD_SERIES` groups, ranked
    as reports rank."""
    grouped: dict[Member, list[Usage]] = {}
    for key, usage in keys.items():
        grouped.setdefault(member(key), []).append(usage)
    totals = {group: usage_sum(parts) for group, parts in grouped.items()}
    return totals, [group for group, _ in sorted(totals.items(), key=_order)[:HELD_SERIES]]


class SettledDays:
    """The settled days a period sums (per day, per key, usage), with each key's owner and team
    and what every window of them shares: each day's total and count of active groups."""

    def __init__(
        self, days: Mapping[str, Mapping[str, Usage]], identities: Mapping[str, KeyIdentity]
    ) -> None:
        self.days = {day: days[day] for day in sorted(days) if days[day]}
        keys = {key for of_day in self.days.values() for key in of_day}
        self.member_of = _members_of(keys, identities)
        self.totals = {day: usage_sum(list(of_day.values())) for day, of_day in self.days.items()}
        self.counts: dict[str, dict[Grouping, int]] = {
            day: {
                "api_key_id": len(of_day),
                "owner": len({self.member_of["owner"][key] for key in of_day}),
                "team": len({self.member_of["team"][key] for key in of_day}),
            }
            for day, of_day in self.days.items()
        }

    def member(self, grouping: Grouping, key: str) -> Member:
        """A key's member in `grouping`."""
        return _member(self.member_of, grouping, key)


def _per_day(
    days: Mapping[str, Mapping[str, Usage]], settled: SettledDays, grouping: Grouping, top: list[Member]
) -> dict[Member, dict[str, Usage]]:
    """The top members' usage on each day they were active."""
    found: dict[Member, dict[str, Usage]] = {member: {} for member in top}
    if grouping == "api_key_id":
        for day, of_day in days.items():
            for member in top:
                if member in of_day:
                    found[member][day] = of_day[str(member)]
        return found
    wanted = set(top)
    for day, of_day in days.items():
        parts: dict[Member, list[Usage]] = {}
        for key, usage in of_day.items():
            member = settled.member_of[grouping][key]
            if member in wanted:
                parts.setdefault(member, []).append(usage)
        for member, of_member in parts.items():
            found[member][day] = usage_sum(of_member)
    return found


def build_period(
    window: int,
    settled: SettledDays,
    *,
    fingerprint_of_days: bytes,
    names: bytes,
    first: str,
    last: str,
    month: tuple[str, Collection[str]] = ("", ()),
) -> Period:
    """The period of the settled days `first`..`last`; with `month` (its first day and some keys),
    each of those keys' usage over the settled days from that day (`Period.month_keys`)."""
    of_window = {day: of_day for day, of_day in settled.days.items() if first <= day <= last}
    by_key: dict[str, list[Usage]] = {}
    for of_day in of_window.values():
        for key, usage in of_day.items():
            by_key.setdefault(key, []).append(usage)
    keys = {key: usage_sum(parts) for key, parts in by_key.items()}
    series: dict[Grouping, dict[Member, dict[str, Usage]]] = {}
    for grouping in GROUPINGS:
        _, top = _ranked(keys, partial(settled.member, grouping))
        series[grouping] = _per_day(of_window, settled, grouping, top)
    return Period(
        window=window,
        first=first,
        last=last,
        fingerprint=fingerprint_of_days,
        names_digest=names,
        keys=keys,
        day_totals={day: settled.totals[day] for day in of_window},
        day_counts={day: settled.counts[day] for day in of_window},
        series=series,
        key_days={key: len(parts) for key, parts in by_key.items()},
        month=month[0],
        month_keys=_month_keys(of_window, *month),
    )


def _month_keys(
    days: Mapping[str, Mapping[str, Usage]], month: str, keys: Collection[str]
) -> dict[str, Usage]:
    if not month or not keys:
        return {}
    parts: dict[str, list[Usage]] = {key: [] for key in keys}
    for day, of_day in days.items():
        if day >= month:
            for key in keys:
                if key in of_day:
                    parts[key].append(of_day[key])
    return {key: usage_sum(of_key) for key, of_key in parts.items()}


def shift_period(
    old: Period,
    days: SettledDays,
    identities: Mapping[str, KeyIdentity],
    *,
    fingerprint_of_days: bytes,
    first: str,
    last: str,
    month: tuple[str, Collection[str]] = ("", ()),
) -> Period | None:
    """The period of `first`..`last` from `old` (of `old.first`..`old.last`, which must overlap it)
    by difference: `days` holds the days it leaves (before `first`) and the days it gains (after
    `old.last`), each key's sum is the old one minus the first and plus the second, a key whose
    active days reach none is dropped. The groups held per day are the old ones still among the
    top `HELD_SERIES` and any top `TOP_SERIES` group with no usage on the days kept; None when a
    top group has usage there but no days held, when a key budgeted monthly since has no month's
    sum (then the period is summed whole), or when `days` are not the days `old` summed."""
    left = {day: of_day for day, of_day in days.days.items() if old.first <= day < first}
    gained = {day: of_day for day, of_day in days.days.items() if old.last < day <= last}
    keys, key_days = dict(old.keys), dict(old.key_days)
    for of_day in left.values():
        for key, usage in of_day.items():
            count = key_days.get(key, 0) - 1
            if count < 0:
                return None  # the old period did not sum this day
            if count:
                keys[key], key_days[key] = keys[key] - usage, count
            elif (keys.pop(key) - usage).is_zero():
                del key_days[key]
            else:
                return None
    for of_day in gained.values():
        for key, usage in of_day.items():
            keys[key] = keys[key] + usage if key in keys else usage
            key_days[key] = key_days.get(key, 0) + 1
    series: dict[Grouping, dict[Member, dict[str, Usage]]] = {}
    member_of = _members_of(keys, identities)
    for grouping in GROUPINGS:
        totals, ranked = _ranked(keys, partial(_member, member_of, grouping))
        held = _shifted_series(
            old.series[grouping], totals, ranked, grouping=grouping, gained=gained, days=days, first=first
        )
        if held is None:
            return None
        series[grouping] = held
    month_keys = _shifted_month(old, month, left, gained)
    if month_keys is None:
        return None
    kept = [day for day in old.day_totals if day >= first]
    return Period(
        window=old.window,
        first=first,
        last=last,
        fingerprint=fingerprint_of_days,
        names_digest=old.names_digest,
        keys=keys,
        day_totals={
            **{day: old.day_totals[day] for day in kept},
            **{day: days.totals[day] for day in gained},
        },
        day_counts={
            **{day: old.day_counts[day] for day in kept},
            **{day: days.counts[day] for day in gained},
        },
        series=series,
        key_days=key_days,
        month=month[0],
        month_keys=month_keys,
    )


def _shifted_series(
    old: Mapping[Member, Mapping[str, Usage]],
    totals: Mapping[Member, Usage],
    ranked: list[Member],
    *,
    grouping: Grouping,
    gained: Mapping[str, Mapping[str, Usage]],
    days: SettledDays,
    first: str,
) -> dict[Member, dict[str, Usage]] | None:
    new_days = _per_day(gained, days, grouping, ranked)
    held: dict[Member, dict[str, Usage]] = {}
    for rank, member in enumerate(ranked):
        if member in old:
            held[member] = {day: usage for day, usage in old[member].items() if day >= first}
        elif rank < TOP_SERIES:
            if usage_sum(list(new_days[member].values())) != totals[member]:
                return None  # a top group with usage on the days kept, whose days were not held
            held[member] = {}
        else:
            continue
        held[member].update(new_days[member])
    return held


def _shifted_month(
    old: Period,
    month: tuple[str, Collection[str]],
    left: Mapping[str, Mapping[str, Usage]],
    gained: Mapping[str, Mapping[str, Usage]],
) -> dict[str, Usage] | None:
    """`Period.month_keys` by difference; None when `old` lacks a key budgeted since (or the month)
    while the month's settled days reach into its days: then the period is summed whole."""
    first_of_month, budgeted = month
    if not first_of_month or first_of_month > old.last:
        return _month_keys(gained, first_of_month, budgeted)  # the month's settled days are all new
    if old.month != first_of_month or any(key not in old.month_keys for key in budgeted):
        return None
    sums: dict[str, Usage] = {}
    for key in budgeted:
        usage = old.month_keys[key]
        for day, of_day in left.items():
            if day >= first_of_month and key in of_day:
                usage = usage - of_day[key]
        for day, of_day in gained.items():
            if day >= first_of_month and key in of_day:
                usage = usage + of_day[key]
        sums[key] = usage
    return sums


# -- storage --------------------------------------------------------------------------------------
def _stored(usage: Usage) -> dict[str, Any]:
    stored = usage.to_stored().items()
    return {name: format(value, "f") if isinstance(value, Decimal) else value for name, value in stored}


def _document(period: Period) -> bytes:
    document = {
        "keys": {key: _stored(usage) for key, usage in sorted(period.keys.items())},
        "days": {
            day: [_stored(total), period.day_counts[day]] for day, total in sorted(period.day_totals.items())
        },
        "series": {
            grouping: [
                [member, {day: _stored(usage) for day, usage in sorted(of_member.items())}]
                for member, of_member in members_of.items()
            ]
            for grouping, members_of in period.series.items()
        },
    }
    document["active"] = [period.key_days.get(key, 0) for key in sorted(period.keys)]
    if period.month:
        document["month"] = [period.month, {key: _stored(u) for key, u in sorted(period.month_keys.items())}]
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)


def _period_of(header: Item, packed: bytes) -> Period:
    document = json.loads(zlib.decompress(packed))
    days = document["days"]
    month, of_month = document.get("month") or ("", {})
    return Period(
        window=int(header["sk"]),
        first=str(header["first"]),
        last=str(header["last"]),
        fingerprint=bytes(header["fp"]),
        names_digest=bytes(header["nd"]),
        keys={key: Usage.from_stored(values) for key, values in document["keys"].items()},
        day_totals={day: Usage.from_stored(entry[0]) for day, entry in days.items()},
        day_counts={day: entry[1] for day, entry in days.items()},
        series={
            grouping: {member: {day: Usage.from_stored(v) for day, v in of.items()} for member, of in pairs}
            for grouping, pairs in document["series"].items()
        },
        key_days=dict(zip(document["keys"], document.get("active") or [], strict=False)),
        month=month,
        month_keys={key: Usage.from_stored(values) for key, values in of_month.items()},
    )


def _sk(window: int) -> str:
    return f"{window:03d}"


def read_period(table: Table, window: int) -> Period | None:
    """The stored period of `window` when its header and every part of its build are there (one
    Query), else None."""
    condition = Key("pk").eq(PK) & Key("sk").begins_with(_sk(window))
    items = list(query_all(table, KeyConditionExpression=condition))
    header = next((item for item in items if item["sk"] == _sk(window)), None)
    if header is None:
        return None
    parts = {str(item["sk"]): item for item in items if item.get("build") == header["build"] and "z" in item}
    names = [f"{_sk(window)}#{n:02d}" for n in range(int(header["parts"]))]
    if any(name not in parts for name in names):
        return None  # a build being written, or cut off: the days are read instead
    return _period_of(header, b"".join(bytes(parts[name]["z"]) for name in names))


def write_period(table: Table, period: Period, stale_parts: Iterable[str]) -> int:
    """Store `period`: its parts, then the header that names their build (a reader never takes a
    header with parts of another build); parts left from a longer document go. Returns items written."""
    packed = _document(period)
    build = uuid.uuid4().hex
    slices = [packed[i : i + SHARD_BYTES] for i in range(0, len(packed), SHARD_BYTES)] or [b""]
    names = [f"{_sk(period.window)}#{n:02d}" for n in range(len(slices))]
    parts = [
        {"pk": PK, "sk": name, "build": build, "z": data} for name, data in zip(names, slices, strict=True)
    ]
    batch_write(table, parts, [])
    header: dict[str, Any] = {
        "pk": PK,
        "sk": _sk(period.window),
        "first": period.first,
        "last": period.last,
        "fp": period.fingerprint,
        "nd": period.names_digest,
        "build": build,
        "parts": len(slices),
    }
    table.put_item(Item=header)
    gone = [{"pk": PK, "sk": sk} for sk in stale_parts if sk not in names]
    if gone:
        batch_write(table, [], gone)
    return len(slices) + 1


# -- the collector's step -------------------------------------------------------------------------
def _day_before(day: str, days: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


def _built(header: Item | None) -> tuple[object, object, bytes, bytes]:
    """What a stored header was built from: (first, last, fingerprint, names digest)."""
    header = header or {}
    return (
        header.get("first"),
        header.get("last"),
        bytes(header.get("fp") or b""),
        bytes(header.get("nd") or b""),
    )


def _unchanged(
    headers: Mapping[str, Item], spans: Mapping[int, str], last: str, digest: bytes, written: set[str]
) -> bool:
    """Whether every window's period stands as it is: the same days, the same names, and none of its
    days' `AD#key` items written since (by this store: the only writer, in this run)."""
    for window, first in spans.items():
        first_built, last_built, _, names_built = _built(headers.get(_sk(window)))
        if (first_built, last_built, names_built) != (first, last, digest):
            return False
        if any(first <= day <= last for day in written):
            return False
    return True


def _shiftable(header: Item, first: str, last: str, digest: bytes, stamps: list[Item]) -> bool:
    """Whether a stored period can be shifted to `first`..`last` by difference: built under the same
    names, on days that overlap these and begin no later, whose items it still stands for."""
    built_first, built_last, prints, names = _built(header)
    if names != digest or not isinstance(built_first, str) or not isinstance(built_last, str):
        return False
    if not built_first <= first <= built_last <= last or (built_first, built_last) == (first, last):
        return False
    return fingerprint([s for s in stamps if built_first <= label_of(s) <= built_last]) == prints


def _shifted(
    rollups: RollupStore,
    headers: Mapping[int, Item],
    *,
    spans: Mapping[int, str],
    last: str,
    stamps: list[Item],
    identities: Mapping[str, KeyIdentity],
    prints: Mapping[int, bytes],
    months: Mapping[int, tuple[str, Collection[str]]],
) -> dict[int, Period]:
    """The periods of the windows whose stored period `shift_period` moves to their new days: it
    reads the old periods and only the days they leave and gain (one day each, a day after the
    settled boundary moved), instead of every day of the window."""
    olds: dict[int, Period] = {}
    for window in headers:
        old = read_period(rollups.table, window)
        if old is not None and old.key_days:
            olds[window] = old
    wanted_days: set[str] = set()
    for window, old in olds.items():
        wanted_days |= {label_of(s) for s in stamps if old.first <= label_of(s) < spans[window]}
        wanted_days |= {label_of(s) for s in stamps if old.last < label_of(s) <= last}
    chosen = [stamp for stamp in stamps if label_of(stamp) in wanted_days]
    days = SettledDays(_day_sums(rollups.stamped_items(chosen)) if chosen else {}, identities)
    shifted: dict[int, Period] = {}
    for window, old in olds.items():
        period = shift_period(
            old,
            days,
            identities,
            fingerprint_of_days=prints[window],
            first=spans[window],
            last=last,
            month=months[window],
        )
        if period is not None:
            shifted[window] = period
    return shifted


def materialize(
    rollups: RollupStore,
    today: str,
    settlement: Settlement,
    identities: Mapping[str, KeyIdentity],
    *,
    trust_own_writes: bool,
) -> int:
    """Bring every window's period up to date with the stored `AD#key` days (run after a
    collection; `settlement` as the checkpoint will say). Reads the three headers (one small
    request); when a window's days or the names changed, or `rollups` wrote one of its days (any
    day when not `trust_own_writes`: after a backfill, whose days another run may have summed), the
    days' stamps, and the days themselves for each window whose fingerprint moved. Returns the
    items written."""
    before = settlement.settled_before()
    if before is None:
        return 0
    last = day_label(before - 1)
    spans = {window: _day_before(today, window - 1) for window in WINDOWS}
    spans = {window: first for window, first in spans.items() if first <= last}
    if not spans:
        return 0
    digest = names_digest(identities)
    headers = {
        str(item["sk"]): item
        for item in batch_get(rollups.table, [{"pk": PK, "sk": _sk(window)} for window in spans])
    }
    if trust_own_writes and _unchanged(headers, spans, last, digest, rollups.key_days_written):
        return 0  # the stamps of 90 days bill as the whole items (~2.5 MB at 1,000 keys): skipped
    built_firsts = [str(header["first"]) for header in headers.values() if header.get("first")]
    stamps = rollups.aggregate_stamps("AD", "key", min([*spans.values(), *built_firsts]), last)
    if stamps is None:
        return 0  # items written before content hashes: nothing can vouch for a period
    wanted: dict[int, bytes] = {}
    for window, first in spans.items():
        prints = fingerprint([stamp for stamp in stamps if first <= label_of(stamp) <= last])
        if _built(headers.get(_sk(window))) != (first, last, prints, digest):
            wanted[window] = prints
    if not wanted:
        return 0
    monthly = monthly_budgeted(identities)
    months = {
        window: (today[:8] + "01", monthly) if window == BUDGET_WINDOW else ("", ()) for window in wanted
    }
    shiftable = {
        window: header
        for window in wanted
        if (header := headers.get(_sk(window))) and _shiftable(header, spans[window], last, digest, stamps)
    }
    periods = _shifted(
        rollups,
        shiftable,
        spans=spans,
        last=last,
        stamps=stamps,
        identities=identities,
        prints=wanted,
        months=months,
    )
    whole = [window for window in wanted if window not in periods]
    if whole:
        first_read = min(spans[window] for window in whole)
        days = SettledDays(_day_sums(rollups.aggregate_items("AD", "key", first_read, last)), identities)
        for window in whole:
            periods[window] = build_period(
                window,
                days,
                fingerprint_of_days=wanted[window],
                names=digest,
                first=spans[window],
                last=last,
                month=months[window],
            )
    written = 0
    for window, period in periods.items():
        old_parts = [
            f"{_sk(window)}#{n:02d}" for n in range(int(headers.get(_sk(window), {}).get("parts", 0)))
        ]
        written += write_period(rollups.table, period, old_parts)
    return written
