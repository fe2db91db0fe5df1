"""The alert engine: what runs after each collection. Evaluate the rules, record new alerts in the
ledger, deliver the pending ones: to SNS exactly once per (period, subject, threshold).

Entry points:
    run_alerts(now, newly_unmapped) -> int      the runner's alert hook; never raises
    AlertEngine(settings, ...).run(now, newly_unmapped) -> AlertRunReport   explicit dependencies

What fires is decided by the pure rules (chalicelib.alerts.rules, .budget_forecast, .anomaly), worded
by chalicelib.alerts.messages, remembered by the ledger (chalicelib.store.alerts) and sent by
chalicelib.alerts.publisher.

## Exactly once: the argument

Each alert has an identity (period, subject, threshold) and one ledger item. A run:

1. evaluates the rules and reads the ledger partitions of today, yesterday, this month and last
   month (strongly consistent);
2. records each new alert with a conditional put (`attribute_not_exists(pk)`) in state `pending`,
   with the message frozen in the item, BEFORE anything is published. Of any number of runs that
   evaluate the same alert, exactly one put succeeds: the alert exists once;
3. delivers every pending item it knows of (from 1 and 2): it first *claims* the item with a
   conditional update (`state = pending AND no live lease`) that sets a lease (owner, until now +
   300 s) and counts the attempt. Of concurrent runs, exactly one claim succeeds; only the claimant
   publishes. After SNS accepts, a conditional update (`state = pending AND lease_owner = me`) marks
   it `published`. If SNS refuses or fails, the claimant releases the lease (state stays `pending`)
   and counts the `AlertPublishFailed` metric; the collection run does not fail.

Never lost: an alert is pending from before its first publish until SNS has accepted it. A pending
item whose publish failed, or whose run crashed anywhere after the put, is retried by every later
run once its lease (if any) has expired, for as long as its period is in the retried partitions
(today and yesterday; this and last month). The lease (300 s) outlasts the SNS call (one attempt of
5 s connect + 10 s read: the publish client never retries, see below).

Never doubled, with one honest exception: a second publish of the same item needs a second
successful claim, which needs the first lease to have expired without `published` being recorded.
That happens only when SNS accepted a publish but we never learned it or never wrote it down: the
process died between SNS's answer and the `published` update (a window of one DynamoDB write), or
the answer was lost (a timeout or dropped connection after SNS accepted). Each such event sends at
most one extra copy, and only one per run: the publish client has botocore's retries disabled
(chalicelib.aws.sns_publish_client), so the only retry is the next run's claim, and every attempt
is in the ledger (`attempts`, `last_attempt_at`, `last_error`, and `last_outcome`: `refused` when
SNS answered with an error, `unknown` when no answer came and SNS may have accepted it). So N lost
replies of one alert cost at most N extra copies; with none lost, exactly one copy. (Before, one
lost reply could cost botocore's 4 retries on top: `alerts test` arrived 6 times.)
SNS standard topics have no deduplication (FIFO topics do, but
deliver to SQS only), so the copy carries the same `alert_id` attribute and JSON field: a machine
subscriber can drop it; a person sees the same mail twice.

Superseded: when one evaluation finds several new thresholds of one subject (40% -> 90% between
runs), only the highest is recorded pending; lower ones are recorded `superseded` and never sent.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from chalicelib.alerts.anomaly import AnomalyConfig
from chalicelib.alerts.anomaly_inputs import AnomalyReader
from chalicelib.alerts.budget_forecast import monthly_usd_budget, on_track_alerts
from chalicelib.alerts.kinds import Alert
from chalicelib.alerts.messages import MessageContext, StoredMessage, render
from chalicelib.alerts.publisher import PUBLISH_ERRORS, SnsPublisher, describe
from chalicelib.alerts.rules import (
    UnmappedSighting,
    budget_alerts,
    day_cost,
    plan,
    pool_alerts,
    unclassified_alerts,
    unmapped_alerts,
)
from chalicelib.errors import ConfigError
from chalicelib.forecast import Method, MonthClock, PricedDays, forecast_month, history_start
from chalicelib.keys.resolve import resolve
from chalicelib.money import Settlement
from chalicelib.observability import logger, metrics
from chalicelib.periods import DAY, day_label, day_start, month_label, next_month_start
from chalicelib.pools import (
    Contributor,
    PoolInputs,
    build_pool_report,
    load_pool_inputs,
)
from chalicelib.settings import Settings, get_settings
from chalicelib.store.alerts import AlertLedger, AlertRecord
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import RollupStore

LEASE_SECONDS = 300
KEEP_LEDGER_DAYS = 90  # after its period ends; `alerts list` looks back at most this far


# -- the engine -------------------------------------------------------------------------------------
@dataclass
class AlertRunReport:
    """What one evaluation did."""

    evaluated: int = 0
    recorded: int = 0
    superseded: int = 0
    published: int = 0
    failed: int = 0
    published_ids: list[str] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)


def retry_periods(now: int) -> list[str]:
    """The ledger partitions a run reads and retries: today, yesterday, this month, last month."""
    this_month = day_start(day_label(now)[:8] + "01")
    return [day_label(now), day_label(now - DAY), month_label(now), month_label(this_month - DAY)]


def ledger_expiry(period: str) -> int:
    """When a ledger item of `period` may expire (TTL): 90 days after the period ends."""
    if len(period) == len("YYYY-MM-DD"):
        end = day_start(period) + DAY
    else:
        end = next_month_start(day_start(period + "-01"))
    return end + KEEP_LEDGER_DAYS * DAY


class AlertEngine:
    """Evaluates, records and delivers alerts. Tests inject the stores, the publisher and the clock.

    `clock` is wall time, for leases and the ledger's timestamps; `now` passed to `run` is the
    collection's time, which the numbers are about.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rollups: RollupStore | None = None,
        directory: DirectoryStore | None = None,
        ledger: AlertLedger | None = None,
        meta: MetaStore | None = None,
        publisher: SnsPublisher | None = None,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self.settings = settings
        self.rollups = rollups or RollupStore()
        self.directory = directory or DirectoryStore()
        self.ledger = ledger or AlertLedger()
        self.meta = meta or MetaStore()
        self.publisher = publisher or SnsPublisher(settings.alerts_topic_arn)
        self.clock = clock
        self.owner = owner or uuid.uuid4().hex
        self.lease_seconds = lease_seconds
        self._anomalies: AnomalyReader | None = None  # set by evaluate: enriches what record records

    def _wall(self) -> int:
        return int(self.clock())

    # -- 1. evaluate ---------------------------------------------------------------------------
    def evaluate(self, now: int, newly_unmapped: Sequence[str] = ()) -> list[Alert]:
        """Every alert the numbers as of `now` call for, new or not."""
        inputs = load_pool_inputs(now, self.settings, self.rollups, self.directory, data_as_of=now)
        report = build_pool_report(inputs, self.settings)
        thresholds = self.settings.alert_thresholds
        alerts = pool_alerts(report, thresholds) + unclassified_alerts(report)
        alerts += unmapped_alerts(self._unmapped_sightings(inputs, newly_unmapped), data_as_of=now)
        alerts += self._budget_alerts(inputs, thresholds)
        alerts += self._forecast_alerts(inputs)
        self._anomalies = AnomalyReader(
            self.rollups, inputs.identities, AnomalyConfig.of(self.settings), self.ledger
        )
        alerts += self._anomalies.alerts(now)
        return alerts

    def _unmapped_sightings(self, inputs: PoolInputs, newly: Sequence[str]) -> list[UnmappedSighting]:
        # Keys first seen yesterday or today: older ones had their alert in a period no longer
        # retried. The runner's list covers a key recorded and mapped again within one run.
        recent = {entry.key_id: entry.first_seen for entry in inputs.unmapped}
        since = day_start(day_label(inputs.now - DAY))
        wanted = {key: seen for key, seen in recent.items() if seen >= since}
        for key_id in newly:
            wanted.setdefault(key_id, recent.get(key_id, inputs.now))
        by_key: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
        for cell, tokens in inputs.daily_cells.items():
            if cell.key in wanted and tokens:
                by_key[cell.key][(cell.key, cell.model)] += tokens
        return [
            UnmappedSighting(key_id, seen, _contributors(by_key.get(key_id, {}), inputs))
            for key_id, seen in sorted(wanted.items())
        ]

    def _budget_alerts(self, inputs: PoolInputs, thresholds: Sequence[int]) -> list[Alert]:
        budgeted = {key: identity for key, identity in inputs.identities.items() if identity.budget}
        if not budgeted:
            return []
        today = day_label(inputs.now)
        key_days = self.rollups.daily_aggregates("key", today[:8] + "01", today)
        # Costs are read by the run calling us, up to `now`; whether they come per key is the
        # checkpoint's (a run that changes it records so after this hook: one run late at most).
        by_key = self.meta.checkpoint().cost_grouping != "project_id"
        settlement = Settlement(costs_as_of=inputs.now, billed_by_key=by_key)
        return budget_alerts(
            inputs.now, budgeted, key_days, thresholds, cost=day_cost(settlement), data_as_of=inputs.now
        )

    def _forecast_alerts(self, inputs: PoolInputs) -> list[Alert]:
        budgeted = {key: ident for key, ident in inputs.identities.items() if monthly_usd_budget(ident)}
        if not budgeted:
            return []
        by_key = self.meta.checkpoint().cost_grouping != "project_id"
        settlement = Settlement(costs_as_of=inputs.now, billed_by_key=by_key)  # as _budget_alerts
        method = Method.of(self.settings)
        # Every key's month-end forecast, as /api/forecast?group_by=api_key_id computes it (one Query).
        clock = MonthClock.at(inputs.now)
        days = self.rollups.daily_aggregates("key", history_start(clock.today, method), clock.today)
        priced = PricedDays.of(days, settlement, clock.today, method)
        forecasts = {
            key: forecast_month(daily, clock, priced.factors, method)
            for key, daily in priced.by_member.items()
        }
        return on_track_alerts(clock, budgeted, forecasts, method, data_as_of=inputs.now)

    def _with_budget_contributors(self, alert: Alert, now: int) -> Alert:
        """A budget alert with the key's models over its budget period (read only for an alert being
        recorded: one Query of the period's daily detail)."""
        first_day = str(alert.detail["period_start"])[:10]
        per_model: dict[str, int] = defaultdict(int)
        for _, cell, usage in self.rollups.daily_detail(first_day, day_label(now)):
            if cell.key == alert.key_id and usage.total_tokens:
                per_model[cell.model] += usage.total_tokens
        name, owner = str(alert.detail.get("name") or alert.key_id), alert.detail.get("owner")
        rows = sorted(
            (Contributor(alert.key_id, name, owner, model, tokens) for model, tokens in per_model.items()),
            key=lambda row: (-row.tokens, row.model),
        )
        return replace(alert, contributors=tuple(rows[:5]))

    # -- 2. record -----------------------------------------------------------------------------
    def record(self, alerts: Iterable[Alert], known: Iterable[AlertRecord], now: int) -> tuple[int, int]:
        """Record the alerts not yet in the ledger; (pending recorded, superseded recorded) by this call."""
        recorded = {(entry.period, entry.subject, entry.threshold) for entry in known}
        context = MessageContext(self.settings.dashboard_url, self.settings.stage, self._wall())
        pending = superseded = 0
        for alert, state in plan(alerts, recorded):
            message: StoredMessage | None = None
            if state == "pending":
                if alert.kind in ("key_budget", "budget_forecast"):
                    alert = self._with_budget_contributors(alert, now)  # noqa: PLW2901 - enriched copy
                elif self._anomalies is not None:
                    alert = self._anomalies.enrich(alert)  # noqa: PLW2901 - enriched copy
                message = render(alert, context)
            created = self.ledger.record(
                period=alert.period,
                subject=alert.subject,
                threshold=alert.threshold,
                kind=alert.kind,
                state=state,
                message=message,
                now=context.created_at,
                expires_at=ledger_expiry(alert.period),
            )
            if created and state == "pending":
                pending += 1
                logger.info("alert recorded", extra={"alert_id": alert.alert_id, "kind": alert.kind})
            elif created:
                superseded += 1
        return pending, superseded

    # -- 3. deliver ----------------------------------------------------------------------------
    def deliver(self, periods: Iterable[str], report: AlertRunReport) -> None:
        """Publish every pending item of `periods` this run can claim."""
        for entry in self.ledger.records(periods):
            if entry.state == "pending":
                self._deliver_one(entry, report)

    def _deliver_one(self, entry: AlertRecord, report: AlertRunReport) -> None:
        claimed = self.ledger.claim(
            entry.period,
            entry.subject,
            entry.threshold,
            owner=self.owner,
            now=self._wall(),
            lease_seconds=self.lease_seconds,
        )
        if claimed is None:
            return  # published, or another run holds a live lease on it
        if claimed.message is None:
            logger.error("pending alert has no message", extra={"alert_id": claimed.alert_id})
            return
        try:
            message_id = self.publisher.publish(claimed.message)
        except PUBLISH_ERRORS as exc:
            self.ledger.release(
                entry.period,
                entry.subject,
                entry.threshold,
                owner=self.owner,
                error=describe(exc),
                outcome="refused" if isinstance(exc, ClientError | ConfigError) else "unknown",
            )
            report.failed += 1
            report.failed_ids.append(claimed.alert_id)
            metrics.add_metric(name="AlertPublishFailed", unit=MetricUnit.Count, value=1)
            logger.warning(
                "alert publish failed; it stays pending for the next run",
                extra={"alert_id": claimed.alert_id, "attempts": claimed.attempts, "error": describe(exc)},
            )
            return
        if not self.ledger.mark_published(
            entry.period,
            entry.subject,
            entry.threshold,
            owner=self.owner,
            message_id=message_id,
            now=self._wall(),
        ):
            logger.warning(
                "alert published after its lease expired; another run may publish it again",
                extra={"alert_id": claimed.alert_id},
            )
        report.published += 1
        report.published_ids.append(claimed.alert_id)
        metrics.add_metric(name="AlertsPublished", unit=MetricUnit.Count, value=1)
        logger.info("alert published", extra={"alert_id": claimed.alert_id, "message_id": message_id})

    # -- all three -----------------------------------------------------------------------------
    def run(self, now: int, newly_unmapped: Sequence[str] = ()) -> AlertRunReport:
        """Evaluate the numbers as of `now`, record what is new, deliver what is pending."""
        report = AlertRunReport()
        periods = retry_periods(now)
        alerts = self.evaluate(now, newly_unmapped)
        report.evaluated = len(alerts)
        periods += [alert.period for alert in alerts]
        known = self.ledger.records(periods)
        report.recorded, report.superseded = self.record(alerts, known, now)
        self.deliver(periods, report)
        return report


