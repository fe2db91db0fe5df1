"""Alert rules, pure: which alerts the numbers call for, and which of them are new.

No I/O and no import of the query layer: the engine (chalicelib.alerts.engine) reads, these decide.

Every alert is identified by (period, subject, threshold) and fires at most once per identity; the
ledger (chalicelib.store.alerts) remembers which have. The rules, evaluated after each collection:

- pool_threshold  per pool and day, each of ALERT_THRESHOLDS (default 50, 80, 100) percent of the cap
- pool_forecast   per pool and day, once: the current hourly rate exhausts the pool before 00:00 UTC
- key_budget      per key with a budget in its mapping, per budget period (UTC day or month), each
                  threshold of the budget: tokens (input + output) or dollars (`cost_usd`)
- unclassified_model  per model in no pool list and day, once
- unmapped_key    per key id with no name anywhere, once (keyed by the day it was first seen)
- budget_forecast per key with a monthly dollar budget and month, once: the month-end forecast
                  reaches the budget before the month ends (chalicelib.alerts.budget_forecast)
- spend_anomaly, dormant_key, new_model   per key (spikes also per owner and project) and day, once:
                  the leaked-key rules of chalicelib.alerts.anomaly

A threshold is crossed when used * 100 >= limit * threshold. When one evaluation finds several
thresholds of one subject crossed for the first time (usage jumped from 40% to 90% between runs),
only the highest is sent; the lower ones are recorded as superseded, so nobody gets three mails at
once saying the same thing, and they never fire later either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.alerts.kinds import ONCE, Alert, AlertKind, Severity
from chalicelib.keys.model import Budget, KeyIdentity
from chalicelib.money import Settlement
from chalicelib.money import day_cost as money_day_cost
from chalicelib.periods import day_label, day_start, iso, month_label
from chalicelib.pools import Contributor, PoolReport, PoolStatus
from chalicelib.store.alerts import AlertState
from chalicelib.usage import Usage

DayCost = Callable[[str, Usage], Decimal]
"""A day's dollars of one key: (day label, usage) -> USD."""


# -- arithmetic -------------------------------------------------------------------------------------
def crossed(used: Decimal | int, limit: Decimal | int, thresholds: Iterable[int]) -> list[int]:
    """The thresholds (percent) that `used` has reached against `limit`, ascending."""
    if limit <= 0:
        return []
    return sorted(t for t in set(thresholds) if used * 100 >= limit * t)


def severity_of(threshold: int) -> Severity:
    """Below 80%: info; below 100%: warning; from 100%: critical."""
    if threshold >= 100:
        return "critical"
    return "warning" if threshold >= 80 else "info"


def percent(used: Decimal | int, limit: Decimal | int) -> float:
    """`used` as a percentage of `limit`, two decimals."""
    return round(float(Decimal(used) * 100 / Decimal(limit)), 2) if limit else 0.0


def day_cost(settlement: Settlement) -> DayCost:
    """`cost_usd` as every view defines it (chalicelib.money): billed once the day is settled (free
    pool tokens are $0 there), else the list-price estimate."""
    return money_day_cost(settlement)


# -- the rules --------------------------------------------------------------------------------------
MAX_DETAIL_KEYS = 20


def _pool_detail(status: PoolStatus, report: PoolReport) -> dict[str, Any]:
    pool = status.as_dict()
    # Every key of the pool would not fit an SNS message in a large organization; the dashboard has them.
    pool["keys"] = pool["keys"][:MAX_DETAIL_KEYS]
    return {
        **pool,
        "keys_total": len(status.keys),
        "date": report.day,
        "resets_at": iso(report.resets_at),
        "data_as_of": iso(report.data_as_of) if report.data_as_of else None,
        "tier": report.tier,
    }


def pool_alerts(report: PoolReport, thresholds: Sequence[int]) -> list[Alert]:
    """Threshold and forecast alerts of both pools."""
    alerts: list[Alert] = []
    for status in report.pools:
        detail = _pool_detail(status, report)
        top = status.top_contributors()
        for threshold in crossed(status.used, status.cap, thresholds):
            alerts.append(
                Alert(
                    kind="pool_threshold",
                    period=report.day,
                    subject=f"pool:{status.pool}",
                    threshold=str(threshold),
                    severity=severity_of(threshold),
                    detail={**detail, "threshold": threshold},
                    contributors=top,
                    pool=status.pool,
                )
            )
        if status.forecast_exhausted_at is not None and status.used < status.cap:
            alerts.append(
                Alert(
                    kind="pool_forecast",
                    period=report.day,
                    subject=f"forecast:{status.pool}",
                    threshold=ONCE,
                    severity="warning",
                    detail=detail,
                    contributors=top,
                    pool=status.pool,
                )
            )
    return alerts


def unclassified_alerts(report: PoolReport) -> list[Alert]:
    """One alert per unclassified model per day."""
    return [
        Alert(
            kind="unclassified_model",
            period=report.day,
            subject=f"model:{entry.model}",
            threshold=ONCE,
            severity="warning",
            detail={
                "model": entry.model,
                "tokens": entry.tokens,
                "date": report.day,
                "data_as_of": iso(report.data_as_of) if report.data_as_of else None,
            },
            contributors=entry.contributors[:5],
            pool="unclassified",
        )
        for entry in report.unclassified_models
    ]


