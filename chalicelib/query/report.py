"""The usage report, pure: records in, the `/api/usage` JSON out. No AWS, no clock.

A `Record` is one stored number: the usage of one bucket (hour, day or minute) for whatever is known
of its key, model and project (an aggregate item knows one of the three, a detail item all three).
`build_report` filters records, groups them by the selection's dimensions (pool derives from the
model, owner and team from the key's identity), prices each record (`Settlement`) and shapes buckets,
whole-period groups and the total.

Cost: `cost_usd` of a record is the billed dollars when its day is settled (the Costs data was read
at least `SETTLE_HOURS` after the day ended) and billing is known at the grouping's level, else the
estimate. Hourly and minute buckets carry no billing (OpenAI bills per day), so they use estimates.

Flags on a row: `provisional` (some of it is from an unsettled day or live data), `unpriced` (tokens
of models without a price, missing from the estimate), `unmapped` (a key nobody named; only when
grouped by key, owner or team), `unattributed` (a group member is OpenAI's null key/model/project).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from chalicelib.catalog import model_family, pool_of
from chalicelib.periods import DAY, day_label, day_start, iso
from chalicelib.query.selection import Dimension, Selection
from chalicelib.store.directory import (
    UNATTRIBUTED_NAME,
    DirectoryProject,
    KeyIdentity,
    resolve,
)
from chalicelib.store.rollups import UNATTRIBUTED
from chalicelib.usage import ZERO_USAGE, Usage

SETTLE_HOURS = 48
"""A day's billed dollars are final once the Costs data was read this long after the day ended."""

KEY_DIMENSIONS: frozenset[Dimension] = frozenset({"api_key_id", "owner", "team"})
BASE_DIMENSION: dict[Dimension, Literal["key", "model", "project"]] = {
    "api_key_id": "key",
    "owner": "key",
    "team": "key",
    "model": "model",
    "pool": "model",
    "project_id": "project",
}
NO_OWNER = "(no owner)"
NO_TEAM = "(no team)"
ALL_USAGE = "All usage"
Flag = Literal["provisional", "unpriced", "unmapped", "unattributed"]
FLAG_ORDER: tuple[Flag, ...] = ("provisional", "unpriced", "unmapped", "unattributed")
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
class Settlement:
    """Which days' billed dollars are final, and whether billing is known per key."""

    costs_as_of: int | None
    billed_by_key: bool = True
    live: bool = False

    def settled(self, day: str) -> bool:
        """True when the day's Costs data was read SETTLE_HOURS after the day ended."""
        if self.live or self.costs_as_of is None:
            return False
        return self.costs_as_of >= day_start(day) + DAY + SETTLE_HOURS * 3600

    def settled_before(self) -> int | None:
        """Every day ending at or before this instant is settled (None before any cost data)."""
        if self.live or self.costs_as_of is None:
            return None
        cutoff = self.costs_as_of - SETTLE_HOURS * 3600
        return cutoff - cutoff % DAY


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


@dataclass
class Totals:
    """Usage, cost and flags summed over records."""

    usage: Usage = ZERO_USAGE
    cost: Decimal = Decimal(0)
    flags: set[Flag] = field(default_factory=set)

    def add(self, usage: Usage, cost: Decimal, flags: Iterable[Flag]) -> None:
        """Add one record's numbers."""
        self.usage = self.usage + usage
        self.cost += cost
        self.flags.update(flags)

    def metrics(self) -> dict[str, Any]:
        """The contract's Metrics object: integers as numbers, dollars as decimal strings."""
        out = self.usage.as_dict()
        out["cost_usd"] = _money(self.cost)
        out["billed_usd"] = _money(self.usage.billed_usd)
        out["estimated_usd"] = _money(self.usage.estimated_usd)
        return out


def _money(value: Decimal) -> str:
    return format(value.normalize() if value else Decimal(0), "f")


def _share(part: int | Decimal, whole: int | Decimal) -> float:
    return round(float(part) / float(whole), 6) if whole else 0.0


def member(record: Record, dim: Dimension, names: Names) -> str | None:
    """The record's member in one grouping dimension."""
    if dim == "api_key_id":
        return record.key
    if dim == "owner":
        return names.key(record.key).owner
    if dim == "team":
        return names.key(record.key).team
    if dim == "model":
        return record.model
    if dim == "pool":
        return pool_of(record.model, date.fromisoformat(record.day))
    return record.project


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
    return value or UNATTRIBUTED