def _contributors(cells: dict[tuple[str, str], int], inputs: PoolInputs) -> tuple[Contributor, ...]:
    rows = []
    for (key_id, model), tokens in cells.items():
        identity = resolve(key_id, inputs.identities)
        rows.append(Contributor(key_id, identity.name, identity.owner, model, tokens))
    return tuple(sorted(rows, key=lambda row: (-row.tokens, row.model)))


def run_alerts(now: int, newly_unmapped: list[str]) -> int:
    """The runner's alert hook: evaluate and publish after a successful collection; the number of
    alerts published. Never raises: the collection already succeeded, and alerts left pending are
    delivered by the next run (failures are logged and counted as `AlertsFailed`)."""
    try:
        report = AlertEngine(get_settings()).run(now, newly_unmapped)
    except Exception:
        logger.exception("alert evaluation failed; pending alerts are retried next run")
        metrics.add_metric(name="AlertsFailed", unit=MetricUnit.Count, value=1)
        return 0
    logger.info("alerts evaluated", extra={"alerts": asdict(report)})
    return report.published


__all__ = [
    "KEEP_LEDGER_DAYS",
    "LEASE_SECONDS",
    "AlertEngine",
    "AlertRunReport",
    "ledger_expiry",
    "retry_periods",
    "run_alerts",
]
