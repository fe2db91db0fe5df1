"""The complimentary daily pools: today's use of the large and mini pools, who used them, when they ran out.

Owns the arithmetic behind `GET /api/pools` and the pool alerts. Entry point:

    pool_report(now, settings, rollups, directory, meta) -> PoolReport      (PoolReport.as_dict())

`load_pool_inputs` does the reading and `build_pool_report` the arithmetic; everything below them is
pure and tested without AWS. Facts: shared/reference/complimentary-tokens.md.

Rules
- The day is the UTC day of `now`; the pools reset at 00:00 UTC. Caps come from the stage settings
  (POOL_TIER or LARGE_POOL_CAP / MINI_POOL_CAP), never from code.
- A model's pool is `catalog.pool_of(model, on=today)`: dated snapshot stripped, family matched
  exactly. Tokens counted are input + output (`Usage.total_tokens`).
- Only projects in SHARING_PROJECTS count (empty: every project). Unclassified models are listed from
  every project: an unknown model matters wherever it runs, because it may be a new pool model.
- `exhausted_at`: the hour in which the cumulative pool total reaches the cap, and inside that hour a
  linear interpolation (tokens are assumed to be spread evenly over the hour; the current hour only
  runs to the data's as-of time).
- Over-cap tokens (the part OpenAI bills): every token of the hours after the crossing hour, plus,
  in the crossing hour, the hour's excess over the cap shared among that hour's contributors in
  proportion to their tokens in that hour (largest remainder, so the shares add up exactly to
  `used - cap`). OpenAI does not say which request got the last free token; within one hour nobody
  can know, so proportional is the fair, documented guess.
- Rate: tokens per hour over the last 3 complete hours plus the current partial hour, never reaching
  back before 00:00 UTC (yesterday's tokens counted against yesterday's pool).
- Forecast: with that rate, when the remaining tokens run out, if that is before the reset and the
  rate was measured over at least 15 minutes; otherwise null.

Reads per report: the checkpoint (data as-of), today's hourly model aggregates (one Query; not when
projects are filtered), today's cell-token documents (chalicelib.store.cell_tokens: one Query, with
the hours when projects are filtered or a pool has run out, since the over-cap split needs per-key
hours; `read_cells`). A day stored before those documents is read from its daily detail, plus its
hourly detail in those cases, as before them. Identities: MAP + DIR; UNMAPPED.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from chalicelib.catalog import Pool, pool_of
from chalicelib.keys.model import KeyIdentity, KeyMapping, UnmappedKey
from chalicelib.keys.resolve import build_identities, resolve
from chalicelib.periods import DAY, HOUR, day_label, day_start, floor_hour, hour_start, iso, report_as_of
from chalicelib.settings import Settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import Cell, RollupStore
from chalicelib.usage import Usage

PoolName = Literal["large", "mini"]
POOL_NAMES: tuple[PoolName, ...] = ("large", "mini")
RATE_WINDOW_HOURS = 3
MIN_FORECAST_WINDOW_SECONDS = 900
TOP_CONTRIBUTORS = 5

ContributorKey = tuple[str, str]
"""(api key id, model): the unit the contributors and the over-cap split are computed for."""


# -- pure arithmetic ------------------------------------------------------------------------------
def pool_caps(settings: Settings) -> dict[PoolName, int]:
    """Today's cap of each pool, from the stage settings."""
    return {"large": settings.large_pool_cap, "mini": settings.mini_pool_cap}


def counts(project: str, sharing_projects: Collection[str]) -> bool:
    """Whether a project's tokens count against the pools (every project when none are listed)."""
    return not sharing_projects or project in sharing_projects


def classify(model: str, day: str) -> Pool:
    """The pool of a model on a UTC day (the model-family revision in force that day)."""
    return pool_of(model, date.fromisoformat(day))


@dataclass(frozen=True)
class Crossing:
    """Where a cumulative hourly series reaches a cap: the hour, the tokens before it, in it, and when."""

    hour: int
    before: int
    in_hour: int
    at: int


