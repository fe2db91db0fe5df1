"""The collector: OpenAI usage and costs into rollups, exact and idempotent.

Every run recomputes whole UTC days from OpenAI and overwrites the stored items with absolute
values, so repeated, overlapping or interrupted runs all converge to OpenAI's numbers:

1. The window is whole UTC days from `reread_hours` before now (late revisions) or the last
   successful data-as-of time, whichever is earlier (catch-up, bounded), up to now.
2. Usage of every kind in 1h buckets (vector storage, a daily level, in 1d) grouped by key,
   model and project where the API allows (completions and decisions also by batch and service
   tier, priced per row), all pages; costs in 1d buckets grouped by key, project and line item
   (by project and line item where OpenAI refuses key grouping), for the same days.
3. Per day: hourly cells, daily cells (sum of hours, plus billed dollars), estimated dollars from
   the price table; `RollupStore.replace_day` writes only what changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from chalicelib.catalog import parse_amount
from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.errors import OpenAIMalformedData, OpenAIRequestError
from chalicelib.kinds import KIND_OF, KINDS
from chalicelib.money import apportion_day, member_of_line_item
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.periods import DAY, HOUR, day_label, day_start, floor_day, hour_label
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage, canonical, with_fields

COST_GROUPING_BY_KEY = ("api_key_id", "project_id", "line_item")
COST_GROUPING_BY_PROJECT = ("project_id", "line_item")
BACKFILL_CHUNK_DAYS = 7  # 168 hourly buckets: one page per usage kind

Json = dict[str, Any]


class Prices(Protocol):
    """What the collector needs of the price table."""

    def estimate_usd(
        self, model: str, usage: Usage, on: date, *, batch: bool = False, service_tier: str | None = None
    ) -> Decimal | None:
        """Estimated cost of `usage` of `model` on a day at the row's processing tier, or None
        when something in it has no price."""


@dataclass(frozen=True)
class CollectorConfig:
    """The collector's knobs (from Settings in production, explicit in tests)."""

    reread_hours: int = 48
    hourly_retention_days: int = 35
    max_catchup_days: int = 31


@dataclass
class CollectionResult:
    """What one collection (incremental run or backfill chunk) read and wrote."""

    window_start: int = 0
    window_end: int = 0
    days: list[str] = field(default_factory=list)
    buckets_read: int = 0
    rows_read: int = 0
    items_written: int = 0
    key_ids_seen: set[str] = field(default_factory=set)
    cost_grouping: str = "api_key_id"

    def merge(self, other: CollectionResult) -> None:
        """Fold a later chunk's result into this one."""
        self.window_end = other.window_end
        self.days += other.days
        self.buckets_read += other.buckets_read
        self.rows_read += other.rows_read
        self.items_written += other.items_written
        self.key_ids_seen |= other.key_ids_seen
        self.cost_grouping = other.cost_grouping


# -- pure arithmetic ---------------------------------------------------------------------------
def _count(row: Json, name: str) -> int:
    value = row.get(name)
    if value is None:  # absent or null: the kind does not have this counter
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        # a count we cannot read must fail the run, not be stored as 0 (OpenAI would differ from us)
        raise OpenAIMalformedData(f"usage row has a {name} that is not a number: {str(value)[:40]!r}")
    return int(value)


def _member(row: Json, name: str) -> str:
    value = row.get(name)
    return str(value) if value else UNATTRIBUTED