@dataclass(frozen=True)
class UnmappedSighting:
    """An unmapped key id, when it was first seen, and its use today."""

    key_id: str
    first_seen: int
    contributors: tuple[Contributor, ...] = ()


def unmapped_alerts(sightings: Iterable[UnmappedSighting], data_as_of: int | None = None) -> list[Alert]:
    """One alert per unmapped key id, in the period of the day it was first seen."""
    alerts = []
    for sighting in sightings:
        tokens = sum(row.tokens for row in sighting.contributors)
        alerts.append(
            Alert(
                kind="unmapped_key",
                period=day_label(sighting.first_seen),
                subject=f"unmapped:{sighting.key_id}",
                threshold=ONCE,
                severity="warning",
                detail={
                    "api_key_id": sighting.key_id,
                    "first_seen": iso(sighting.first_seen),
                    "tokens_today": tokens,
                    "data_as_of": iso(data_as_of) if data_as_of else None,
                },
                contributors=sighting.contributors[:5],
                key_id=sighting.key_id,
            )
        )
    return alerts


def budget_period(budget: Budget, now: int) -> tuple[str, str]:
    """(ledger period, first UTC day) of the budget period containing `now`."""
    today = day_label(now)
    if budget.period == "daily":
        return today, today
    return month_label(now), today[:8] + "01"


def budget_used(
    budget: Budget, key_id: str, first_day: str, by_day: Mapping[str, Mapping[str, Usage]], cost: DayCost
) -> Decimal:
    """The key's tokens or dollars from `first_day` on, from daily key aggregates."""
    total = Decimal(0)
    for day, members in by_day.items():
        usage = members.get(key_id)
        if day < first_day or usage is None:
            continue
        total += usage.total_tokens if budget.unit == "tokens" else cost(day, usage)
    return total


def budget_alerts(
    now: int,
    identities: Mapping[str, KeyIdentity],
    key_days: Mapping[str, Mapping[str, Usage]],
    thresholds: Sequence[int],
    *,
    cost: DayCost,
    data_as_of: int | None = None,
) -> list[Alert]:
    """Threshold alerts of every key with a budget. `key_days`: day -> key -> usage, covering at
    least the current month; `cost`: a day's dollars (see `day_cost`)."""
    alerts: list[Alert] = []
    for key_id, identity in sorted(identities.items()):
        budget = identity.budget
        if budget is None or budget.amount <= 0:
            continue
        period, first_day = budget_period(budget, now)
        used = budget_used(budget, key_id, first_day, key_days, cost)
        detail = {
            "api_key_id": key_id,
            "name": identity.name,
            "owner": identity.owner,
            "team": identity.team,
            "budget": {"amount": format(budget.amount, "f"), "unit": budget.unit, "period": budget.period},
            "used": format(used, "f"),
            "limit": format(budget.amount, "f"),
            "percent": percent(used, budget.amount),
            "period_start": iso(day_start(first_day)),
            "data_as_of": iso(data_as_of) if data_as_of else None,
        }
        for threshold in crossed(used, budget.amount, thresholds):
            alerts.append(
                Alert(
                    kind="key_budget",
                    period=period,
                    subject=f"budget:{key_id}",
                    threshold=str(threshold),
                    severity=severity_of(threshold),
                    detail={**detail, "threshold": threshold},
                    key_id=key_id,
                )
            )
    return alerts


# -- what is new ------------------------------------------------------------------------------------
def plan(
    alerts: Iterable[Alert], recorded: Collection[tuple[str, str, str]]
) -> list[tuple[Alert, AlertState]]:
    """The alerts not yet in the ledger, each with the state to record it in: per (period, subject),
    the highest new threshold is pending (to be sent) and lower new ones are superseded."""
    fresh: dict[tuple[str, str], list[Alert]] = defaultdict(list)
    for alert in alerts:
        if alert.ident not in recorded:
            fresh[(alert.period, alert.subject)].append(alert)
    planned: list[tuple[Alert, AlertState]] = []
    for group in fresh.values():
        unique = {alert.threshold: alert for alert in group}
        if ONCE in unique:
            planned.append((unique[ONCE], "pending"))
        numeric = sorted((alert for alert in unique.values() if alert.threshold != ONCE), key=_level)
        planned.extend((alert, "superseded") for alert in numeric[:-1])
        planned.extend((alert, "pending") for alert in numeric[-1:])
    return planned


def _level(alert: Alert) -> int:
    return int(alert.threshold)


__all__ = [
    "ONCE",
    "Alert",
    "AlertKind",
    "DayCost",
    "Severity",
    "UnmappedSighting",
    "budget_alerts",
    "budget_period",
    "budget_used",
    "crossed",
    "day_cost",
    "percent",
    "plan",
    "pool_alerts",
    "severity_of",
    "unclassified_alerts",
    "unmapped_alerts",
]
