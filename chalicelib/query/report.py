"""The usage report, pure: records in, the `/api/usage` JSON out. No AWS, no clock.

A `Record` is one stored number: the usage of one bucket (hour, day or minute) for whatever is known
of its key, model and project (an aggregate item knows one of the three, a detail item all three).
`build_report` filters records, groups them by the selection's dimensions (pool derives from the
model, owner and team from the key's identity), prices each record (`Settlement`) and shapes buckets,
whole-period groups and the total.

Cost: `cost_usd` of a record is what chalicelib.money says (the one rule, docs/money.md): billed when
its day is settled, else estimated, at every bucket width and in every grouping (the collector stores
each hour's share of the day's bill, so hours sum exactly to their day).

Flags on a row: `provisional` (some of it is from an unsettled day or live data), `unpriced` (tokens
of models without a price, missing from the estimate), `unmapped` (a key nobody named; only when
grouped by key, owner or team), `unattributed` (a group member is OpenAI's null key/model/project),
`line_item` (the model member is a Costs line item that is not a model, e.g. web search calls).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from chalicelib.catalog import model_family, pool_of
from chalicelib.dimensions import UNATTRIBUTED, Dimension
from chalicelib.keys.model import UNATTRIBUTED_NAME, DirectoryProject, KeyIdentity
from chalicelib.keys.resolve import resolve
from chalicelib.kinds import MEASURE_LIST, PER_CALL
from chalicelib.money import LINE_ITEMS_POOL, Settlement, cost_of, is_item, item_name
from chalicelib.periods import day_label, iso
from chalicelib.query.selection import Selection
from chalicelib.usage import ZERO_USAGE, Usage

KEY_DIMENSIONS: frozenset[Dimension] = frozenset({"api_key_id", "owner", "team"})
NO_OWNER = "(no owner)"
NO_TEAM = "(no team)"
ALL_USAGE = "All usage"
Flag = Literal["provisional", "unpriced", "unmapped", "unattributed", "line_item"]
FLAG_ORDER: tuple[Flag, ...] = ("provisional", "unpriced", "unmapped", "unattributed", "line_item")
CostBasis = Literal["billed_when_settled", "estimated"]

GroupKey = tuple[str | None, ...]


@dataclass(frozen=True)
class Record:
    """The usage of one bucket for one (partly known) key x model x project."""

    bucket: int
    day: str
    usage: Usage
    key: str | None = None
    model: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class Names:
    """Display names: key identities (mappings and directory) and project names."""

    identities: Mapping[str, KeyIdentity] = field(default_factory=dict)
    projects: Mapping[str, DirectoryProject] = field(default_factory=dict)

    def key(self, key_id: str | None) -> KeyIdentity:
        """The identity of any key id (unknown ids resolve to themselves, unmapped)."""
        return resolve(key_id, self.identities)

    def project_name(self, project_id: str | None) -> str | None:
        """A project's name when the directory knows it."""
        if not project_id or project_id == UNATTRIBUTED:
            return None
        project = self.projects.get(project_id)
        return project.name if project and project.name else None


_FIELDS: tuple[str, ...] = tuple(spec.name for spec in fields(Usage))
_values_of = operator.attrgetter(*_FIELDS)
_ZERO_VALUES: tuple[Any, ...] = _values_of(ZERO_USAGE)
_DECIMAL_FIELDS = frozenset(("estimated_usd", "billed_usd"))
_AT = {name: i for i, name in enumerate(_FIELDS)}
_INPUT, _OUTPUT, _CACHED = _AT["input_tokens"], _AT["output_tokens"], _AT["cached_tokens"]
_REQUESTS, _UNPRICED = _AT["requests"], _AT["unpriced_tokens"]
# Per-call measures (chalicelib.kinds): their own columns, never tokens; a scaled one (GB-days of
# byte-hours) is shown beside its counter in the whole-period metrics.
_TOOL_AT = tuple((measure.name, _AT[measure.field], measure) for measure in PER_CALL)
_SCALED_AT = tuple(item for item in _TOOL_AT if item[2].scale != 1)
_BILLED, _ESTIMATED = _AT["billed_usd"], _AT["estimated_usd"]
FLAG_BITS: dict[Flag, int] = {flag: 1 << i for i, flag in enumerate(FLAG_ORDER)}


