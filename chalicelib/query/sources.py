"""Where a usage report's records come from: the rollup store (1h, 1d) or OpenAI live (1m).

The query plan (`plan`): every grouping dimension and every filter rests on one stored dimension
(key for api_key_id/owner/team and the teams filter, model for model/pool, project for project_id).
When they all rest on the same one, or on none, the report reads the aggregate items of that
dimension (`AD#<dim>`: one item per day, every member inside), else the detail items (`DD#<month>`:
one item per day x key x model x project). A 30-day daily report grouped by key is thus one Query
of 30 small items; a combination reads the month partitions of detail.

The live path reads `/organization/usage/*` at 1m width grouped by key, model and project (one call
per usage kind for up to 6 hours) and keeps the answer for `LIVE_CACHE_SECONDS`, in memory and, for
the other API instances, in the table; new windows are rate-limited (chalicelib.query.live): a page
view never costs more than one round of OpenAI calls a minute per period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from chalicelib.catalog import PriceTable
from chalicelib.dimensions import BASE_OF, Base
from chalicelib.kinds import KINDS
from chalicelib.periods import DAY, day_label, day_start, hour_label, hour_start
from chalicelib.query.report import Record
from chalicelib.query.selection import Selection
from chalicelib.store.rollups import CONTENT_HASH, Item, RollupStore, fingerprint, label_of, members
from chalicelib.store.series import MAX_READ_ITEMS, aggregate_sk, hash_text, parts_of, usage_of
from chalicelib.ttl_cache import TTLCache
from chalicelib.usage import Usage

if TYPE_CHECKING:
    from chalicelib.openai_api import OpenAIAdminClient

LIVE_CACHE_SECONDS = 60
LIVE_CACHE_MAX_ENTRIES = 32

Plan = Base | Literal["detail"]


def plan(selection: Selection) -> Plan:
    """The stored dimension whose aggregates answer `selection`, or "detail"."""
    bases = {BASE_OF[dim] for dim in selection.group_by}
    if selection.api_key_ids or selection.teams:
        bases.add("key")
    if selection.models:
        bases.add("model")
    if selection.project_ids:
        bases.add("project")
    if len(bases) > 1:
        return "detail"
    return bases.pop() if bases else "model"


def _aggregate_record(bucket: int, day: str, dim: Base, name: str, usage: Usage) -> Record:
    return Record(
        bucket=bucket,
        day=day,
        usage=usage,
        key=name if dim == "key" else None,
        model=name if dim == "model" else None,
        project=name if dim == "project" else None,
    )


def stored_records(selection: Selection, rollups: RollupStore) -> Iterator[Record]:
    """The stored records of a 1h or 1d selection, read the way `plan` says."""
    how = plan(selection)
    if selection.bucket_width == "1d":
        first, last = day_label(selection.start), day_label(selection.end - 1)
        if how == "detail":
            for day, cell, usage in rollups.daily_detail(first, last):
                yield Record(day_start(day), day, usage, cell.key, cell.model, cell.project)
            return
        for day, members in rollups.daily_aggregates(how, first, last).items():
            for name, usage in members.items():
                yield _aggregate_record(day_start(day), day, how, name, usage)
        return
    if how == "detail":
        for ts in range(day_start(day_label(selection.start)), selection.end, DAY):
            for label, cell, usage in rollups.hourly_detail(day_label(ts)):
                yield Record(hour_start(label), label[:10], usage, cell.key, cell.model, cell.project)
        return
    first_hour, last_hour = hour_label(selection.start), hour_label(selection.end - 1)
    for label, members in rollups.hourly_aggregates(how, first_hour, last_hour).items():
        for name, usage in members.items():
            yield _aggregate_record(hour_start(label), label[:10], how, name, usage)


@dataclass(frozen=True)
class StoredRead:
    """A 1h or 1d selection's stored records, decoded only when iterated, and the `fingerprint` of
    the aggregate items they come from (None for detail reads): the report memo's content key."""

    records: Iterable[Record]
    fingerprint: bytes | None


