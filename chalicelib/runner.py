"""One collection run, end to end: lease, collect, directory, unmapped keys, alerts, checkpoint.

The scheduled Lambda and `python -m chalicelib.cli collect` both come here. A run that fails, for
any reason (OpenAI unreachable or out of time, a malformed row or amount, DynamoDB, a bug), records
why in the checkpoint's last error, emits CollectionFailed, leaves the checkpoint's success fields
where they were and re-raises, so the CLI exits non-zero and the Lambda reports an error.

Time: the scheduled run's OpenAI calls share one deadline, the Lambda's remaining time less
COLLECT_MARGIN_SECONDS (kept for recording a failure, releasing the lease and flushing metrics).

The lease (chalicelib.store.meta) keeps two incremental runs from collecting at once. It lasts the
collector Lambda's timeout plus a margin (`LEASE_SECONDS`), so a run that crashed or was killed
blocks the next ones for at most that long after it started; a run renews it after each step (a
CLI run has no Lambda timeout and may take longer). A run that finds a live lease is `skipped` and
says whose it is and until when; one that finds a stale lease takes it over and says from whom.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.catalog import PriceTable
from chalicelib.collector import CollectionResult, Collector, CollectorConfig, incremental_window
from chalicelib.deadline import Deadline, lambda_deadline
from chalicelib.keys.model import KeyIdentity
from chalicelib.keys.resolve import unknown_key_ids
from chalicelib.keys.sync import needs_sync, sync_directory
from chalicelib.money import Settlement
from chalicelib.observability import logger, metrics, new_run_id, run_context
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.periods import DAY, day_label, iso
from chalicelib.secrets import get_admin_key
from chalicelib.settings import Settings, get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import Checkpoint, MetaStore
from chalicelib.store.periods import materialize
from chalicelib.store.rollups import RollupStore
from chalicelib.store.table import reset_stats

# The collect Lambda's timeout (.chalice/config.json lambda_functions.collect.lambda_timeout, which a
# test keeps equal): a run still holding the lease later than this plus the margin has been killed.
COLLECTOR_TIMEOUT_SECONDS = 300
LEASE_MARGIN_SECONDS = 30
LEASE_SECONDS = COLLECTOR_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS
COLLECT_MARGIN_SECONDS = 30.0
AlertHook = Callable[[int, list[str]], int]
"""Called after a successful collection with (now, newly unmapped key ids); returns alerts published."""
AnswersHook = Callable[[int], int]
"""Called after a run recorded its checkpoint, with its `now`; returns the answers it materialized."""


@dataclass
class RunReport:
    """What one run did, for logs, metrics, the CLI and tests."""

    run_id: str
    status: Literal["ok", "skipped", "failed"] = "ok"
    window_start: str = ""
    window_end: str = ""
    days: list[str] = field(default_factory=list)
    items_written: int = 0
    period_items_written: int = 0
    buckets_read: int = 0
    rows_read: int = 0
    openai_calls: int = 0
    openai_retries: int = 0
    dynamodb_requests: int = 0
    directory_synced: bool = False
    new_unmapped: list[str] = field(default_factory=list)
    alerts_published: int = 0
    answers_kept: int = 0
    cost_grouping: str = ""
    data_lag_seconds: int = 0
    error: str | None = None
    skipped_reason: str | None = None
    lease_until: str | None = None
    lease_taken_over_from: str | None = None


class Runner:
    """Runs collections with explicit dependencies (tests build it; `default_runner` for real)."""

    def __init__(
        self,
        client: OpenAIAdminClient,
        *,
        config: CollectorConfig,
        prices: PriceTable,
        rollups: RollupStore | None = None,
        meta: MetaStore | None = None,
        directory: DirectoryStore | None = None,
        alert_hook: AlertHook | None = None,
        answers_hook: AnswersHook | None = None,
        detailed_metrics: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.detailed_metrics = detailed_metrics
        self.config = config
        self.prices = prices
        self.rollups = rollups or RollupStore()
        self.meta = meta or MetaStore()
        self.directory = directory or DirectoryStore()
        self.alert_hook = alert_hook
        self.answers_hook = answers_hook
        self.clock = clock  # elapsed run time, for renewing the lease (tests inject one)

    def _collector(self, cost_grouping: str | None) -> Collector:
        return Collector(
            self.client, self.rollups, self.prices, self.config, cost_grouping=cost_grouping or "api_key_id"
        )

    def incremental(self, now: int, run_id: str | None = None) -> RunReport:
        """Collect the trailing window up to `now`, as the 15-minute schedule does."""
        report = RunReport(run_id=run_id or new_run_id())
        reset_stats()  # this run's DynamoDB requests only
        lease = _Lease(self.meta, report.run_id, now, self.clock)
        if not lease.acquire(report):
            return report
        try:
            checkpoint = self.meta.checkpoint()
            report.data_lag_seconds = now - (checkpoint.usage_as_of or now)  # how stale the data had become
            self.rollups.trust_digests = trusts_digests(checkpoint, report)
            self.rollups.key_days_written.clear()
            start, end = incremental_window(now, checkpoint.usage_as_of, self.config)
            result = self._collector(checkpoint.cost_grouping).collect_window(start, end, now)
            lease.renew()
            synced_at, identities = self._name_keys(result, checkpoint.directory_synced_at, now, report)
            lease.renew()
            # the long views' settled days, summed ahead (costs are as of now once this run records)
            report.period_items_written = materialize(
                self.rollups,
                day_label(now),
                Settlement(costs_as_of=now),
                identities,
                trust_own_writes=self.rollups.trust_digests,  # after a failed run, check every day
            )
            if self.alert_hook is not None:
                report.alerts_published = self.alert_hook(now, report.new_unmapped)
            self.meta.record_success(
                run_id=report.run_id,
                finished_at=int(time.time()),
                usage_as_of=now,
                costs_as_of=now,
                directory_synced_at=synced_at,
                cost_grouping=result.cost_grouping,
            )
            if checkpoint.collected_from is None:  # the first run (or the first since coverage existed)
                self.meta.note_collected_from(min([day_label(start), *self.meta.backfill_starts()]))
            report.answers_kept = self._keep_answers(now)  # seconds: the lease, renewed above, holds
            self._fill(report, result)
            return report
        except Exception as exc:  # whatever failed, the run is recorded as failed (and re-raised)
            self._fail(report, exc, now)
            raise
        finally:
            self.meta.release_lease(report.run_id)

    def backfill(
        self,
        start: int,
        end: int,
        now: int,
        *,
        run_id: str | None = None,
        progress: Callable[[CollectionResult], None] = lambda _chunk: None,
    ) -> RunReport:
        """Store the whole UTC days of [start, end); resumes after the last completed chunk."""
        report = RunReport(run_id=run_id or new_run_id())
        reset_stats()
        first, last = day_label(start), day_label(end - DAY)
        done_through = self.meta.backfill_done_through(first, last)

        def on_chunk(chunk: CollectionResult) -> None:
            self.meta.record_backfill_progress(first, last, chunk.days[-1], int(time.time()))
            progress(chunk)

        try:
            checkpoint = self.meta.checkpoint()
            self.rollups.trust_digests = False  # a backfill reads what it rewrites (it holds no lease)
            collector = self._collector(checkpoint.cost_grouping)
            result = collector.backfill(start, end, now, done_through=done_through, on_chunk=on_chunk)
            synced_at, identities = self._name_keys(result, checkpoint.directory_synced_at, now, report)
            if synced_at is not None:
                self.meta.record_directory_sync(synced_at)
            # days the periods summed may have been collected again: every window is checked
            report.period_items_written = materialize(
                self.rollups,
                day_label(now),
                Settlement(costs_as_of=checkpoint.costs_as_of),
                identities,
                trust_own_writes=False,
            )
        except Exception as exc:  # as in `incremental`: recorded, then re-raised
            self._fail(report, exc, now)
            raise
        self._fill(report, result)
        return report

    def _keep_answers(self, now: int) -> int:
        """The dashboard's answers materialized (chalicelib.query.dashboard_views); the run's data
        is recorded already, so a failure here is logged and leaves readers computing the views."""
        if self.answers_hook is None:
            return 0
        try:
            return self.answers_hook(now)
        except Exception:  # an optimisation failing must not fail a run whose checkpoint is recorded
            logger.exception("answers_failed")
            return 0

    def _name_keys(
        self, result: CollectionResult, last_synced_at: int | None, now: int, report: RunReport
    ) -> tuple[int | None, dict[str, KeyIdentity]]:
        """Sync the key directory when it is stale or usage shows unknown keys, then record the keys
        still unknown as unmapped (in `report.new_unmapped`); returns the sync time, if one ran, and
        the identities as they now are."""
        identities = self.directory.identities()
        synced_at = None
        if needs_sync(last_synced_at, now, result.key_ids_seen, identities):
            synced_at = sync_directory(self.client, self.directory, now).synced_at
            report.directory_synced = True
            identities = self.directory.identities()
        unknown = unknown_key_ids(result.key_ids_seen, identities)
        report.new_unmapped = self.directory.record_unmapped(unknown, now) if unknown else []
        return synced_at, identities

    def _fill(self, report: RunReport, result: CollectionResult) -> None:
        io = reset_stats()
        report.window_start, report.window_end = iso(result.window_start), iso(result.window_end)
        report.days = result.days
        report.items_written = result.items_written
        report.buckets_read = result.buckets_read
        report.rows_read = result.rows_read
        report.openai_calls = self.client.stats.calls
        report.openai_retries = self.client.stats.retries
        report.dynamodb_requests = io.requests
        report.cost_grouping = result.cost_grouping
        _emit_success_metrics(report, self.detailed_metrics)
        logger.info("collection finished", extra={"run": asdict(report)})

    def _fail(self, report: RunReport, exc: Exception, now: int) -> None:
        report.status = "failed"
        report.error = str(exc) or type(exc).__name__
        report.openai_calls = self.client.stats.calls
        report.openai_retries = self.client.stats.retries
        report.dynamodb_requests = reset_stats().requests  # and none of them leak into the next run
        try:
            self.meta.record_failure(run_id=report.run_id, failed_at=now, error=report.error)
        except Exception:  # the original failure matters more than the bookkeeping one
            logger.exception("could not record the failure in the checkpoint")
        metrics.add_metric(name="CollectionFailed", unit=MetricUnit.Count, value=1)
        logger.error("collection failed", extra={"run": asdict(report), "error_type": type(exc).__name__})


class _Lease:
    """This run's hold on the collector lease: taken at the run's `now`, renewed to the elapsed time
    (by `clock`) plus `LEASE_SECONDS` after each step."""

    def __init__(self, meta: MetaStore, owner: str, now: int, clock: Callable[[], float]) -> None:
        self.meta, self.owner, self.now, self.clock = meta, owner, now, clock
        self.started = clock()

    def acquire(self, report: RunReport) -> bool:
        attempt = self.meta.acquire_lease(self.owner, self.now, LEASE_SECONDS)
        report.lease_until = iso(attempt.until) if attempt.until is not None else None
        if not attempt:
            report.status = "skipped"
            report.skipped_reason = (
                f"another collection ({attempt.holder}) holds the lease until {report.lease_until}"
                if attempt.holder
                else "another collection held the lease"
            )
            logger.info(
                "collection skipped",
                extra={"run_id": self.owner, "reason": report.skipped_reason, "lease_holder": attempt.holder},
            )
            return False
        if attempt.taken_over_from is not None:
            report.lease_taken_over_from = attempt.taken_over_from
            stale = iso(attempt.stale_until) if attempt.stale_until is not None else "?"
            logger.warning(
                "took over a stale collector lease",
                extra={"run_id": self.owner, "stale_owner": attempt.taken_over_from, "stale_until": stale},
            )
        return True

    def renew(self) -> None:
        until = self.now + int(self.clock() - self.started) + LEASE_SECONDS
        if not self.meta.renew_lease(self.owner, until):
            # another run took over (this one outlived its lease): the rollups' absolute writes make
            # the overlap harmless, so finish, but say so
            logger.warning("collector lease lost to another run", extra={"run_id": self.owner})


def trusts_digests(checkpoint: Checkpoint, report: RunReport) -> bool:
    """Whether an incremental run may skip reading the detail groups whose stored digest matches
    (chalicelib.store.rollups.CELLS_DIGEST): only when every earlier write finished, i.e. the last
    run neither failed nor was cut off (its lease taken over); else it reads everything."""
    return checkpoint.consecutive_failures == 0 and report.lease_taken_over_from is None


def _emit_success_metrics(report: RunReport, detailed: bool) -> None:
    """Custom metrics cost $0.30 a month each: by default only the data lag, emitted once per
    successful run (what a staleness alarm needs: its value, or its absence, says the collector is
    behind); failures emit CollectionFailed (`_fail`), and the Lambda's own Invocations and Errors
    metrics, free, count the rest. Every count is also in the "collection finished" log line for Logs
    Insights. DETAILED_METRICS=true adds the counts as metrics."""
    metrics.add_metric(name="DataLagSeconds", unit=MetricUnit.Seconds, value=report.data_lag_seconds)
    if not detailed:
        return
    metrics.add_metric(name="BucketsRead", unit=MetricUnit.Count, value=report.buckets_read)
    metrics.add_metric(name="RowsRead", unit=MetricUnit.Count, value=report.rows_read)
    metrics.add_metric(name="ItemsWritten", unit=MetricUnit.Count, value=report.items_written)
    metrics.add_metric(name="OpenAICalls", unit=MetricUnit.Count, value=report.openai_calls)
    metrics.add_metric(name="OpenAIRetries", unit=MetricUnit.Count, value=report.openai_retries)


def collector_config(settings: Settings) -> CollectorConfig:
    """The collector's knobs from the stage settings."""
    return CollectorConfig(
        reread_hours=settings.reread_hours, hourly_retention_days=settings.hourly_retention_days
    )