def _mask(flags: Iterable[Flag]) -> int:
    mask = 0
    for flag in flags:
        mask |= FLAG_BITS[flag]
    return mask


def flag_list(mask: int) -> list[Flag]:
    """The flags of a bit mask, in FLAG_ORDER."""
    return [flag for flag in FLAG_ORDER if mask & FLAG_BITS[flag]]


class Totals:
    """Usage, cost and flags summed over records (a mutable accumulator: one tuple add per record,
    no Usage objects built on the way)."""

    __slots__ = ("cost", "mask", "values")

    def __init__(self) -> None:
        self.values: tuple[Any, ...] = _ZERO_VALUES
        self.cost = Decimal(0)
        self.mask = 0

    def add(self, usage: Usage, cost: Decimal, flags: Iterable[Flag] = ()) -> None:
        """Add one record's numbers."""
        self.add_values(_values_of(usage), cost, _mask(flags))

    def add_values(self, values: tuple[Any, ...], cost: Decimal, mask: int) -> None:
        """Add counters in Usage's field order."""
        self.values = tuple(map(operator.add, self.values, values))
        self.cost += cost
        self.mask |= mask

    def merge(self, other: Totals) -> None:
        """Add another accumulator."""
        self.add_values(other.values, other.cost, other.mask)

    @classmethod
    def of(cls, values: tuple[Any, ...], cost: Decimal, mask: int) -> Totals:
        """An accumulator holding one record's numbers (no addition to zero on the way)."""
        totals = cls()
        totals.values, totals.cost, totals.mask = values, cost, mask
        return totals

    @classmethod
    def of_usage(cls, usage: Usage, cost: Decimal, mask: int) -> Totals:
        """An accumulator holding one Usage's numbers, its cost and flag bits (FLAG_BITS)."""
        return cls.of(_values_of(usage), cost, mask)

    @classmethod
    def sum_of(cls, parts: list[Totals]) -> Totals:
        """The sum of many accumulators, column by column: one `sum` per counter instead of one
        tuple addition per part (a 90-day, 1,000-key view sums 90,000 parts). Exact, as `merge` is:
        integers and Decimals add without rounding at these magnitudes, in any order."""
        totals = cls()
        if not parts:
            return totals
        if len(parts) == 1:
            only = parts[0]
            return cls.of(only.values, only.cost, only.mask)
        totals.values = tuple(map(sum, zip(_ZERO_VALUES, *(part.values for part in parts), strict=True)))
        totals.cost = sum((part.cost for part in parts), Decimal(0))
        mask = 0
        for part in parts:
            mask |= part.mask
        totals.mask = mask
        return totals

    @property
    def usage(self) -> Usage:
        """The sum as a Usage."""
        return Usage(*self.values)

    @property
    def total_tokens(self) -> int:
        """Input + output tokens."""
        return int(self.values[_INPUT] + self.values[_OUTPUT])

    def metrics(self) -> dict[str, Any]:
        """The contract's Metrics object: integers as numbers, dollars as decimal strings."""
        out: dict[str, Any] = {
            name: _money(value) if name in _DECIMAL_FIELDS else value
            for name, value in zip(_FIELDS, self.values, strict=True)
        }
        out["total_tokens"] = self.total_tokens
        for name, at, measure in _SCALED_AT:
            out[name] = measure.shown(self.values[at])
        out["cost_usd"] = _money(self.cost)
        return out

    def bucket_metrics(self) -> dict[str, Any]:
        """The metrics a bucket row carries (BUCKET_METRICS)."""
        values = self.values
        return {
            "input_tokens": values[_INPUT],
            "output_tokens": values[_OUTPUT],
            "cached_tokens": values[_CACHED],
            "total_tokens": values[_INPUT] + values[_OUTPUT],
            "requests": values[_REQUESTS],
            "unpriced_tokens": values[_UNPRICED],
            "billed_usd": _money(values[_BILLED]),
            "estimated_usd": _money(values[_ESTIMATED]),
            "cost_usd": _money(self.cost),
            **{name: measure.shown(values[at]) for name, at, measure in _TOOL_AT},
        }


