"""The monthly AWS bill from measured counts: public us-east-1 on-demand list prices, no free tier.

Everything here is pure arithmetic on two inputs, `Workload` (what the bench measured for one size)
and `Assumptions` (how the deployment is used), so that tests/unit/test_bench_costs.py can check it
by hand. `monthly_bill` returns line items; each says how it was computed.

Lambda time at a memory size: Lambda gives a function CPU in proportion to its memory (one vCPU at
1,769 MB), so a run that took `cpu` CPU seconds and `wall` seconds on this machine is estimated at
`cpu / share + (wall - cpu)` seconds, share = memory / 1769 (at most 1): the CPU part slows down,
the waiting part (OpenAI, DynamoDB) does not. Since August 2025 Lambda bills the INIT phase too, so
a cold start's import time counts, scaled the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

GIB = 1024**3
MB_PER_VCPU = 1769
DAYS_PER_MONTH = 30
ANSWER_SETS_KEPT = 4  # a day's answers are named by its periods: today's and 3 days' the lifecycle keeps
SECONDS_PER_MONTH = DAYS_PER_MONTH * 86400


@dataclass(frozen=True)
class Prices:
    """USD, us-east-1, on-demand, as published (DynamoDB, Lambda, SNS, S3, CloudFront as the issue
    gives them; the rest from the services' pricing pages)."""

    dynamodb_per_million_writes: float = 0.625
    dynamodb_per_million_reads: float = 0.125
    dynamodb_storage_gb_month: float = 0.25
    dynamodb_pitr_gb_month: float = 0.20  # the table has point-in-time recovery on (infra/template.yaml)
    lambda_per_million_requests: float = 0.20
    lambda_gb_second: float = 0.0000166667
    sns_per_million_publishes: float = 0.50
    s3_get_per_thousand: float = 0.0004
    s3_put_per_thousand: float = 0.005
    s3_storage_gb_month: float = 0.023
    cloudfront_per_10k_https: float = 0.0075
    cloudfront_gb_out: float = 0.085
    api_gateway_rest_per_million: float = 3.50
    api_gateway_gb_out: float = 0.09
    cloudwatch_logs_ingest_gb: float = 0.50
    cloudwatch_custom_metric_month: float = 0.30
    secrets_manager_secret_month: float = 0.40
    secrets_manager_per_10k_calls: float = 0.05
    xray_per_million_traces: float = 5.00


@dataclass(frozen=True)
class Assumptions:
    """How the deployment is used; printed beside the bill."""

    schedule_minutes: int = 15
    directory_syncs_per_day: int = 4  # every 6 hours (chalicelib.keys.sync.DEFAULT_SYNC_MAX_AGE_HOURS)
    collect_memory_mb: int = 512  # .chalice/config.json lambda_functions.collect
    api_memory_mb: int = 256  # .chalice/config.json lambda_functions.api_handler
    collect_cold_start_every_run: bool = True  # 15 minutes apart: assume the container is gone
    dashboard_views_per_day: int = 100
    loads_per_view: int = 3  # the first load and two automatic refreshes (every 300 s, ~10 min open)
    api_cold_starts_per_view: int = 1
    alerts_per_month: int = 100  # SNS publishes (pool thresholds, budgets, unmapped keys)
    custom_metrics: int = 6  # names the collector emits every run (chalicelib.runner), one dimension
    api_log_bytes_per_request: int = 1500  # access log line + Lambda START/END/REPORT
    lambda_platform_log_bytes: int = 350  # START/END/REPORT of each collect invocation
    secret_fetches_per_cold_start: int = 1
    s3_gets_per_cloudfront_request: float = 1.0  # worst case: CloudFront never serves from its cache
    xray_traced: bool = True  # .chalice/config.json "xray": true
    admin_key_in_secrets_manager: bool = True  # infra/template.yaml; SSM standard parameters are free
    api_response_compression: float = 1.0  # compressed/raw bytes of API responses (1: uncompressed)

    @property
    def runs_per_month(self) -> int:
        """Scheduled collections in 30 days."""
        return DAYS_PER_MONTH * 24 * 60 // self.schedule_minutes

    @property
    def views_per_month(self) -> int:
        """Dashboard views in 30 days."""
        return DAYS_PER_MONTH * self.dashboard_views_per_day

    def describe(self) -> list[str]:
        """The assumptions as sentences."""
        return [
            f"collector every {self.schedule_minutes} min = {self.runs_per_month:,} runs/month "
            f"({self.collect_memory_mb} MB), each a cold start"
            if self.collect_cold_start_every_run
            else f"collector every {self.schedule_minutes} min = {self.runs_per_month:,} runs/month",
            f"directory sync {self.directory_syncs_per_day}x a day = "
            f"{self.directory_syncs_per_day * DAYS_PER_MONTH} syncs/month, measured alone and added",
            f"{self.dashboard_views_per_day} dashboard views/day, each {self.loads_per_view} loads of the "
            "API requests the dashboard makes (bench/queries.py's first-load routes; first load + "
            "refreshes), static files once per view, "
            f"{self.api_cold_starts_per_view} API cold start per view (that load's requests as the "
            "bench's first, counted pass measured them; the other loads as its timed passes), "
            f"API Lambda {self.api_memory_mb} MB",
            f"{self.alerts_per_month} SNS publishes/month; {self.custom_metrics} CloudWatch custom metrics",
            "storage: the table after the 90-day backfill, projected to 365 days of daily items + 35 days "
            "of hourly items, +100 bytes/item as DynamoDB bills it; point-in-time recovery on",
            "CloudFront never hits its cache (every request an S3 GET); API responses "
            + (
                "uncompressed"
                if self.api_response_compression >= 1
                else f"gzip-compressed to {self.api_response_compression:.0%} of their size"
            ),
            "OpenAI admin key in "
            + ("Secrets Manager" if self.admin_key_in_secrets_manager else "an SSM SecureString parameter"),
            "list prices, no free tier (Lambda's and CloudWatch's always-free tiers would remove "
            "those lines)",
        ]


@dataclass(frozen=True)
class RunCost:
    """One Lambda invocation's measured work."""

    wall_s: float
    cpu_s: float
    init_cpu_s: float = 0.0
    read_units: float = 0.0
    write_units: float = 0.0
    log_bytes: int = 0
    response_bytes: int = 0
    s3_gets: int = 0  # materialized answers fetched (chalicelib.store.answers)
    s3_puts: int = 0  # and kept
    s3_put_bytes: int = 0


@dataclass(frozen=True)
class Workload:
    """What the bench measured for one organization size."""

    incremental: RunCost
    directory_sync: RunCost
    daily_periods: RunCost = field(
        default_factory=lambda: RunCost(0.0, 0.0)
    )  # a day's first run: its periods step
    first_load_requests: list[RunCost] = field(default_factory=list)  # warm: p50 times, warm reads
    first_load_cold: list[RunCost] = field(default_factory=list)  # a new container's first (empty: warm)
    api_init_cpu_s: float = 0.0
    static_requests: int = 0
    static_bytes: int = 0  # compressed, as CloudFront sends them
    storage_bytes_year: int = 0


def lambda_seconds(run: RunCost, memory_mb: int, *, cold: bool) -> float:
    """Estimated billed seconds of `run` on a Lambda of `memory_mb` (init included when `cold`)."""
    share = min(1.0, memory_mb / MB_PER_VCPU)
    seconds = run.cpu_s / share + max(0.0, run.wall_s - run.cpu_s)
    if cold:
        seconds += run.init_cpu_s / share
    return seconds


@dataclass(frozen=True)
class LineItem:
    """One line of the bill."""

    service: str
    usd: float
    how: str


def monthly_bill(work: Workload, assume: Assumptions, prices: Prices | None = None) -> list[LineItem]:
    """The bill's lines for one month."""
    p = prices or Prices()
    runs = assume.runs_per_month
    syncs = assume.directory_syncs_per_day * DAYS_PER_MONTH
    views = assume.views_per_month
    api_requests = views * assume.loads_per_view * len(work.first_load_requests)
    # a view's first `api_cold_starts_per_view` loads meet a new container (its memos and caches
    # empty: the bench's counted first pass), the other loads a warm one (the timed passes)
    cold_loads = min(assume.loads_per_view, assume.api_cold_starts_per_view)
    warm_loads = assume.loads_per_view - cold_loads
    cold = work.first_load_cold or work.first_load_requests
    api_rru = views * (
        cold_loads * sum(r.read_units for r in cold)
        + warm_loads * sum(r.read_units for r in work.first_load_requests)
    )
    api_out = (
        views
        * assume.loads_per_view
        * sum(r.response_bytes for r in work.first_load_requests)
        * assume.api_response_compression
    )

    collect_s = runs * lambda_seconds(
        work.incremental, assume.collect_memory_mb, cold=assume.collect_cold_start_every_run
    )
    sync_s = syncs * lambda_seconds(work.directory_sync, assume.collect_memory_mb, cold=False)
    periods_s = DAYS_PER_MONTH * lambda_seconds(work.daily_periods, assume.collect_memory_mb, cold=False)
    warm_load_s = sum(lambda_seconds(r, assume.api_memory_mb, cold=False) for r in work.first_load_requests)
    cold_load_s = sum(lambda_seconds(r, assume.api_memory_mb, cold=False) for r in cold)
    api_init = RunCost(wall_s=0.0, cpu_s=0.0, init_cpu_s=work.api_init_cpu_s)
    api_s = views * (
        cold_loads * cold_load_s
        + warm_loads * warm_load_s
        + assume.api_cold_starts_per_view * lambda_seconds(api_init, assume.api_memory_mb, cold=True)
    )
    gb_s = (
        collect_s + sync_s + periods_s
    ) * assume.collect_memory_mb / 1024 + api_s * assume.api_memory_mb / 1024
    invocations = runs + api_requests

    periods_wru = DAYS_PER_MONTH * work.daily_periods.write_units
    periods_rru = DAYS_PER_MONTH * work.daily_periods.read_units
    wru = runs * work.incremental.write_units + syncs * work.directory_sync.write_units + periods_wru
    rru = runs * work.incremental.read_units + syncs * work.directory_sync.read_units + periods_rru + api_rru
    storage_gb = work.storage_bytes_year / GIB
    log_bytes = (
        runs * (work.incremental.log_bytes + assume.lambda_platform_log_bytes)
        + api_requests * assume.api_log_bytes_per_request
    )
    collect_cold_starts = runs if assume.collect_cold_start_every_run else 0
    secret_fetches = collect_cold_starts * assume.secret_fetches_per_cold_start
    secret_usd = (
        p.secrets_manager_secret_month + secret_fetches / 1e4 * p.secrets_manager_per_10k_calls
        if assume.admin_key_in_secrets_manager
        else 0.0
    )
    cf_requests = views * work.static_requests
    answer_puts = runs * work.incremental.s3_puts
    answer_gets = views * (
        cold_loads * sum(r.s3_gets for r in cold)
        + warm_loads * sum(r.s3_gets for r in work.first_load_requests)
    )
    answers_gb = work.incremental.s3_put_bytes * ANSWER_SETS_KEPT / GIB
    return [
        LineItem(
            "DynamoDB writes",
            wru / 1e6 * p.dynamodb_per_million_writes,
            f"{runs:,} runs x {work.incremental.write_units:,.1f} WRU + {syncs} syncs x "
            f"{work.directory_sync.write_units:,.1f} WRU + {DAYS_PER_MONTH} days' periods "
            f"{periods_wru:,.0f} WRU = {wru:,.0f} WRU",
        ),
        LineItem(
            "DynamoDB reads",
            rru / 1e6 * p.dynamodb_per_million_reads,
            f"collector {runs * work.incremental.read_units:,.0f} + syncs "
            f"{syncs * work.directory_sync.read_units:,.0f} + periods {periods_rru:,.0f} + dashboard "
            f"{api_rru:,.0f} = {rru:,.0f} RRU",
        ),
        LineItem(
            "DynamoDB storage + PITR",
            storage_gb * (p.dynamodb_storage_gb_month + p.dynamodb_pitr_gb_month),
            f"{storage_gb * 1024:,.1f} MB at a year of history",
        ),
        LineItem(
            "Lambda requests",
            invocations / 1e6 * p.lambda_per_million_requests,
            f"{runs:,} collect + {api_requests:,} API invocations",
        ),
        LineItem(
            "Lambda duration",
            gb_s * p.lambda_gb_second,
            f"{gb_s:,.0f} GB-s (collect {collect_s / runs if runs else 0:.1f} s/run at "
            f"{assume.collect_memory_mb} MB "
            f"incl. init, + {periods_s / DAYS_PER_MONTH:.1f} s a day's first run; API {api_s:,.0f} "
            f"s/month at {assume.api_memory_mb} MB)",
        ),
        LineItem(
            "API Gateway (REST)",
            api_requests / 1e6 * p.api_gateway_rest_per_million + api_out / GIB * p.api_gateway_gb_out,
            f"{api_requests:,} requests, {api_out / 1024**2:,.1f} MB out",
        ),
        LineItem(
            "CloudFront + S3 (dashboard)",
            cf_requests / 1e4 * p.cloudfront_per_10k_https
            + views * work.static_bytes / GIB * p.cloudfront_gb_out
            + cf_requests * assume.s3_gets_per_cloudfront_request / 1e3 * p.s3_get_per_thousand,
            f"{cf_requests:,} requests, {views * work.static_bytes / 1024**2:,.1f} MB out",
        ),
        LineItem(
            "S3 (materialized answers)",
            answer_puts / 1e3 * p.s3_put_per_thousand
            + answer_gets / 1e3 * p.s3_get_per_thousand
            + answers_gb * p.s3_storage_gb_month,
            f"{runs:,} runs x {work.incremental.s3_puts} PUTs + {answer_gets:,} GETs",
        ),
        LineItem(
            "SNS",
            assume.alerts_per_month / 1e6 * p.sns_per_million_publishes,
            f"{assume.alerts_per_month} publishes",
        ),
        LineItem(
            "CloudWatch Logs",
            log_bytes / GIB * p.cloudwatch_logs_ingest_gb,
            f"{log_bytes / 1024**2:,.1f} MB ingested "
            f"({work.incremental.log_bytes:,} B per collect run measured)",
        ),
        LineItem(
            "CloudWatch custom metrics",
            assume.custom_metrics * p.cloudwatch_custom_metric_month,
            f"{assume.custom_metrics} metrics (EMF) x ${p.cloudwatch_custom_metric_month}",
        ),
        LineItem(
            "Secrets Manager",
            secret_usd,
            f"1 secret + {secret_fetches:,} fetches"
            if assume.admin_key_in_secrets_manager
            else "key in an SSM standard parameter: no charge",
        ),
        LineItem(
            "X-Ray",
            (invocations / 1e6 * p.xray_per_million_traces) if assume.xray_traced else 0.0,
            f"{invocations:,} traces",
        ),
    ]


def total(lines: list[LineItem]) -> float:
    """The bill's total."""
    return sum(line.usd for line in lines)


def bill_dict(lines: list[LineItem], assume: Assumptions, prices: Prices | None = None) -> dict[str, Any]:
    """JSON-ready bill with its assumptions and prices."""
    return {
        "total_usd": round(total(lines), 4),
        "lines": [{"service": x.service, "usd": round(x.usd, 4), "how": x.how} for x in lines],
        "assumptions": assume.describe(),
        "assumption_values": asdict(assume),
        "prices": asdict(prices or Prices()),
    }