class _Grouper:
    """Turns records into (group key, cost, flags) under one selection."""

    def __init__(self, selection: Selection, names: Names, settlement: Settlement) -> None:
        self.selection = selection
        self.names = names
        self.settlement = settlement
        self.by_key = any(dim in KEY_DIMENSIONS for dim in selection.group_by)
        hourly = selection.bucket_width != "1d"
        self.billed = not hourly and (settlement.billed_by_key or not self.by_key)

    def basis(self) -> CostBasis:
        return "billed_when_settled" if self.billed else "estimated"

    def classify(self, record: Record) -> tuple[GroupKey, Decimal, set[Flag]]:
        settled = self.settlement.settled(record.day)
        cost = record.usage.billed_usd if self.billed and settled else record.usage.estimated_usd
        flags: set[Flag] = set()
        if not settled:
            flags.add("provisional")
        if record.usage.unpriced_tokens:
            flags.add("unpriced")
        if (
            self.by_key
            and record.key
            and record.key != UNATTRIBUTED
            and not self.names.key(record.key).mapped
        ):
            flags.add("unmapped")
        group = tuple(member(record, dim, self.names) for dim in self.selection.group_by)
        return group, cost, flags


def _row(
    selection: Selection, group: GroupKey, totals: Totals, whole: Totals, names: Names
) -> dict[str, Any]:
    dims = selection.group_by
    flags = set(totals.flags)
    for dim, value in zip(dims, group, strict=True):
        if dim in ("api_key_id", "model", "project_id") and value == UNATTRIBUTED:
            flags.add("unattributed")
    labels = {dim: _label(dim, value, names) for dim, value in zip(dims, group, strict=True)}
    row: dict[str, Any] = {
        "group": dict(zip(dims, group, strict=True)),
        "label": " · ".join(labels.values()) or ALL_USAGE,
        "labels": labels,
        **totals.metrics(),
        "share_tokens": _share(totals.usage.total_tokens, whole.usage.total_tokens),
        "share_cost": _share(totals.cost, whole.cost),
        "flags": [flag for flag in FLAG_ORDER if flag in flags],
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


def _order(item: tuple[GroupKey, Totals]) -> tuple[Decimal, int, tuple[str, ...]]:
    group, totals = item
    return (-totals.cost, -totals.usage.total_tokens, tuple(value or "" for value in group))


def _rows(
    selection: Selection, groups: Mapping[GroupKey, Totals], whole: Totals, names: Names
) -> list[dict[str, Any]]:
    return [
        _row(selection, group, totals, whole, names) for group, totals in sorted(groups.items(), key=_order)
    ]


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
    grouper = _Grouper(selection, names, settlement)
    by_bucket: dict[int, dict[GroupKey, Totals]] = {start: {} for start in selection.bucket_starts()}
    groups: dict[GroupKey, Totals] = {group: Totals() for group in always}
    total = Totals()
    for record in records:
        if record.bucket not in by_bucket or not admits(record, selection, names):
            continue
        group, cost, flags = grouper.classify(record)
        by_bucket[record.bucket].setdefault(group, Totals()).add(record.usage, cost, flags)
        groups.setdefault(group, Totals()).add(record.usage, cost, flags)
        total.add(record.usage, cost, flags)
    buckets = []
    for start, cells in by_bucket.items():
        bucket_total = Totals()
        for totals in cells.values():
            bucket_total.add(totals.usage, totals.cost, ())
        end = start + selection.width
        provisional = settlement.live or not settlement.settled(day_label(start))
        buckets.append(
            {
                "start_time": start,
                "end_time": end,
                "provisional": provisional,
                "results": _rows(selection, cells, bucket_total, names),
            }
        )
    return {
        "object": "usage_report",
        "start_time": selection.start,
        "end_time": selection.end,
        "bucket_width": selection.bucket_width,
        "group_by": list(selection.group_by),
        "filters": selection.filters(),
        "cost_basis": grouper.basis(),
        "data_as_of": iso(data_as_of) if data_as_of is not None else None,
        "settled_before": _iso_or_none(settlement.settled_before()),
        "buckets": buckets,
        "groups": _rows(selection, groups, total, names),
        "total": total.metrics(),
    }


def _iso_or_none(ts: int | None) -> str | None:
    return iso(ts) if ts is not None else None