def _decoded(items: list[Item], dim: Base, hourly: bool) -> Iterator[Record]:
    for item in items:
        label = label_of(item)
        bucket = hour_start(label) if hourly else day_start(label)
        day = label[:10]
        for name, usage in members(item).items():
            yield _aggregate_record(bucket, day, dim, name, usage)


def _aggregate_span(selection: Selection, how: Base) -> Span:
    """The aggregate partition kind, base and inclusive label range a stored read of `selection` takes."""
    if selection.bucket_width == "1d":
        return "AD", how, day_label(selection.start), day_label(selection.end - 1)
    return "AH", how, hour_label(selection.start), hour_label(selection.end - 1)


Span = tuple[Literal["AD", "AH"], Base, str, str]


@dataclass(frozen=True)
class Stamps:
    """The stamps of the aggregate items a stored read of a selection takes, and their range."""

    span: Span
    stamps: list[Item]


def stored_stamps(selection: Selection, rollups: RollupStore) -> Stamps | None:
    """The stamps (keys and content hashes, a few bytes each: `RollupStore.aggregate_stamps`) of the
    items `read_stored` would read; None for a detail read or items without content hashes. A
    few-key read's vouched days give theirs from their vouchers, as `_series_read` takes them."""
    how = plan(selection)
    if how == "detail":
        return None
    span = _aggregate_span(selection, how)
    if _few_keys(selection, how):
        found = rollups.key_day_stamps(span[2], span[3])
        return None if found is None else Stamps(span, found[0])
    stamps = rollups.aggregate_stamps(*span)
    return None if stamps is None else Stamps(span, stamps)


def stored_fingerprint(selection: Selection, rollups: RollupStore) -> bytes | None:
    """The `fingerprint` `read_stored` would give, from the items' stamps, without reading the items."""
    stored = stored_stamps(selection, rollups)
    return None if stored is None else fingerprint(stored.stamps)


def vouched_series(
    keys: list[str], stamps: list[Item], rollups: RollupStore, vouched_days: frozenset[str] = frozenset()
) -> tuple[dict[str, dict[str, Usage]], list[Item]] | None:
    """Per key, its usage on each day of `stamps` (an `AD#key` range's) that the keys' series
    (chalicelib.store.series) vouch for, and the stamps of the days they do not (to be read whole);
    None when the series would take more than MAX_READ_ITEMS items. On `vouched_days` (days with a
    voucher) every member has its entry: a key without one that matches was idle that day."""
    by_day: dict[str, dict[str, str]] = {}
    for stamp in stamps:
        by_day.setdefault(label_of(stamp), {})[str(stamp["sk"])] = hash_text(bytes(stamp[CONTENT_HASH]))
    if len(keys) * len(parts_of(by_day)) > MAX_READ_ITEMS:
        return None
    entries = rollups.key_series(keys, by_day) if by_day else {}
    found: dict[str, dict[str, Usage]] = {key: {} for key in keys}
    unvouched: list[Item] = []
    for day, hashes in by_day.items():
        taken = [entries.get(key, {}).get(day) for key in keys]
        matching = [
            entry is not None and hashes.get(aggregate_sk(day, entry[0])) == entry[1] for entry in taken
        ]
        mixed = day in hashes and len(hashes) > 1  # an unsharded item beside shards: read as stored
        if day in vouched_days or (not mixed and all(matching)):
            for key, entry, matches in zip(keys, taken, matching, strict=True):
                if matches:
                    assert entry is not None
                    found[key][day] = usage_of(entry)
        else:
            unvouched += [stamp for stamp in stamps if label_of(stamp) == day]
    return found, unvouched