BUCKET_METRICS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "total_tokens",
    "requests",
    "unpriced_tokens",
    "billed_usd",
    "estimated_usd",
    "cost_usd",
    *(measure.name for measure in PER_CALL),
)
"""The metrics of a bucket row (a group's whole Row is in `groups`)."""


def _money(value: Decimal) -> str:
    return format(value.normalize() if value else Decimal(0), "f")


def _share(part: int | Decimal, whole: int | Decimal) -> float:
    return round(float(part) / float(whole), 6) if whole else 0.0


def _pool(model: str | None, day: str) -> str:
    # A non-model line item counts against no pool: it is its own member of a by-pool report.
    return LINE_ITEMS_POOL if is_item(model) else pool_of(model, date.fromisoformat(day))


def admits(record: Record, selection: Selection, names: Names) -> bool:
    """Whether the record passes the selection's filters (a model filter matches the exact model
    or its family, so `gpt-4o-mini` admits `gpt-4o-mini-2024-07-18`)."""
    if selection.api_key_ids and record.key not in selection.api_key_ids:
        return False
    if selection.project_ids and record.project not in selection.project_ids:
        return False
    if selection.teams and names.key(record.key).team not in selection.teams:
        return False
    if selection.models:
        model = record.model or ""
        if model not in selection.models and model_family(model) not in selection.models:
            return False
    return True


def _label(dim: Dimension, value: str | None, names: Names) -> str:
    if dim == "api_key_id":
        return names.key(value).name if value and value != UNATTRIBUTED else UNATTRIBUTED_NAME
    if dim == "owner":
        return value or NO_OWNER
    if dim == "team":
        return value or NO_TEAM
    if dim == "project_id":
        return names.project_name(value) or (value or UNATTRIBUTED)
    if dim == "model" and value and is_item(value):
        return item_name(value)
    return value or UNATTRIBUTED


class Grouper:
    """Turns records into (group key, cost, flags) under one selection; what it derives per day, key
    or model is worked out once per report, not once per record."""

    def __init__(self, selection: Selection, names: Names, settlement: Settlement) -> None:
        self.selection = selection
        self.names = names
        self.settlement = settlement
        self.by_key = any(dim in KEY_DIMENSIONS for dim in selection.group_by)
        self._settled: dict[str, bool] = {}
        self._identities: dict[str | None, KeyIdentity] = {}
        self._pools: dict[tuple[str | None, str], str | None] = {}

    def basis(self) -> CostBasis:
        return "estimated" if self.settlement.live else "billed_when_settled"

    def settled(self, day: str) -> bool:
        known = self._settled.get(day)
        if known is None:
            known = self._settled[day] = self.settlement.settled(day)
        return known

    def identity(self, key: str | None) -> KeyIdentity:
        known = self._identities.get(key)
        if known is None:
            known = self._identities[key] = self.names.key(key)
        return known

    def member(self, record: Record, dim: Dimension) -> str | None:
        if dim == "api_key_id":
            return record.key
        if dim == "owner":
            return self.identity(record.key).owner
        if dim == "team":
            return self.identity(record.key).team
        if dim == "model":
            return record.model
        if dim == "pool":
            at = (record.model, record.day)
            if at not in self._pools:
                self._pools[at] = _pool(record.model, record.day)
            return self._pools[at]
        return record.project

    def classify(self, record: Record) -> tuple[GroupKey, Decimal, int]:
        settled = self.settled(record.day)
        usage = record.usage
        cost = cost_of(usage, settled)
        mask = 0 if settled else PROVISIONAL
        if usage.unpriced_tokens:
            mask |= UNPRICED
        key = record.key
        if self.by_key and key and key != UNATTRIBUTED and not self.identity(key).mapped:
            mask |= UNMAPPED
        group = tuple([self.member(record, dim) for dim in self.selection.group_by])
        return group, cost, mask


PROVISIONAL = FLAG_BITS["provisional"]
UNPRICED = FLAG_BITS["unpriced"]
UNMAPPED = FLAG_BITS["unmapped"]
UNATTRIBUTED_BIT = FLAG_BITS["unattributed"]
LINE_ITEM_BIT = FLAG_BITS["line_item"]