def default_runner(
    settings: Settings | None = None, alert_hook: AlertHook | None = None, deadline: Deadline | None = None
) -> Runner:
    """A runner wired from the environment: admin key from env/Secrets Manager/SSM, tables, prices;
    its OpenAI calls bounded by `deadline` (None: by their attempts and waits only)."""
    settings = settings or get_settings()
    client = OpenAIAdminClient(settings.openai_base_url, get_admin_key(settings), deadline=deadline)
    runner = Runner(
        client,
        config=collector_config(settings),
        prices=PriceTable.load(settings.price_overrides),
        alert_hook=alert_hook,
        detailed_metrics=settings.detailed_metrics,
    )
    runner.answers_hook = answers_hook(runner, settings)
    return runner


def answers_hook(runner: Runner, settings: Settings) -> AnswersHook | None:
    """Materializes the dashboard's answers from `runner`'s tables after each run (None: no
    VIEWS_BUCKET)."""
    if not settings.views_bucket:
        return None
    from chalicelib.query.dashboard_views import materialize_answers  # noqa: PLC0415 - the query modules
    from chalicelib.query.usage import Stores  # noqa: PLC0415

    stores = Stores(runner.rollups, runner.directory, runner.meta)
    return lambda now: materialize_answers(now, stores, settings).answers


def scheduled_collect(now: int | None = None, context: object = None) -> RunReport:
    """The scheduled Lambda's work: one incremental run with alerts, metrics flushed whatever happens;
    OpenAI calls end COLLECT_MARGIN_SECONDS before the Lambda `context` runs out of time."""
    from chalicelib.alerts.engine import run_alerts  # noqa: PLC0415 - keeps the API Lambda's cold start lean

    deadline = lambda_deadline(context, COLLECT_MARGIN_SECONDS)
    with run_context() as run_id:  # the run's id, so its log lines name the run the checkpoint records
        try:
            runner = default_runner(alert_hook=run_alerts, deadline=deadline)
            return runner.incremental(now or int(time.time()), run_id=run_id)
        finally:
            metrics.flush_metrics()