def find_crossing(series: Mapping[int, int], cap: int, as_of: int) -> Crossing | None:
    """The first hour (start, Unix seconds) in which the running total of `series` reaches `cap`.

    `at` interpolates linearly inside that hour; the hour containing `as_of` is taken to end at
    `as_of`, since its tokens so far were spent before then. None when the total stays below the cap.
    """
    total = 0
    for hour in sorted(series):
        tokens = series[hour]
        if tokens <= 0:
            continue
        if total + tokens >= cap:
            length = min(HOUR, as_of - hour) if hour <= as_of < hour + HOUR else HOUR
            needed = max(cap - total, 0)
            at = hour + math.ceil(max(length, 0) * needed / tokens)
            return Crossing(hour=hour, before=total, in_hour=tokens, at=at)
        total += tokens
    return None


def split_over_cap(hourly: Mapping[int, Mapping[ContributorKey, int]], cap: int) -> dict[ContributorKey, int]:
    """Each contributor's tokens that fell after the cap was reached (see the module docstring).

    Hours after the crossing count whole; the crossing hour's excess is shared in proportion to each
    contributor's tokens in that hour, by largest remainder (ties by contributor), so the shares sum to
    exactly the pool's total minus the cap. Contributors with no over-cap tokens are left out.
    """
    series = {hour: sum(cells.values()) for hour, cells in hourly.items()}
    crossing = find_crossing(series, cap, as_of=max(series, default=0) + HOUR)
    if crossing is None:
        return {}
    over: dict[ContributorKey, int] = defaultdict(int)
    for hour, cells in hourly.items():
        if hour > crossing.hour:
            for who, tokens in cells.items():
                over[who] += tokens
    excess = crossing.before + crossing.in_hour - cap
    if excess > 0:
        cells = {who: tokens for who, tokens in hourly[crossing.hour].items() if tokens > 0}
        floors = {who: tokens * excess // crossing.in_hour for who, tokens in cells.items()}
        left = excess - sum(floors.values())
        by_remainder = sorted(cells, key=lambda who: (-(cells[who] * excess % crossing.in_hour), who))
        for who in by_remainder[:left]:
            floors[who] += 1
        for who, tokens in floors.items():
            over[who] += tokens
    return {who: tokens for who, tokens in over.items() if tokens > 0}


def hourly_rate(
    series: Mapping[int, int], as_of: int, *, hours: int = RATE_WINDOW_HOURS
) -> tuple[float, int]:
    """(tokens per hour, window seconds) over the last `hours` complete hours and the current partial
    one, never before 00:00 UTC of `as_of`'s day. A zero-length window gives a rate of 0."""
    window_start = max(as_of - as_of % DAY, floor_hour(as_of) - hours * HOUR)
    window = as_of - window_start
    if window <= 0:
        return 0.0, 0
    tokens = sum(value for hour, value in series.items() if window_start <= hour < as_of)
    return tokens * HOUR / window, window


def forecast_exhaustion(
    used: int, cap: int, rate_per_hour: float, as_of: int, window_seconds: int
) -> int | None:
    """When `cap` is reached at the current rate, if before the next 00:00 UTC; else None.

    None too when the pool is already exhausted (see `exhausted_at`) or the rate was measured over
    less than 15 minutes (right after midnight one burst would forecast doom).
    """
    if used >= cap or rate_per_hour <= 0 or window_seconds < MIN_FORECAST_WINDOW_SECONDS:
        return None
    at = as_of + math.ceil((cap - used) / rate_per_hour * HOUR)
    return at if at < as_of - as_of % DAY + DAY else None


# -- report types ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contributor:
    """One key's use of one model in a pool today."""

    api_key_id: str
    name: str
    owner: str | None
    model: str
    tokens: int
    over_cap_tokens: int = 0


@dataclass(frozen=True)
class KeyShare:
    """One key's use of a pool today, all models together."""

    api_key_id: str
    name: str
    owner: str | None
    tokens: int
    over_cap_tokens: int = 0


@dataclass(frozen=True)
class PoolStatus:
    """One pool today. Times are Unix seconds."""

    pool: PoolName
    cap: int
    used: int
    rate_per_hour: float
    forecast_exhausted_at: int | None
    exhausted_at: int | None
    contributors: tuple[Contributor, ...] = ()  # every key x model, most tokens first
    keys: tuple[KeyShare, ...] = ()  # every key, most tokens first

    @property
    def percent(self) -> float:
        """Used as a percentage of the cap (may exceed 100)."""
        return round(self.used * 100 / self.cap, 2) if self.cap else 0.0

    @property
    def remaining(self) -> int:
        """Tokens left before the cap (never negative)."""
        return max(self.cap - self.used, 0)

    @property
    def over_cap_tokens(self) -> int:
        """Tokens past the cap: what OpenAI bills at list price."""
        return max(self.used - self.cap, 0)

    def top_contributors(self, limit: int = TOP_CONTRIBUTORS) -> tuple[Contributor, ...]:
        """The `limit` key x model pairs with the most tokens."""
        return self.contributors[:limit]

    def as_dict(self) -> dict[str, Any]:
        """The contract's pool object (docs/api-contract.md), plus `over_cap_tokens` and `keys`."""
        return {
            "pool": self.pool,
            "cap": self.cap,
            "used": self.used,
            "percent": self.percent,
            "remaining": self.remaining,
            "over_cap_tokens": self.over_cap_tokens,
            "rate_per_hour": round(self.rate_per_hour, 1),
            "forecast_exhausted_at": iso(self.forecast_exhausted_at) if self.forecast_exhausted_at else None,
            "exhausted_at": iso(self.exhausted_at) if self.exhausted_at else None,
            "top_contributors": [asdict(entry) for entry in self.top_contributors()],
            "keys": [asdict(entry) for entry in self.keys],
        }


@dataclass(frozen=True)
class ModelTokens:
    """An unclassified model's tokens today, with who used it."""

    model: str
    tokens: int
    contributors: tuple[Contributor, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The contract's `{"model", "tokens"}`."""
        return {"model": self.model, "tokens": self.tokens}


@dataclass(frozen=True)
class PoolReport:
    """Both pools today, unclassified models and unmapped keys: what `GET /api/pools` returns."""

    day: str
    now: int
    data_as_of: int | None
    tier: str
    sharing_projects: tuple[str, ...]
    pools: tuple[PoolStatus, ...]
    unclassified_models: tuple[ModelTokens, ...] = ()
    unmapped_keys: tuple[UnmappedKey, ...] = ()

    @property
    def resets_at(self) -> int:
        """The next 00:00 UTC."""
        return day_start(self.day) + DAY

    def pool(self, name: PoolName) -> PoolStatus:
        """One pool's status."""
        return next(status for status in self.pools if status.pool == name)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form of docs/api-contract.md `GET /api/pools` (plus `sharing_projects`, empty
        meaning every project, and the per-pool additions of `PoolStatus.as_dict`)."""
        return {
            "date": self.day,
            "data_as_of": iso(self.data_as_of) if self.data_as_of else None,
            "resets_at": iso(self.resets_at),
            "tier": self.tier,
            "sharing_projects": list(self.sharing_projects),
            "pools": [status.as_dict() for status in self.pools],
            "unclassified_models": [entry.as_dict() for entry in self.unclassified_models],
            "unmapped_keys": [
                {"api_key_id": entry.key_id, "first_seen": iso(entry.first_seen)}
                for entry in self.unmapped_keys
            ],
        }


# -- building the report (pure) -------------------------------------------------------------------
@dataclass(frozen=True)
class PoolInputs:
    """What one report is computed from; `load_pool_inputs` reads it, tests build it.

    `daily_cells`: today's tokens per cell, every project (a cell without tokens may be left out).
    `pool_hours`: per pool, hour start -> tokens of counted projects. `cell_hours`: (hour start, cell,
    tokens) of every project, or None when not read (then no over-cap split is possible and the report
    assumes none was needed).
    """

    now: int
    data_as_of: int | None
    daily_cells: Mapping[Cell, int]
    pool_hours: Mapping[PoolName, Mapping[int, int]]
    cell_hours: Sequence[tuple[int, Cell, int]] | None = None
    identities: Mapping[str, KeyIdentity] = field(default_factory=dict)
    unmapped: Sequence[UnmappedKey] = ()

    @property
    def day(self) -> str:
        """The UTC day reported on."""
        return day_label(self.now)

    @property
    def as_of(self) -> int:
        """The moment the numbers describe (`report_as_of`)."""
        return report_as_of(self.now, self.data_as_of)


def _person(key_id: str, identities: Mapping[str, KeyIdentity]) -> tuple[str, str | None]:
    identity = resolve(key_id, identities)
    return identity.name, identity.owner


def _contributors(
    tokens: Mapping[ContributorKey, int],
    over: Mapping[ContributorKey, int],
    identities: Mapping[str, KeyIdentity],
) -> tuple[Contributor, ...]:
    rows = []
    for (key_id, model), count in tokens.items():
        name, owner = _person(key_id, identities)
        rows.append(Contributor(key_id, name, owner, model, count, over.get((key_id, model), 0)))
    return tuple(sorted(rows, key=lambda row: (-row.tokens, row.api_key_id, row.model)))


def _key_shares(contributors: Iterable[Contributor]) -> tuple[KeyShare, ...]:
    totals: dict[str, list[int]] = {}
    people: dict[str, tuple[str, str | None]] = {}
    for row in contributors:
        pair = totals.setdefault(row.api_key_id, [0, 0])
        pair[0] += row.tokens
        pair[1] += row.over_cap_tokens
        people[row.api_key_id] = (row.name, row.owner)
    shares = [KeyShare(key, *people[key], tokens, over) for key, (tokens, over) in totals.items()]
    return tuple(sorted(shares, key=lambda share: (-share.tokens, share.api_key_id)))


def _hourly_by_contributor(
    cell_hours: Iterable[tuple[int, Cell, int]], pool: PoolName, day: str, sharing: Collection[str]
) -> dict[int, dict[ContributorKey, int]]:
    hourly: dict[int, dict[ContributorKey, int]] = defaultdict(lambda: defaultdict(int))
    for hour, cell, tokens in cell_hours:
        if tokens and counts(cell.project, sharing) and classify(cell.model, day) == pool:
            hourly[hour][(cell.key, cell.model)] += tokens
    return hourly


def build_pool_status(pool: PoolName, cap: int, inputs: PoolInputs, sharing: Collection[str]) -> PoolStatus:
    """One pool's status from the inputs (pure)."""
    day = inputs.day
    tokens: dict[ContributorKey, int] = defaultdict(int)
    for cell, count in inputs.daily_cells.items():
        if count and counts(cell.project, sharing) and classify(cell.model, day) == pool:
            tokens[(cell.key, cell.model)] += count
    used = sum(tokens.values())
    series = inputs.pool_hours.get(pool, {})
    crossing = find_crossing(series, cap, inputs.as_of) if used >= cap else None
    over: dict[ContributorKey, int] = {}
    if used >= cap and inputs.cell_hours is not None:
        over = split_over_cap(_hourly_by_contributor(inputs.cell_hours, pool, day, sharing), cap)
    rate, window = hourly_rate(series, inputs.as_of)
    contributors = _contributors(tokens, over, inputs.identities)
    return PoolStatus(
        pool=pool,
        cap=cap,
        used=used,
        rate_per_hour=rate,
        forecast_exhausted_at=forecast_exhaustion(used, cap, rate, inputs.as_of, window),
        # The daily and hourly items are written in one batch but not atomically: should a reader
        # catch them apart, the pool ran out no later than the data's as-of time.
        exhausted_at=(crossing.at if crossing else inputs.as_of) if used >= cap else None,
        contributors=contributors,
        keys=_key_shares(contributors),
    )


def unclassified_models(inputs: PoolInputs) -> tuple[ModelTokens, ...]:
    """Today's models in no pool list, every project, most tokens first, with their contributors."""
    by_model: dict[str, dict[ContributorKey, int]] = defaultdict(lambda: defaultdict(int))
    for cell, count in inputs.daily_cells.items():
        if count and classify(cell.model, inputs.day) == "unclassified":
            by_model[cell.model][(cell.key, cell.model)] += count
    models = [
        ModelTokens(model, sum(cells.values()), _contributors(cells, {}, inputs.identities))
        for model, cells in by_model.items()
    ]
    return tuple(sorted(models, key=lambda entry: (-entry.tokens, entry.model)))


def build_pool_report(inputs: PoolInputs, settings: Settings) -> PoolReport:
    """The whole report from its inputs (pure)."""
    caps = pool_caps(settings)
    sharing = settings.sharing_projects
    return PoolReport(
        day=inputs.day,
        now=inputs.now,
        data_as_of=inputs.data_as_of,
        tier=settings.pool_tier,
        sharing_projects=tuple(sharing),
        pools=tuple(build_pool_status(pool, caps[pool], inputs, sharing) for pool in POOL_NAMES),
        unclassified_models=unclassified_models(inputs),
        unmapped_keys=tuple(sorted(inputs.unmapped, key=lambda entry: (-entry.first_seen, entry.key_id))),
    )


# -- reading ----------------------------------------------------------------------------------------
def pool_name(pool: Pool) -> PoolName | None:
    """The pool as one of the two capped pools, or None for "ineligible" and "unclassified"."""
    if pool == "large":
        return "large"
    if pool == "mini":
        return "mini"
    return None


def _pool_series_from_cells(
    cell_hours: Iterable[tuple[int, Cell, int]], day: str, sharing: Collection[str]
) -> dict[PoolName, dict[int, int]]:
    series: dict[PoolName, dict[int, int]] = {pool: defaultdict(int) for pool in POOL_NAMES}
    for hour, cell, tokens in cell_hours:
        pool = pool_name(classify(cell.model, day))
        if tokens and pool is not None and counts(cell.project, sharing):
            series[pool][hour] += tokens
    return series


def _pool_series_from_models(
    hourly: Mapping[str, Mapping[str, Usage]], day: str
) -> dict[PoolName, dict[int, int]]:
    series: dict[PoolName, dict[int, int]] = {pool: defaultdict(int) for pool in POOL_NAMES}
    for label, members in hourly.items():
        for model, usage in members.items():
            pool = pool_name(classify(model, day))
            if pool is not None and usage.total_tokens:
                series[pool][hour_start(label)] += usage.total_tokens
    return series


@dataclass(frozen=True)
class ReadAlready:
    """Inputs of `load_pool_inputs` a caller has read: today's `AH#model` hours, mappings, unmapped."""

    model_hours: Mapping[str, Mapping[str, Usage]]
    mappings: Sequence[KeyMapping]
    unmapped: Sequence[UnmappedKey]


def needs_hours(daily: Mapping[Cell, int], day: str, settings: Settings) -> bool:
    """Whether the report needs today's tokens per hour and cell: projects are filtered (the pool
    series counts some projects only) or a pool has run out (the over-cap split)."""
    sharing = settings.sharing_projects
    if sharing:
        return True
    used: dict[str, int] = defaultdict(int)
    for cell, tokens in daily.items():
        used[classify(cell.model, day)] += tokens
    caps = pool_caps(settings)
    return any(used[pool] >= caps[pool] for pool in POOL_NAMES)


CellHours = list[tuple[int, Cell, int]]


def _detail_hours(rollups: RollupStore, day: str) -> CellHours:
    return [
        (hour_start(label), cell, usage.total_tokens)
        for label, cell, usage in rollups.hourly_detail(day)
        if usage.total_tokens
    ]


def read_cells(
    rollups: RollupStore, day: str, settings: Settings, *, likely_hours: bool
) -> tuple[dict[Cell, int], CellHours | None]:
    """Today's tokens per cell, and per hour and cell when `needs_hours` (else None).

    From the day's cell-token documents (`RollupStore.cell_tokens`): one Query, with the hours when
    `likely_hours` (the caller's guess, so that one Query usually suffices; a wrong guess costs a
    second Query, never a wrong answer). A day written before those documents is read from its daily
    and hourly detail, as before them."""
    stored = rollups.cell_tokens(day, hours=likely_hours)
    if stored is None:
        daily: dict[Cell, int] = defaultdict(int)
        for _, cell, usage in rollups.daily_detail(day, day):
            daily[cell] += usage.total_tokens
        return dict(daily), _detail_hours(rollups, day) if needs_hours(daily, day, settings) else None
    if not needs_hours(stored.daily, day, settings):
        return stored.daily, None
    again = stored if stored.hourly is not None else rollups.cell_tokens(day, hours=True)
    if again is None or again.hourly is None:  # the documents went between two Queries: the detail
        return stored.daily, _detail_hours(rollups, day)
    return stored.daily, [(hour_start(label), cell, tokens) for label, cell, tokens in again.hourly]


def load_pool_inputs(
    now: int,
    settings: Settings,
    rollups: RollupStore,
    directory: DirectoryStore,
    meta: MetaStore | None = None,
    *,
    data_as_of: int | None = None,
    read: ReadAlready | None = None,
) -> PoolInputs:
    """Read what today's report needs. `data_as_of` defaults to the checkpoint's usage as-of time (the
    alert hook passes its run's time: the checkpoint is written after the hook). `read`: parts the
    caller has read already (chalicelib.query.pools, for its memo key), not read again."""
    day = day_label(now)
    if data_as_of is None and meta is not None:
        data_as_of = meta.checkpoint().usage_as_of
    sharing = settings.sharing_projects
    model_series: dict[PoolName, dict[int, int]] | None = None
    if not sharing:
        model_hours = (
            read.model_hours
            if read is not None
            else rollups.hourly_aggregates("model", f"{day}T00", f"{day}T23")
        )
        model_series = _pool_series_from_models(model_hours, day)
    caps = pool_caps(settings)
    # Hours by the model aggregates' count of the pools (the cells decide: `read_cells`).
    likely = model_series is None or any(sum(model_series[p].values()) >= caps[p] for p in POOL_NAMES)
    daily, cell_hours = read_cells(rollups, day, settings, likely_hours=likely)
    if model_series is None and cell_hours is not None:
        pool_hours = _pool_series_from_cells(cell_hours, day, sharing)
    else:
        pool_hours = model_series or {}
    mappings = read.mappings if read is not None else directory.list_mappings()
    return PoolInputs(
        now=now,
        data_as_of=data_as_of,
        daily_cells=daily,
        pool_hours=pool_hours,
        cell_hours=cell_hours,
        identities=build_identities(mappings, directory.directory()),
        unmapped=tuple(read.unmapped if read is not None else directory.list_unmapped()),
    )


def pool_report(
    now: int,
    settings: Settings,
    rollups: RollupStore,
    directory: DirectoryStore,
    meta: MetaStore | None = None,
    *,
    data_as_of: int | None = None,
    read: ReadAlready | None = None,
) -> PoolReport:
    """Today's (UTC day of `now`) pools: `GET /api/pools` is `pool_report(...).as_dict()`."""
    return build_pool_report(
        load_pool_inputs(now, settings, rollups, directory, meta, data_as_of=data_as_of, read=read),
        settings,
    )


__all__ = [
    "POOL_NAMES",
    "Contributor",
    "KeyShare",
    "ModelTokens",
    "PoolInputs",
    "PoolName",
    "PoolReport",
    "PoolStatus",
    "ReadAlready",
    "build_pool_report",
    "classify",
    "counts",
    "find_crossing",
    "forecast_exhaustion",
    "hourly_rate",
    "load_pool_inputs",
    "needs_hours",
    "pool_caps",
    "pool_name",
    "pool_report",
    "read_cells",
    "split_over_cap",
]