def _group_mask(selection: Selection, group: GroupKey) -> int:
    mask = 0
    for dim, value in zip(selection.group_by, group, strict=True):
        if dim in ("api_key_id", "model", "project_id") and value == UNATTRIBUTED:
            mask |= UNATTRIBUTED_BIT
        if dim == "model" and is_item(value):
            mask |= LINE_ITEM_BIT
    return mask


def _row(
    selection: Selection, group: GroupKey, totals: Totals, whole: Totals, names: Names
) -> dict[str, Any]:
    dims = selection.group_by
    labels = {dim: _label(dim, value, names) for dim, value in zip(dims, group, strict=True)}
    row: dict[str, Any] = {
        "group": dict(zip(dims, group, strict=True)),
        "label": " · ".join(labels.values()) or ALL_USAGE,
        "labels": labels,
        **totals.metrics(),
        "share_tokens": _share(totals.total_tokens, whole.total_tokens),
        "share_cost": _share(totals.cost, whole.cost),
        "flags": flag_list(totals.mask | _group_mask(selection, group)),
    }
    if "api_key_id" in dims:
        identity = names.key(group[dims.index("api_key_id")])
        project_id = identity.project_id
        row["key"] = {
            "name": identity.name,
            "owner": identity.owner,
            "team": identity.team,
            "project_id": project_id,
            "project_name": identity.project_name or names.project_name(project_id),
        }
    return row


def rank_order(item: tuple[GroupKey, Totals]) -> tuple[Decimal, int, tuple[str, ...]]:
    group, totals = item
    return (-totals.cost, -totals.total_tokens, tuple(value or "" for value in group))


@dataclass
class Aggregate:
    """A selection's records summed per bucket and group (`cells`), per group over the period
    (`groups`, ranked by `rank_order`: cost, then tokens, then the group's ids) and in all (`total`)."""

    selection: Selection
    names: Names
    settlement: Settlement
    basis: CostBasis
    cells: dict[int, dict[GroupKey, Totals]]
    groups: dict[GroupKey, Totals]
    ranked: list[GroupKey]
    total: Totals
    folded: dict[int, tuple[int, Totals]] = field(default_factory=dict)
    """Buckets whose `cells` hold only the groups a report shows: the count and sum of the rest
    (a materialized period's days, chalicelib.query.period)."""

    def rows(self) -> dict[GroupKey, dict[str, Any]]:
        """Every group's whole-period Row, in rank order (labels and key info worked out once)."""
        return {
            group: _row(self.selection, group, self.groups[group], self.total, self.names)
            for group in self.ranked
        }

    def bucket_rows(self, top: int) -> int:
        """How many rows the buckets of a report with this `top` carry."""
        if not top or len(self.ranked) <= top:
            return sum(len(cells) for cells in self.cells.values())
        shown = set(self.ranked[:top])
        count = 0
        for start, cells in self.cells.items():
            inside = sum(1 for group in cells if group in shown)
            outside = self.folded[start][0] if start in self.folded else len(cells) - inside
            count += inside + (1 if outside else 0)
        return count


def aggregate(
    selection: Selection,
    records: Iterable[Record],
    names: Names,
    settlement: Settlement,
    *,
    always: Iterable[GroupKey] = (),
) -> Aggregate:
    """Sum `records` under `selection` (filters, grouping, cost basis, flags); `always` lists groups
    kept even without usage (a comparison's keys)."""
    grouper = Grouper(selection, names, settlement)
    cells: dict[int, dict[GroupKey, Totals]] = {start: {} for start in selection.bucket_starts()}
    # admits() is a no-op without filters: the dashboard's views have none, so skip it per record
    filtered = bool(selection.api_key_ids or selection.models or selection.project_ids or selection.teams)
    for record in records:
        bucket = cells.get(record.bucket)
        if bucket is None or (filtered and not admits(record, selection, names)):
            continue
        group, cost, mask = grouper.classify(record)
        totals = bucket.get(group)
        if totals is None:
            bucket[group] = Totals.of(_values_of(record.usage), cost, mask)
        else:
            totals.add_values(_values_of(record.usage), cost, mask)
    parts: dict[GroupKey, list[Totals]] = {group: [] for group in always}
    for bucket in cells.values():
        for group, totals in bucket.items():
            into = parts.get(group)
            if into is None:
                parts[group] = [totals]
            else:
                into.append(totals)
    groups = {group: Totals.sum_of(of_group) for group, of_group in parts.items()}
    total = Totals.sum_of(list(groups.values()))
    ranked = [group for group, _ in sorted(groups.items(), key=rank_order)]
    return Aggregate(selection, names, settlement, grouper.basis(), cells, groups, ranked, total)


