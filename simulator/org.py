"""The synthetic organization: its clock, its directory, and its usage and costs over any period.

`SyntheticOrg(OrgSpec(...))` is deterministic from the seed. Its methods answer in-process what the
HTTP API answers, summed over a whole period without buckets or pages: that is the ground truth the
tests compare paginated HTTP answers against.

Group keys are tuples in the order of the `group_by` argument (`()` when ungrouped); a null
`api_key_id` (playground traffic, project-level tools) stays None. Usage truth carries each kind's
METRICS by default and every counter of openai==3.51.0 (FIELDS) with `every_field=True`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from operator import add

from simulator.billing import billed
from simulator.catalog import DEFAULT_MODELS, KINDS, SIM_KINDS
from simulator.directory import DAY, HOUR, ApiKey, Directory, Project, User, build_directory
from simulator.hashing import stable_hash, token
from simulator.ledger import Ledger, LruCache, Values
from simulator.scenarios import Scenario, check_names, default_start
from simulator.traffic import FIELDS, METRICS, Cell, Traffic

GroupKey = tuple[str | bool | None, ...]
# (project_id, api_key_id, line_item, user_id, api_source)
CostKey = tuple[str, str | None, str, str | None, str]
# amount, quantity, quantity_unit of one cost key or group
CostValue = tuple[Decimal, Decimal, str | None]

# group_by values per kind, exactly as openai==3.51.0 types them.
USAGE_GROUP_FIELDS: dict[str, tuple[str, ...]] = {kind.name: kind.group_fields for kind in SIM_KINDS}
COST_GROUP_FIELDS = ("project_id", "user_id", "line_item", "api_key_id", "api_source")
_COST_KEY_INDEX = {"project_id": 0, "api_key_id": 1, "line_item": 2, "user_id": 3, "api_source": 4}


@dataclass(frozen=True)
class OrgSpec:
    """The size and behaviour of a synthetic organization.

    `now` is the initial clock (Unix seconds; None: real time). Data exists from the UTC midnight
    `days` days before the initial clock. `settle_minutes`: how long usage keeps arriving late;
    `cost_lag_hours`: costs reflect the usage that was visible this long ago.
    `daily_spike`: the spike key's spike day (on by default). `scenarios`: any of "spike", "dormant",
    "new_model" (simulator.scenarios), starting at `scenario_start` (a whole hour; None: four hours
    before the initial clock); a dormant key is silent `dormant_days` days before it wakes.
    """

    seed: int = 1
    keys: int = 40
    projects: int = 6
    users: int = 12
    days: int = 90
    models: tuple[str, ...] = DEFAULT_MODELS
    now: int | None = None
    settle_minutes: int = 60
    cost_lag_hours: int = 6
    daily_spike: bool = True
    scenarios: tuple[str, ...] = ()
    scenario_start: int | None = None
    dormant_days: int = 10

    def __post_init__(self) -> None:
        check_names(self.scenarios)
        if self.scenario_start is not None and self.scenario_start % HOUR:
            raise ValueError("OrgSpec.scenario_start must be a whole hour")
        if self.dormant_days < 1:
            raise ValueError("OrgSpec.dormant_days must be at least 1")
        minimum = {"keys": 3, "projects": 1, "users": 1, "days": 1, "models": 1}
        for name, least in minimum.items():
            value = getattr(self, name)
            if (len(value) if isinstance(value, tuple) else value) < least:
                raise ValueError(f"OrgSpec.{name} must be at least {least}")
        if self.settle_minutes < 0 or self.cost_lag_hours < 0:
            raise ValueError("OrgSpec.settle_minutes and cost_lag_hours must not be negative")


@dataclass(frozen=True)
class UsageFilters:
    """The usage endpoints' filters; None admits everything."""

    project_ids: frozenset[str] | None = None
    user_ids: frozenset[str] | None = None
    api_key_ids: frozenset[str] | None = None
    models: frozenset[str] | None = None
    batch: bool | None = None
    sizes: frozenset[str] | None = None
    sources: frozenset[str] | None = None
    context_levels: frozenset[str] | None = None
    vector_store_ids: frozenset[str] | None = None

    def admits(self, cell: Cell) -> bool:
        """True when `cell` passes every filter (a null id never matches an id filter)."""
        checks: tuple[tuple[frozenset[str] | None, str | None], ...] = (
            (self.project_ids, cell.project_id),
            (self.user_ids, cell.user_id),
            (self.api_key_ids, cell.api_key_id),
            (self.models, cell.model),
            (self.sizes, cell.size),
            (self.sources, cell.source),
            (self.context_levels, cell.context_level),
            (self.vector_store_ids, cell.vector_store_id),
        )
        if any(allowed is not None and value not in allowed for allowed, value in checks):
            return False
        return self.batch is None or cell.batch == self.batch


