"""What the anomaly rules read: the rollups of the window, its baseline weeks and the lookback.

`AnomalyReader(...).alerts(now)` reads, per run (a few Queries whatever the organization's size):
- hourly key and project aggregates of the window and of each baseline week (1 + ANOMALY_WEEKS
  Queries per dimension, ANOMALY_WINDOW_HOURS items each);
- daily key aggregates of the lookback (ANOMALY_DORMANT_DAYS + 7 x ANOMALY_WEEKS days, one Query):
  which keys were active on which day, and which baseline days were collected at all;
- hourly key aggregates of the window's first day up to the window's end (one Query);
- the daily detail of today and yesterday (per key, its models); only for keys with a model today
  that yesterday did not have, not yet alerted today, the daily detail of the lookback weeks.
Then it asks the pure rules (chalicelib.alerts.anomaly). `enrich(alert)` adds the top models of an alert
about to be recorded (one Query of hourly detail per window day, only then).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.alerts.anomaly import (
    AnomalyConfig,
    AnomalyDim,
    ModelUse,
    baseline_weeks,
    candidates_for_new_models,
    dormant_alerts,
    new_model_alerts,
    spend_by_member,
    spike_alerts,
    top_models,
    usd,
    window_hours,
)
from chalicelib.alerts.kinds import Alert
from chalicelib.dimensions import Base
from chalicelib.keys.model import KeyIdentity
from chalicelib.money import is_item
from chalicelib.observability import logger, metrics
from chalicelib.periods import DAY, HOUR, day_label, day_start, hour_label, hour_start
from chalicelib.store.alerts import AlertLedger
from chalicelib.store.rollups import Cell, RollupStore
from chalicelib.usage import Usage

ByHour = dict[str, dict[str, Usage]]


def _uses(
    cells: Iterable[tuple[Cell, Usage]], keep: Callable[[Cell], bool]
) -> dict[tuple[str, str], ModelUse]:
    """Dollars and tokens per (key, model) of the kept cells; line items are not models."""
    uses: dict[tuple[str, str], ModelUse] = {}
    for cell, usage in cells:
        if keep(cell) and not is_item(cell.model) and not usage.is_zero():
            old = uses.get((cell.key, cell.model), ModelUse(cell.model, Decimal(0), 0))
            uses[(cell.key, cell.model)] = ModelUse(
                cell.model, old.usd + usd(usage), old.tokens + usage.total_tokens
            )
    return uses


def _nonzero(members: Mapping[str, Usage]) -> set[str]:
    return {member for member, usage in members.items() if not usage.is_zero()}


class AnomalyReader:
    """Reads what the anomaly rules need and evaluates them; one per alert run."""

    def __init__(
        self,
        rollups: RollupStore,
        identities: Mapping[str, KeyIdentity],
        config: AnomalyConfig,
        ledger: AlertLedger | None = None,
    ) -> None:
        self.rollups = rollups
        self.identities = identities
        self.config = config
        self.ledger = ledger
        self._read: dict[tuple[Base, str, str], ByHour] = {}

    def _hours(self, dim: Base, hours: list[int]) -> ByHour:
        # owners are summed from the key aggregates: read each range once per run
        span = (dim, hour_label(hours[0]), hour_label(hours[-1]))
        if span not in self._read:
            self._read[span] = self.rollups.hourly_aggregates(*span)
        return self._read[span]

    def alerts(self, now: int) -> list[Alert]:
        """Every anomaly alert the rollups as of `now` call for; none when reading or evaluating
        fails (logged, `AnomalyRulesFailed` counted): the pool and budget alerts of the same run
        must not be lost to the leaked-key rules."""
        try:
            return self._alerts(now)
        except Exception:
            logger.exception("anomaly rules failed; the other alerts of this run go ahead")
            metrics.add_metric(name="AnomalyRulesFailed", unit=MetricUnit.Count, value=1)
            return []

    def _alerts(self, now: int) -> list[Alert]:
        config = self.config
        window = window_hours(now, config.window_hours)
        first_day = day_label(window[0])
        lookback = day_label(day_start(first_day) - (config.dormant_days + 7 * config.weeks) * DAY)
        key_days = self.rollups.daily_aggregates("key", lookback, day_label(day_start(first_day) - DAY))
        weeks = [
            hours
            for hours in baseline_weeks(window, config.weeks)
            if all(day_label(hour) in key_days for hour in hours)  # that week was collected
        ]
        owners = {key: identity.owner for key, identity in self.identities.items() if identity.owner}
        alerts: list[Alert] = []
        dims: tuple[AnomalyDim, ...] = ("key", "project", "owner")
        for dim in dims:
            source: Base = "project" if dim == "project" else "key"
            group = owners if dim == "owner" else None
            spend = spend_by_member(window, self._hours(source, window), group)
            weekly = [spend_by_member(hours, self._hours(source, hours), group) for hours in weeks]
            alerts += spike_alerts(
                dim,
                now,
                window,
                spend=spend,
                weekly=weekly,
                config=config,
                identities=self.identities,
            )
        day_hours = list(range(day_start(first_day), window[-1] + HOUR, HOUR))
        awake = {hour_start(label): members for label, members in self._hours("key", day_hours).items()}
        alerts += dormant_alerts(
            now,
            window,
            awake=awake,
            active_days={day: _nonzero(members) for day, members in key_days.items()},
            config=config,
            identities=self.identities,
        )
        return alerts + self._new_models(now)

    def _new_models(self, now: int) -> list[Alert]:
        today = day_label(now)
        yesterday = day_label(now - DAY)
        by_key_today: dict[str, list[tuple[Cell, Usage]]] = defaultdict(list)
        recent: dict[str, set[str]] = defaultdict(set)
        for day, cell, usage in self.rollups.daily_detail(yesterday, today):
            if day == today:
                by_key_today[cell.key].append((cell, usage))
            elif not usage.is_zero():
                recent[cell.key].add(cell.model)
        pairs = {key: _uses(cells, lambda _cell: True) for key, cells in by_key_today.items()}
        uses = {key: list(found.values()) for key, found in pairs.items()}
        candidates = set(candidates_for_new_models(uses, recent, self.config))
        if candidates and self.ledger is not None:
            recorded = {entry.subject for entry in self.ledger.records([today])}
            candidates -= {key for key in candidates if f"new_model:{key}" in recorded}
        if not candidates:
            return []
        first = day_label(day_start(today) - 7 * self.config.weeks * DAY)
        history: dict[str, dict[str, set[str]]] = {key: {} for key in candidates}
        for day, cell, usage in self.rollups.daily_detail(first, yesterday):
            if cell.key in candidates and not usage.is_zero():
                history[cell.key].setdefault(day, set()).add(cell.model)
        found = new_model_alerts(now, {k: uses[k] for k in candidates}, history, self.config, self.identities)
        return [self._with_models(alert, pairs[alert.key_id]) for alert in found]

    def _with_models(self, alert: Alert, uses: Mapping[tuple[str, str], ModelUse]) -> Alert:
        contributors, rows = top_models(uses, self.identities)
        return replace(alert, contributors=contributors, detail={**alert.detail, "top_models": rows})

    def enrich(self, alert: Alert) -> Alert:
        """A spike or dormant alert with the top models of its window (read only for an alert being
        recorded); other alerts unchanged."""
        if alert.kind not in ("spend_anomaly", "dormant_key") or "top_models" in alert.detail:
            return alert
        detail = alert.detail
        start, end = hour_start(detail["window_start"][:13]), hour_start(detail["window_end"][:13])
        dim, member = str(detail.get("dimension", "key")), str(detail.get("member", alert.key_id))
        owned = {key for key, identity in self.identities.items() if identity.owner == member}

        def keep(cell: Cell) -> bool:
            if dim == "project":
                return cell.project == member
            return cell.key in owned if dim == "owner" else cell.key == member

        cells = [
            (cell, usage)
            for day in sorted({day_label(start), day_label(end - HOUR)})
            for label, cell, usage in self.rollups.hourly_detail(day)
            if start <= hour_start(label) < end
        ]
        return self._with_models(alert, _uses(cells, keep))


__all__ = ["AnomalyReader"]