OTHER_NOUNS: dict[Dimension, tuple[str, str]] = {
    "api_key_id": ("key", "keys"),
    "owner": ("owner", "owners"),
    "team": ("team", "teams"),
    "model": ("model", "models"),
    "pool": ("pool", "pools"),
    "project_id": ("project", "projects"),
}


def other_label(dims: tuple[Dimension, ...], count: int) -> str:
    """ "Other (990 keys)": the label of the row that sums the groups outside the top."""
    singular, plural = OTHER_NOUNS[dims[0]] if len(dims) == 1 else ("group", "groups")
    return f"Other ({count:,} {singular if count == 1 else plural})"


def _buckets(agg: Aggregate, top: int) -> list[dict[str, Any]]:
    selection, settlement = agg.selection, agg.settlement
    dims = selection.group_by
    rank = {group: i for i, group in enumerate(agg.ranked)}
    capped = bool(top) and len(agg.ranked) > top
    shown = set(agg.ranked[:top]) if capped else None
    keys = {group: dict(zip(dims, group, strict=True)) for group in agg.ranked}
    nobody = dict.fromkeys(dims)
    buckets = []
    for start, cells in agg.cells.items():
        results: list[dict[str, Any]] = []
        folded_parts: list[Totals] = []
        for group in sorted(cells, key=rank.__getitem__):
            totals = cells[group]
            if shown is None or group in shown:
                results.append({"group": keys[group], **totals.bucket_metrics()})
            else:
                folded_parts.append(totals)
        folded, other = agg.folded.get(start) or (len(folded_parts), None)
        if folded:
            other = other or Totals.sum_of(folded_parts)
            results.append(
                {
                    "group": nobody,
                    "other": True,
                    "label": other_label(dims, folded),
                    "other_groups": folded,
                    **other.bucket_metrics(),
                }
            )
        buckets.append(
            {
                "start_time": start,
                "end_time": start + selection.width,
                "provisional": settlement.live or not settlement.settled(day_label(start)),
                "results": results,
            }
        )
    return buckets


def report_of(agg: Aggregate, *, data_as_of: int | None) -> dict[str, Any]:
    """The `/api/usage` response of an aggregate (see docs/api-contract.md and openapi.yaml)."""
    selection, settlement = agg.selection, agg.settlement
    top = selection.top
    return {
        "object": "usage_report",
        "start_time": selection.start,
        "end_time": selection.end,
        "bucket_width": selection.bucket_width,
        "group_by": list(selection.group_by),
        "filters": selection.filters(),
        "cost_basis": agg.basis,
        "data_as_of": iso(data_as_of) if data_as_of is not None else None,
        "settled_before": _iso_or_none(settlement.settled_before()),
        "top": top,
        "other_groups": max(len(agg.ranked) - top, 0) if top else 0,
        "buckets": _buckets(agg, top),
        "groups": list(agg.rows().values()),
        "total": agg.total.metrics(),
        "measures": [dict(measure) for measure in MEASURE_LIST],
    }


def build_report(
    selection: Selection,
    records: Iterable[Record],
    names: Names,
    settlement: Settlement,
    *,
    data_as_of: int | None,
    always: Iterable[GroupKey] = (),
) -> dict[str, Any]:
    """The `/api/usage` response for `records` (see docs/api-contract.md and openapi.yaml);
    `always` lists groups shown in `groups` even without usage (a comparison's keys)."""
    agg = aggregate(selection, records, names, settlement, always=always)
    return report_of(agg, data_as_of=data_as_of)


def _iso_or_none(ts: int | None) -> str | None:
    return iso(ts) if ts is not None else None