def usage_of_row(row: Json, kind: str = "completions") -> Usage:
    """The counters of one usage result row of `kind`; unknown fields are ignored.

    A vector_stores row is a 1d bucket's: its bytes count as held for 24 hours (byte-hours).
    Token fields follow the SDK (openai 3.51.0): `input_tokens` already includes cached and
    cache-write tokens, so nothing is added to it. Cache writes without their 30m/12h split count
    as 30m (the default retention). Rows grouped by batch/service_tier add their tokens to
    `batch_tokens`, `flex_tokens` or `priority_tokens`.
    """
    declared = KIND_OF.get(kind)
    if declared is not None and declared.counter is not None:
        # A per-call kind's `num_model_requests` are the model requests that called the tool,
        # already counted by completions: not counted again.
        name, source = declared.counter
        counters: dict[str, Any] = {name: _count(row, source) * declared.hours}
        return Usage(**counters)
    write_30m = _count(row, "input_cache_write_30m_tokens")
    write_12h = _count(row, "input_cache_write_12h_tokens")
    write_30m += max(_count(row, "input_cache_write_tokens") - write_30m - write_12h, 0)
    input_tokens = _count(row, "input_tokens")
    output_tokens = _count(row, "output_tokens")
    tier = row.get("service_tier")
    tokens = input_tokens + output_tokens
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=_count(row, "input_cached_tokens"),
        audio_input_tokens=_count(row, "input_audio_tokens"),
        audio_output_tokens=_count(row, "output_audio_tokens"),
        requests=_count(row, "num_model_requests"),
        images=_count(row, "images"),
        characters=_count(row, "characters"),
        seconds=_count(row, "seconds"),
        cache_write_30m_tokens=write_30m,
        cache_write_12h_tokens=write_12h,
        cached_audio_tokens=_count(row, "input_cached_audio_tokens"),
        cached_image_tokens=_count(row, "input_cached_image_tokens"),
        image_input_tokens=_count(row, "input_image_tokens"),
        image_output_tokens=_count(row, "output_image_tokens"),
        batch_tokens=tokens if row.get("batch") is True else 0,
        flex_tokens=tokens if tier == "flex" else 0,
        priority_tokens=tokens if tier == "priority" else 0,
    )


def cell_of_row(row: Json) -> Cell:
    """The key x model x project a row belongs to; nulls become "unattributed", never dropped."""
    return Cell(
        key=_member(row, "api_key_id"), model=_member(row, "model"), project=_member(row, "project_id")
    )


def _processing(row: Json) -> tuple[bool, str | None]:
    """A row's batch flag and service tier: what changes its price."""
    tier = row.get("service_tier")
    return row.get("batch") is True, tier if isinstance(tier, str) and tier else None


def priced(
    model: str,
    usage: Usage,
    on: date,
    prices: Prices,
    *,
    batch: bool = False,
    service_tier: str | None = None,
) -> Usage:
    """`usage` with its estimated dollars, or with its tokens counted as unpriced."""
    estimate = prices.estimate_usd(model, usage, on, batch=batch, service_tier=service_tier)
    if estimate is None:
        return with_fields(usage, unpriced_tokens=usage.total_tokens)
    return with_fields(usage, estimated_usd=estimate)


def priced_row(row: Json, kind: str, day: str, prices: Prices) -> tuple[Cell, Usage]:
    """One row's cell and its priced usage, at the row's own batch/tier price."""
    cell = cell_of_row(row)
    batch, tier = _processing(row)
    return cell, priced(
        cell.model, usage_of_row(row, kind), _date(day), prices, batch=batch, service_tier=tier
    )


KindBucket = tuple[str, Json]


def hourly_cells(buckets: Iterable[KindBucket], prices: Prices) -> dict[tuple[str, Cell], Usage]:
    """Sum usage rows of (kind, 1h bucket) pairs into (hour label, cell) -> priced Usage.

    Rows are summed per cell, kind family and processing tier first and priced as such (a batch
    row at batch price, a web search at the search price), then the priced parts of a cell add up.
    """
    raw: dict[tuple[str, Cell, bool, bool, str | None], Usage] = {}
    for kind, bucket in buckets:
        hour = hour_label(int(bucket["start_time"]))
        declared = KIND_OF.get(kind)
        is_tool = declared is not None and declared.per_call
        for row in bucket.get("results") or []:
            batch, tier = _processing(row)
            key = (hour, cell_of_row(row), is_tool, batch, tier)
            usage = usage_of_row(row, kind)
            raw[key] = raw[key] + usage if key in raw else usage
    cells: dict[tuple[str, Cell], Usage] = {}
    for key in list(raw):  # in order, each raw sum let go once priced (peak memory)
        hour, cell, _tool, batch, tier = key
        usage = raw.pop(key)
        value = priced(cell.model, usage, _date(hour[:10]), prices, batch=batch, service_tier=tier)
        cells[(hour, cell)] = cells[(hour, cell)] + value if (hour, cell) in cells else value
    # Rounded as stored before days and aggregates sum them, so every sum equals its stored parts.
    for place, usage in cells.items():
        cells[place] = canonical(usage)  # in place: the order stays, no second dict
    return cells