def _series_read(selection: Selection, rollups: RollupStore) -> StoredRead | None:
    """A daily by-key read filtered to a few keys, from the keys' series (chalicelib.store.series)
    where the day's voucher or stamps vouch for them, else from the day's aggregate items; None when
    the series cannot serve it (items without content hashes, too many series items to read)."""
    found_stamps = rollups.key_day_stamps(day_label(selection.start), day_label(selection.end - 1))
    if found_stamps is None:
        return None
    stamps, vouched_days = found_stamps
    keys = list(dict.fromkeys(selection.api_key_ids))
    vouched = vouched_series(keys, stamps, rollups, vouched_days)
    if vouched is None:
        return None
    found, unvouched = vouched
    days = sorted({day for of_key in found.values() for day in of_key})
    records = [
        _aggregate_record(day_start(day), day, "key", key, found[key][day])
        for day in days
        for key in keys
        if day in found[key]
    ]
    read = rollups.stamped_items(unvouched) if unvouched else []
    return StoredRead([*records, *_decoded(read, "key", False)], fingerprint(stamps))


def _few_keys(selection: Selection, how: Plan) -> bool:
    return (
        how == "key" and selection.bucket_width == "1d" and 0 < len(selection.api_key_ids) <= MAX_READ_ITEMS
    )


def read_stored(selection: Selection, rollups: RollupStore) -> StoredRead:
    """`stored_records` with the content fingerprint of an aggregate read (one Query, as there); a
    daily read filtered to a few keys reads their series instead where it can (`_series_read`)."""
    how = plan(selection)
    if how == "detail":
        return StoredRead(stored_records(selection, rollups), None)
    if _few_keys(selection, how):
        found = _series_read(selection, rollups)
        if found is not None:
            return found
    items = rollups.aggregate_items(*_aggregate_span(selection, how))
    return StoredRead(_decoded(items, how, selection.bucket_width == "1h"), fingerprint(items))


class LiveCache(TTLCache[tuple[str, int, int], tuple[Record, ...]]):
    """Live 1m records by (base URL, start, end), each kept LIVE_CACHE_SECONDS."""

    def __init__(self) -> None:
        super().__init__(LIVE_CACHE_SECONDS, LIVE_CACHE_MAX_ENTRIES)


LIVE_CACHE = LiveCache()


# Vector storage is a level (bytes held), measured per hour: it has no per-minute meaning.
LIVE_KINDS = tuple(kind.name for kind in KINDS if kind.live)  # vector storage is read per day


def fetch_live(client: OpenAIAdminClient, start: int, end: int, prices: PriceTable) -> tuple[Record, ...]:
    """Every usage kind at 1m width in [start, end), grouped by key, model and project, priced."""
    # the collector's row arithmetic, loaded by the live path only (not by a stored report's request)
    from chalicelib.collector import priced_row  # noqa: PLC0415

    records: list[Record] = []
    for kind in LIVE_KINDS:
        for bucket in client.usage_buckets(kind, start, end, bucket_width="1m"):
            bucket_start = int(bucket["start_time"])
            day = day_label(bucket_start)
            for row in bucket.get("results") or []:
                cell, usage = priced_row(row, kind, day, prices)
                records.append(
                    Record(bucket_start - bucket_start % 60, day, usage, cell.key, cell.model, cell.project)
                )
    return tuple(records)


def live_records(
    selection: Selection,
    now: int,
    *,
    client_factory: Callable[[], OpenAIAdminClient],
    prices: PriceTable,
    base_url: str,
    cache: LiveCache = LIVE_CACHE,
) -> tuple[Record, ...]:
    """The live records of a 1m selection, from the cache when fresh (keyed by the snapped period, so
    repeated page views within a minute share one answer). OpenAI refuses future end times, so the
    window read stops at now."""
    end = min(selection.end, now)
    if end <= selection.start:
        return ()
    key = (base_url, selection.start, selection.end)
    # shared across instances and rate-limited per token and in total (chalicelib.query.live, loaded
    # by the live path only)
    from chalicelib.query.live import gated_records  # noqa: PLC0415

    return gated_records(cache, key, lambda: fetch_live(client_factory(), selection.start, end, prices))
