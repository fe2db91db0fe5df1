"""Digests, pure: what a weekly or monthly digest of the organization or of one team says.

A digest covers the last complete period before `now` (a week is Monday 00:00 to Monday 00:00 UTC; a
month its calendar month) against the period before it:

    spend       dollars (chalicelib.money: billed once settled, else estimated; `provisional` when a
                day is not settled yet) and tokens, both periods, and the change in percent
    movers      the keys whose spend rose most and fell most (top 5 each)
    budgets     keys whose budget is used at or beyond DIGEST_BUDGET_RISK_PERCENT now
    unmapped    keys with usage in the period that nothing names (organization digest only)
    unclassified  models in no pool list that had tokens in the period (organization digest only)
    pools       the days of the period a complimentary pool reached its cap (organization digest only)
    hygiene     the key hygiene findings (chalicelib.hygiene) of the scope's keys

A team digest counts the keys whose identity has that team; the organization digest counts every
cell. Each list but the movers and hygiene keeps its first TOP_ROWS rows; `counts` says how many
there were. Wording (text, chat) is chalicelib.alerts.digest_messages'; reading and sending
chalicelib.digest_send's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.hygiene import KeyFindings, counts
from chalicelib.keys.model import KeyIdentity
from chalicelib.keys.resolve import resolve
from chalicelib.money import Settlement, cost_of
from chalicelib.periods import DAY, day_label, day_start, iso, next_month_start
from chalicelib.pools import POOL_NAMES, classify, pool_name
from chalicelib.pools import counts as pool_counts
from chalicelib.store.rollups import Cell
from chalicelib.usage import Usage

PeriodKind = Literal["week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("week", "month")
TOP_MOVERS = 5
TOP_HYGIENE = 10
TOP_ROWS = 20  # budgets, unmapped keys, models, pool days: a digest stays one readable SNS message
ZERO = Decimal(0)


@dataclass(frozen=True)
class Period:
    """A half-open UTC range `[start, end)` of whole days."""

    kind: PeriodKind
    start: int
    end: int

    @property
    def label(self) -> str:
        """`2026-W46` for a week (ISO), `2026-10` for a month."""
        when = datetime.fromtimestamp(self.start, UTC)
        if self.kind == "week":
            year, week, _ = when.isocalendar()
            return f"{year}-W{week:02d}"
        return when.strftime("%Y-%m")

    @property
    def first_day(self) -> str:
        """The first UTC day label."""
        return day_label(self.start)

    @property
    def last_day(self) -> str:
        """The last UTC day label (inclusive)."""
        return day_label(self.end - DAY)

    def as_json(self) -> dict[str, str]:
        """Label and bounds (RFC 3339, end exclusive)."""
        return {"kind": self.kind, "label": self.label, "start": iso(self.start), "end": iso(self.end)}


def last_complete(kind: PeriodKind, now: int) -> Period:
    """The last whole week or month that ended at or before `now`."""
    today = day_start(day_label(now))
    if kind == "week":
        monday = today - datetime.fromtimestamp(today, UTC).weekday() * DAY
        return Period("week", monday - 7 * DAY, monday)
    this_month = day_start(day_label(now)[:8] + "01")
    previous = day_start(day_label(this_month - DAY)[:8] + "01")
    return Period("month", previous, this_month)


def previous_of(period: Period) -> Period:
    """The period of the same kind just before `period`."""
    if period.kind == "week":
        return Period("week", period.start - 7 * DAY, period.start)
    start = day_start(day_label(period.start - DAY)[:8] + "01")
    assert next_month_start(start) == period.start
    return Period("month", start, period.start)


@dataclass(frozen=True)
class DigestInputs:
    """Everything a digest is computed from (chalicelib.digest_send reads it)."""

    now: int
    period: Period
    previous: Period
    cells: Sequence[tuple[str, Cell, Usage]]
    """(day, cell, usage) of every stored cell of both periods' days."""
    settlement: Settlement
    identities: Mapping[str, KeyIdentity]
    budgets: Sequence[Mapping[str, Any]]
    """`/api/keys` entries of the keys with a budget (their `budget_status` as of now)."""
    hygiene: Sequence[KeyFindings]
    caps: Mapping[str, int]
    sharing_projects: Collection[str] = ()
    budget_risk_percent: float = 80.0


def _money(value: Decimal) -> str:
    return format(value.normalize() if value else ZERO, "f")


def _change(now: Decimal, before: Decimal) -> float | None:
    return round(float((now - before) * 100 / before), 1) if before else None


@dataclass
class _Side:
    cost: Decimal = ZERO
    tokens: int = 0
    provisional: bool = False


def _in_scope(key_id: str, team: str | None, identities: Mapping[str, KeyIdentity]) -> bool:
    return team is None or resolve(key_id, identities).team == team


def _key_json(key_id: str, identities: Mapping[str, KeyIdentity]) -> dict[str, Any]:
    identity = resolve(key_id, identities)
    return {"key_id": key_id, "name": identity.name, "owner": identity.owner, "team": identity.team}