def billed_cells(buckets: Iterable[Json]) -> dict[tuple[str, Cell], Decimal]:
    """Sum cost rows of 1d buckets into (day label, cell) -> billed USD; the model member comes from
    the line item (chalicelib.money.member_of_line_item: a model, or an `item:` that is not one)."""
    billed: dict[tuple[str, Cell], Decimal] = {}
    for bucket in buckets:
        day = day_label(int(bucket["start_time"]))
        for row in bucket.get("results") or []:
            line_item = row.get("line_item")
            model = (member_of_line_item(line_item) if isinstance(line_item, str) else "") or UNATTRIBUTED
            cell = Cell(key=_member(row, "api_key_id"), model=model, project=_member(row, "project_id"))
            amount = parse_amount((row.get("amount") or {}).get("value"))
            billed[(day, cell)] = billed.get((day, cell), Decimal(0)) + amount
    return billed


def each_day_rollup(
    days: Iterable[str],
    hourly: dict[tuple[str, Cell], Usage],
    billed: dict[tuple[str, Cell], Decimal],
    *,
    by_key: bool = True,
) -> Iterator[DayRollup]:
    """One DayRollup per day, in day order: hourly cells with the day's bill apportioned over them
    (chalicelib.money.apportion_day), and daily cells as the sums of their hours, so that the hours
    of a day always add up to the day, dollars included. `hourly` and `billed` are split by day at
    the call; a caller that drops them then holds one day's rollup at a time (at 10,000 keys a day's
    cells are ~80 MB in Python objects)."""
    hours_of: dict[str, dict[tuple[str, Cell], Usage]] = {day: {} for day in days}
    bills_of: dict[str, dict[Cell, Decimal]] = {day: {} for day in hours_of}
    for (hour, cell), usage in hourly.items():
        if hour[:10] in hours_of:
            hours_of[hour[:10]][(hour, cell)] = usage
    for (day, cell), amount in billed.items():
        if day in bills_of:
            bills_of[day][cell] = bills_of[day].get(cell, Decimal(0)) + amount
    return _rollups_of(hours_of, bills_of, by_key)


def _rollups_of(
    hours_of: dict[str, dict[tuple[str, Cell], Usage]], bills_of: dict[str, dict[Cell, Decimal]], by_key: bool
) -> Iterator[DayRollup]:
    for day in sorted(hours_of):
        cells = hours_of.pop(day)  # let go of each day once its rollup is taken
        for (hour, cell), amount in apportion_day(day, cells, bills_of.pop(day), by_key=by_key).items():
            known = cells.get((hour, cell))
            cells[(hour, cell)] = with_fields(known, billed_usd=amount) if known else Usage(billed_usd=amount)
        rollup = DayRollup(day=day, hourly=cells)
        for (_hour, cell), usage in cells.items():
            rollup.daily[cell] = rollup.daily[cell] + usage if cell in rollup.daily else usage
        yield rollup


@lru_cache(maxsize=512)
def _date(label: str) -> date:
    # cached: strptime costs ~15 us, and every one of ~80,000 rows a run at 10,000 keys asks
    return datetime.strptime(label, "%Y-%m-%d").replace(tzinfo=UTC).date()


def incremental_window(now: int, usage_as_of: int | None, config: CollectorConfig) -> tuple[int, int]:
    """[start, end) of an incremental run: whole days back to the re-read horizon or the last
    data-as-of time (whichever is earlier, at most `max_catchup_days` back), up to now."""
    start = floor_day(now - config.reread_hours * HOUR)
    if usage_as_of is not None and usage_as_of < start:
        start = max(floor_day(usage_as_of), floor_day(now) - config.max_catchup_days * DAY)
    return start, now