@dataclass(frozen=True)
class CostFilters:
    """The costs endpoint's filters; None admits everything."""

    project_ids: frozenset[str] | None = None
    api_key_ids: frozenset[str] | None = None
    line_items: frozenset[str] | None = None

    def admits(self, key: CostKey) -> bool:
        """True when the cost key passes every filter."""
        checks = ((self.project_ids, key[0]), (self.api_key_ids, key[1]), (self.line_items, key[2]))
        return all(allowed is None or value in allowed for allowed, value in checks)


@dataclass(frozen=True)
class UsageEvent:
    """One event as visible now: its cell and its values by metric name."""

    cell: Cell
    values: dict[str, int] = field(hash=False)


class SyntheticOrg:
    """A deterministic organization with a settable clock."""

    def __init__(self, spec: OrgSpec | None = None) -> None:
        self.spec = spec or OrgSpec()
        start_now = self.spec.now if self.spec.now is not None else int(time.time())
        today = start_now - start_now % DAY
        self.origin = today - self.spec.days * DAY
        spike_day = max(self.origin, today - DAY * (2 + self.spec.seed % 4))
        self.spike_day: int | None = spike_day if self.spec.daily_spike else None
        self.organization_id = f"org-{token(24, self.spec.seed, 'org')}"
        self.directory: Directory = build_directory(
            self.spec.seed,
            n_keys=self.spec.keys,
            n_projects=self.spec.projects,
            n_users=self.spec.users,
            origin=self.origin,
            days=self.spec.days,
        )
        start = self.spec.scenario_start
        self.traffic = Traffic(
            self.spec.seed,
            self.directory,
            self.spec.models,
            self.origin,
            self.spike_day,
            scenarios=self.spec.scenarios,
            scenario_start=default_start(start_now) if start is None else start,
            dormant_days=self.spec.dormant_days,
        )
        self.scenarios: tuple[Scenario, ...] = self.traffic.scenarios
        """Ground truth of the switched-on scenarios: key, model and hours of each."""
        self.ledger = Ledger(self.traffic, self.spec.settle_minutes * 60)
        self._now = self.spec.now
        self.departed_user_ids: set[str] = set()  # users removed from the organization (remove_user)
        self._costs: LruCache[int, dict[CostKey, CostValue]] = LruCache(1024)
        self._keys: LruCache[tuple[str, tuple[str, ...], UsageFilters], list[GroupKey | None]] = LruCache(64)

    # -- clock -----------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The simulated present (Unix seconds): the fixed value when set, else real time."""
        return self._now if self._now is not None else int(time.time())

    @now.setter
    def now(self, value: int | None) -> None:
        self._now = value

    def advance(self, seconds: int) -> int:
        """Move a fixed clock forward (real time stays real) and return the new now."""
        if self._now is not None:
            self._now += seconds
        return self.now

    # -- directory -------------------------------------------------------------------------------

    def projects(self, include_archived: bool = False) -> list[Project]:
        """Projects, oldest first; archived ones only when asked."""
        projects = sorted(self.directory.projects, key=lambda p: (p.created_at, p.id))
        return [p for p in projects if include_archived or p.archived_at is None]

    def users(self) -> list[User]:
        """Organization users, oldest first (those removed with `remove_user` are no longer listed)."""
        users = [u for u in self.directory.users if u.id not in self.departed_user_ids]
        return sorted(users, key=lambda u: (u.added_at, u.id))

    def remove_user(self, user_id: str) -> None:
        """The user leaves the organization: no longer listed, while the keys they own stay listed
        with them as owner (the case key hygiene reports as `owner_departed`)."""
        self.departed_user_ids.add(user_id)

    def api_keys(self, project_id: str) -> list[ApiKey]:
        """The listed keys of a project (the deleted key is never listed)."""
        return self.directory.listed_keys(project_id)

    def last_used_at(self, key: ApiKey, now: int | None = None) -> int | None:
        """When the key was last used (to the hour), None if never."""
        now = self.now if now is None else now
        until = min(now, key.active_until or now)
        if key.id == self.directory.quiet_key_id or until <= max(key.active_from, self.origin):
            return None
        last = until - until % HOUR - HOUR * (stable_hash(self.spec.seed, "last", key.id) % 4)
        return max(last, key.active_from, self.origin)

    # -- usage -----------------------------------------------------------------------------------

    def usage_rows(
        self,
        kind: str,
        start: int,
        end: int,
        group_by: tuple[str, ...] = (),
        filters: UsageFilters | None = None,
        *,
        now: int | None = None,
        every_field: bool = False,
    ) -> list[tuple[GroupKey, dict[str, int]]]:
        """The non-zero groups of `kind` usage in [start, min(end, now)), sorted by group key; the
        kind's METRICS, or every counter (FIELDS) when `every_field`."""
        now = self.now if now is None else now
        keys = self._usage_keys(kind, group_by, filters or UsageFilters())
        totals: dict[GroupKey, list[int]] = {}
        for piece in self.ledger.pieces(kind, start, end, now):
            _accumulate(totals, piece, keys)
        names = FIELDS[kind] if every_field else METRICS[kind]
        rows = [(key, dict(zip(names, values, strict=False))) for key, values in totals.items()]
        return sorted((row for row in rows if any(row[1].values())), key=lambda row: _sort_key(row[0]))

    def usage_truth(
        self,
        kind: str,
        start: int,
        end: int,
        group_by: Iterable[str] = (),
        *,
        project_ids: Iterable[str] | None = None,
        user_ids: Iterable[str] | None = None,
        api_key_ids: Iterable[str] | None = None,
        models: Iterable[str] | None = None,
        every_field: bool = False,
    ) -> dict[GroupKey, dict[str, int]]:
        """What the API shows right now for [start, end), summed over the whole period: the kind's
        METRICS, or every counter the SDK has for it (FIELDS, e.g. the token detail) when `every_field`."""
        filters = UsageFilters(_set(project_ids), _set(user_ids), _set(api_key_ids), _set(models))
        return dict(self.usage_rows(kind, start, end, tuple(group_by), filters, every_field=every_field))

    def events(self, kind: str, start: int, end: int, now: int | None = None) -> Iterator[UsageEvent]:
        """Every event of `kind` in [start, min(end, now)) as visible now, uncached and unsummed."""
        now = self.now if now is None else now
        end = min(end, now)
        for hour in range(start - start % HOUR, end, HOUR):
            for cell, values in self.ledger.visible(kind, max(start, hour), min(end, hour + HOUR), now):
                yield UsageEvent(self.traffic.cells[cell], dict(zip(FIELDS[kind], values, strict=True)))

    # -- costs -----------------------------------------------------------------------------------

    def cost_days(self, start: int, end: int, now: int | None = None) -> list[int]:
        """The UTC midnights of the whole days the costs endpoint returns for [start, end)."""
        end = min(end, self.now if now is None else now)
        if start >= end:
            return []
        return list(range(start - start % DAY, end, DAY))

    def cost_rows(
        self,
        day: int,
        group_by: tuple[str, ...] = (),
        filters: CostFilters | None = None,
        *,
        now: int | None = None,
    ) -> list[tuple[GroupKey, Decimal]]:
        """The cost groups of the UTC day starting at `day`, as billed at now - cost lag."""
        return [(key, value[0]) for key, value in self.cost_rows_detail(day, group_by, filters, now=now)]

    def cost_rows_detail(
        self,
        day: int,
        group_by: tuple[str, ...] = (),
        filters: CostFilters | None = None,
        *,
        now: int | None = None,
    ) -> list[tuple[GroupKey, CostValue]]:
        """`cost_rows` with each group's quantity and quantity_unit: a line item's own, summed, when
        grouped by line_item; (amount, 0, None) otherwise, since no single unit applies."""
        filters = filters or CostFilters()
        by_item = "line_item" in group_by
        indexes = [_COST_KEY_INDEX[name] for name in group_by]
        totals: dict[GroupKey, CostValue] = {}
        for cost_key, (amount, quantity, unit) in self._day_costs(day, now).items():
            if not filters.admits(cost_key):
                continue
            key = tuple(cost_key[i] for i in indexes)
            old = totals.get(key)
            if old is None:
                totals[key] = (amount, quantity, unit) if by_item else (amount, Decimal(0), None)
            else:
                totals[key] = (old[0] + amount, old[1] + quantity if by_item else old[1], old[2])
        return sorted(totals.items(), key=lambda row: _sort_key(row[0]))

    def costs_truth(
        self,
        start: int,
        end: int,
        group_by: Iterable[str] = (),
        *,
        project_ids: Iterable[str] | None = None,
        api_key_ids: Iterable[str] | None = None,
        line_items: Iterable[str] | None = None,
    ) -> dict[GroupKey, Decimal]:
        """What the costs endpoint bills right now for the whole UTC days covering [start, end)."""
        detail = self.costs_truth_detail(
            start, end, group_by, project_ids=project_ids, api_key_ids=api_key_ids, line_items=line_items
        )
        return {key: value[0] for key, value in detail.items()}

    def costs_truth_detail(
        self,
        start: int,
        end: int,
        group_by: Iterable[str] = (),
        *,
        project_ids: Iterable[str] | None = None,
        api_key_ids: Iterable[str] | None = None,
        line_items: Iterable[str] | None = None,
    ) -> dict[GroupKey, CostValue]:
        """`costs_truth` with (amount, quantity, quantity_unit) per group (quantities need line_item
        in `group_by`)."""
        filters = CostFilters(_set(project_ids), _set(api_key_ids), _set(line_items))
        totals: dict[GroupKey, CostValue] = {}
        now = self.now
        for day in self.cost_days(start, end, now):
            for key, (amount, quantity, unit) in self.cost_rows_detail(
                day, tuple(group_by), filters, now=now
            ):
                old = totals.get(key)
                totals[key] = (
                    (amount, quantity, unit) if old is None else (old[0] + amount, old[1] + quantity, unit)
                )
        return totals

    def _day_costs(self, day: int, now: int | None) -> dict[CostKey, CostValue]:
        billed_at = (self.now if now is None else now) - self.spec.cost_lag_hours * HOUR

        def compute() -> dict[CostKey, CostValue]:
            totals: dict[CostKey, CostValue] = {}
            cells = self.traffic.cells
            with localcontext() as context:
                context.prec = 60  # amounts stay exact products of price and quantity
                for kind in KINDS:
                    for piece in self.ledger.pieces(kind, day, day + DAY, billed_at):
                        for index, values in piece:
                            cell = cells[index]
                            for item, amount, quantity, unit in billed(cell, values):
                                key = (cell.project_id, cell.api_key_id, item, cell.user_id, cell.api_source)
                                old = totals.get(key)
                                totals[key] = (
                                    (amount, quantity, unit)
                                    if old is None
                                    else (old[0] + amount, old[1] + quantity, unit)
                                )
            return totals

        if day + DAY <= billed_at - self.ledger.settle:
            return self._costs.get(day, compute)
        return compute()

    def _usage_keys(
        self, kind: str, group_by: tuple[str, ...], filters: UsageFilters
    ) -> list[GroupKey | None]:
        """For each cell index, its group key, or None when the cell is of another kind or filtered out."""

        def compute() -> list[GroupKey | None]:
            keys: list[GroupKey | None] = []
            for cell in self.traffic.cells:
                if cell.kind != kind or not filters.admits(cell):
                    keys.append(None)
                else:
                    keys.append(tuple(getattr(cell, name) for name in group_by))
            return keys

        return self._keys.get((kind, group_by, filters), compute)


def _accumulate(
    totals: dict[GroupKey, list[int]], piece: Iterable[tuple[int, Values]], keys: list[GroupKey | None]
) -> None:
    for cell, values in piece:
        key = keys[cell]
        if key is None:
            continue
        total = totals.get(key)
        totals[key] = list(values) if total is None else list(map(add, total, values))


def _sort_key(key: GroupKey) -> tuple[tuple[bool, str], ...]:
    return tuple((value is not None, str(value)) for value in key)


def _set(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)