def _movers(
    now: Mapping[str, _Side], before: Mapping[str, _Side], identities: Mapping[str, KeyIdentity]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    deltas = []
    for key_id in set(now) | set(before):
        cost, previous = now.get(key_id, _Side()).cost, before.get(key_id, _Side()).cost
        if cost != previous:
            deltas.append((cost - previous, key_id, cost, previous))

    def row(delta: Decimal, key_id: str, cost: Decimal, previous: Decimal) -> dict[str, Any]:
        return {
            **_key_json(key_id, identities),
            "cost_usd": _money(cost),
            "previous_cost_usd": _money(previous),
            "change_usd": _money(delta),
        }

    up = sorted((d for d in deltas if d[0] > 0), key=lambda d: (-d[0], d[1]))[:TOP_MOVERS]
    down = sorted((d for d in deltas if d[0] < 0), key=lambda d: (d[0], d[1]))[:TOP_MOVERS]
    return [row(*d) for d in up], [row(*d) for d in down]


def _pools_exhausted(inputs: DigestInputs) -> list[dict[str, Any]]:
    used: dict[tuple[str, str], int] = defaultdict(int)
    for day, cell, usage in inputs.cells:
        if not inputs.period.first_day <= day <= inputs.period.last_day or not usage.total_tokens:
            continue
        pool = pool_name(classify(cell.model, day))
        if pool is not None and pool_counts(cell.project, inputs.sharing_projects):
            used[(day, pool)] += usage.total_tokens
    return [
        {"day": day, "pool": pool, "used": used[(day, pool)], "cap": inputs.caps[pool]}
        for day, pool in sorted(used)
        if pool in POOL_NAMES and used[(day, pool)] >= inputs.caps[pool]
    ]


def build_digest(inputs: DigestInputs, team: str | None = None) -> dict[str, Any]:
    """The digest of the organization (`team` None) or of one team, as a JSON-ready object."""
    period, previous, identities = inputs.period, inputs.previous, inputs.identities
    sides: dict[bool, dict[str, _Side]] = {True: defaultdict(_Side), False: defaultdict(_Side)}
    totals = {True: _Side(), False: _Side()}
    unclassified: dict[str, int] = defaultdict(int)
    for day, cell, usage in inputs.cells:
        current = period.first_day <= day <= period.last_day
        if not current and not previous.first_day <= day <= previous.last_day:
            continue
        if not _in_scope(cell.key, team, identities):
            continue
        settled = inputs.settlement.settled(day)
        cost = cost_of(usage, settled)
        for side in (sides[current][cell.key], totals[current]):
            side.cost += cost
            side.tokens += usage.total_tokens
            side.provisional = side.provisional or not settled
        if current and usage.total_tokens and classify(cell.model, day) == "unclassified":
            unclassified[cell.model] += usage.total_tokens
    now_side, before_side = totals[True], totals[False]
    up, down = _movers(sides[True], sides[False], identities)
    budgets = [
        {**_key_json(str(entry["key_id"]), identities), "budget": entry["budget"], **entry["budget_status"]}
        for entry in inputs.budgets
        if entry.get("budget_status")
        and float(entry["budget_status"]["percent"]) >= inputs.budget_risk_percent
        and _in_scope(str(entry["key_id"]), team, identities)
    ]
    findings = [item for item in inputs.hygiene if team is None or item.team == team]
    org = team is None
    lists = {
        "budgets_at_risk": sorted(budgets, key=lambda row: (-float(row["percent"]), row["key_id"])),
        "unmapped_keys": _unmapped(sides[True], identities) if org else [],
        "unclassified_models": [
            {"model": model, "tokens": tokens}
            for model, tokens in sorted(unclassified.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        if org
        else [],
        "pools_exhausted": _pools_exhausted(inputs) if org else [],
    }
    return {
        "scope": {"kind": "organization" if org else "team", "team": team},
        "period": period.as_json(),
        "previous": previous.as_json(),
        "generated_at": iso(inputs.now),
        "spend": {
            "cost_usd": _money(now_side.cost),
            "previous_cost_usd": _money(before_side.cost),
            "change_percent": _change(now_side.cost, before_side.cost),
            "total_tokens": now_side.tokens,
            "previous_total_tokens": before_side.tokens,
            "tokens_change_percent": _change(Decimal(now_side.tokens), Decimal(before_side.tokens)),
            "provisional": now_side.provisional or before_side.provisional,
        },
        "movers_up": up,
        "movers_down": down,
        **{name: rows[:TOP_ROWS] for name, rows in lists.items()},
        "counts": {name: len(rows) for name, rows in lists.items()},
        "hygiene": {
            "counts": counts(findings),
            "keys": [item.as_json() for item in findings[:TOP_HYGIENE]],
            "more": max(0, len(findings) - TOP_HYGIENE),
        },
    }


def _unmapped(current: Mapping[str, _Side], identities: Mapping[str, KeyIdentity]) -> list[dict[str, Any]]:
    rows = [
        {"key_id": key_id, "cost_usd": _money(side.cost), "total_tokens": side.tokens}
        for key_id, side in current.items()
        if key_id != UNATTRIBUTED and key_id not in identities and (side.tokens or side.cost)
    ]
    return sorted(rows, key=lambda row: (-Decimal(row["cost_usd"]), row["key_id"]))


def teams_of(identities: Iterable[KeyIdentity]) -> list[str]:
    """Every team some key belongs to, sorted."""
    return sorted({identity.team for identity in identities if identity.team})