# -- reading OpenAI and writing rollups --------------------------------------------------------
def _draining(buckets: list[Json]) -> Iterator[Json]:
    """The buckets in order, each let go of by the list as it is handed on (peak memory)."""
    buckets.reverse()
    while buckets:
        yield buckets.pop()


class Collector:
    """Reads one window from OpenAI and stores its rollups."""

    def __init__(
        self,
        client: OpenAIAdminClient,
        rollups: RollupStore,
        prices: Prices,
        config: CollectorConfig,
        *,
        cost_grouping: str = "api_key_id",
    ) -> None:
        self._client = client
        self._rollups = rollups
        self._prices = prices
        self._config = config
        self.cost_grouping = cost_grouping

    def _usage_buckets(self, start: int, end: int, result: CollectionResult) -> Iterator[KindBucket]:
        for kind in KINDS:
            for bucket in self._client.usage_buckets(kind.name, start, end, bucket_width=kind.width):
                result.buckets_read += 1
                result.rows_read += len(bucket.get("results") or [])
                yield kind.name, bucket
                # consumed (hourly_cells keeps its sums): the rows go now, not with their whole page
                bucket.pop("results", None)

    def _cost_buckets(self, start: int, end: int) -> list[Json]:
        if self.cost_grouping == "api_key_id":
            try:
                return list(self._client.cost_buckets(start, end, group_by=COST_GROUPING_BY_KEY))
            except OpenAIRequestError as exc:
                if exc.param != "group_by":
                    raise
                self.cost_grouping = "project_id"  # older orgs refuse api_key_id grouping of costs
        return list(self._client.cost_buckets(start, end, group_by=COST_GROUPING_BY_PROJECT))

    def collect_window(self, start: int, end: int, now: int) -> CollectionResult:
        """Recompute and store the whole UTC days of [start, end); `start` must be a day boundary."""
        result = CollectionResult(window_start=start, window_end=end, cost_grouping=self.cost_grouping)
        days = [day_label(ts) for ts in range(start, end, DAY)]
        # Costs first: their page (~130 MB parsed at 10,000 keys) is read while nothing else is held,
        # and shrinks to a few thousand sums before the usage pages come.
        billed = billed_cells(_draining(self._cost_buckets(start, end)))
        result.cost_grouping = self.cost_grouping
        hourly = hourly_cells(self._usage_buckets(start, end, result), self._prices)
        result.key_ids_seen = {cell.key for _, cell in hourly if cell.key != UNATTRIBUTED}
        rollups = each_day_rollup(days, hourly, billed, by_key=self.cost_grouping != "project_id")
        del hourly, billed  # from here on, one day's cells at a time (peak memory at 10,000 keys)
        for rollup in rollups:
            keep_hourly = day_start(rollup.day) + DAY + self._config.hourly_retention_days * DAY > now
            result.items_written += self._rollups.replace_day(
                rollup,
                keep_hourly=keep_hourly,
                hourly_retention_days=self._config.hourly_retention_days,
                closed=day_start(rollup.day) + DAY <= now,  # closed days also feed the key series
            )
            del rollup
        self._rollups.write_series()  # not in items_written: that counts the days' own items
        result.days = days
        return result

    def backfill(
        self,
        start: int,
        end: int,
        now: int,
        *,
        done_through: str | None = None,
        on_chunk: Callable[[CollectionResult], None] = lambda _result: None,
    ) -> CollectionResult:
        """Store whole days of [start, end) in chunks of BACKFILL_CHUNK_DAYS, skipping days up to
        `done_through`; `on_chunk` runs after each stored chunk (progress, checkpointing)."""
        end = min(end, now)
        chunk_start = start if done_through is None else max(start, day_start(done_through) + DAY)
        total = CollectionResult(
            window_start=chunk_start, window_end=chunk_start, cost_grouping=self.cost_grouping
        )
        while chunk_start < end:
            chunk_end = min(chunk_start + BACKFILL_CHUNK_DAYS * DAY, end)
            chunk = self.collect_window(chunk_start, chunk_end, now)
            total.merge(chunk)
            on_chunk(chunk)
            chunk_start = chunk_end
        return total
