"""Runtime settings: the one registry of the tracker's environment variables, and the frozen
`Settings` built from it on first use, never at import.

Each setting is declared once, as a field of `Settings`:

    field_name: type = setting("VARIABLE", "default as in the environment", parser, "one line of doc")

A variable that is unset or blank takes its default; the parser turns the text into the value or
raises ConfigError naming the variable. Everything else is derived from these declarations:
`load_settings`, `VARIABLES` (which the CLI's `--stage` clears, chalicelib.cli.stage), the schedule
rate (`schedule_minutes`, read by app.py at deploy time) and README.md's settings table
(`python -m chalicelib.settings --update-readme README.md`; a test compares the two).

Chalice sets a stage's environment variables from `.chalice/config.json`; `chalice.test.Client`
sets them only for the duration of each call, which is why nothing here reads `os.environ` at import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from chalicelib.errors import ConfigError

T = TypeVar("T")
Parser = Callable[[str, str], T]
"""(variable name, its text) -> the value; ConfigError when the text is malformed."""

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
POOL_TIERS: dict[str, tuple[int, int]] = {"1-2": (250_000, 2_500_000), "3-5": (1_000_000, 10_000_000)}
FROM_THE_TIER = 0  # LARGE_POOL_CAP / MINI_POOL_CAP unset: load_settings takes the tier's cap
TRUE_WORDS = frozenset({"1", "true", "yes"})


@dataclass(frozen=True)
class Declaration:
    """One environment variable: its name, default text, parser and the README's line about it."""

    variable: str
    default: str
    parse: Parser[Any]
    doc: str
    shown: str  # the README's "default" column

    def read(self, environ: Mapping[str, str]) -> Any:
        raw = environ.get(self.variable, "")
        return self.parse(self.variable, raw if raw.strip() else self.default)


def setting(variable: str, default: str, parse: Parser[T], doc: str, *, shown: str | None = None) -> T:
    """Declare a `Settings` field read from `variable` (see the module docstring)."""
    declared = Declaration(variable, default, parse, doc, shown or (f"`{default}`" if default else "-"))
    # a dataclass field without a default: load_settings is the one constructor
    return cast(T, field(metadata={"setting": declared}))


# -- parsers ---------------------------------------------------------------------------------
def text(name: str, raw: str) -> str:
    return raw


def url(name: str, raw: str) -> str:
    return raw.rstrip("/")


def flag(name: str, raw: str) -> bool:
    return raw.strip().lower() in TRUE_WORDS


def words(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def integer(minimum: int = 0, maximum: int | None = None, *, clamp: bool = False) -> Parser[int]:
    """Whole numbers from `minimum`; above `maximum` refused, or lowered to it when `clamp`."""

    def parse(name: str, raw: str) -> int:
        if not raw.strip():
            return FROM_THE_TIER  # only the pool caps default to blank
        try:
            value = int(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be an integer, got {raw.strip()!r}") from exc
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            if clamp:
                return maximum
            raise ConfigError(f"{name} must be at most {maximum}, got {value}")
        return value

    return parse


def percent(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number (percent), got {raw.strip()!r}") from exc
    if not 0 <= value <= 1000:  # also refuses nan and inf
        raise ConfigError(f"{name} must be between 0 and 1000 (percent), got {raw.strip()!r}")
    return value


def positive(maximum: int) -> Parser[Decimal]:
    """A Decimal in (0, maximum]."""

    def parse(name: str, raw: str) -> Decimal:
        try:
            value = Decimal(raw.strip())
        except InvalidOperation as exc:
            raise ConfigError(f"{name} must be a number, got {raw.strip()!r}") from exc
        if not value.is_finite() or not 0 < value <= maximum:
            raise ConfigError(f"{name} must be above 0 and at most {maximum}, got {raw.strip()!r}")
        return value

    return parse


def positive_float(maximum: int) -> Parser[float]:
    decimal = positive(maximum)
    return lambda name, raw: float(decimal(name, raw))


def thresholds(name: str, raw: str) -> tuple[int, ...]:
    parts = words(name, raw)
    try:
        values = sorted({int(part) for part in parts})
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated integers, got {parts!r}") from exc
    if not values or values[0] <= 0:
        raise ConfigError(f"{name} must be positive percentages")
    return tuple(values)


def pool_tier(name: str, raw: str) -> str:
    tier = raw.strip()
    if tier not in POOL_TIERS:
        raise ConfigError(f"{name} must be one of {sorted(POOL_TIERS)}, got {tier!r}")
    return tier


# -- the registry ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """Every tunable of the tracker, one `setting(...)` each. Secrets are not here (chalicelib.secrets)."""

    # where things are
    stage: str = setting("STAGE", "local", text, "the stage's name (alert subjects, metrics)")
    usage_table: str = setting("USAGE_TABLE", "openai-usage-tracker", text, "the DynamoDB table")
    alerts_topic_arn: str = setting("ALERTS_TOPIC_ARN", "", text, "the SNS topic alerts are published to")
    alerts_topic_name: str = setting(
        "ALERTS_TOPIC_NAME", "openai-usage-tracker-alerts", text, "the topic's name (created locally)"
    )
    openai_base_url: str = setting(
        "OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL, url, "the simulator's URL locally"
    )
    admin_key_secret_name: str = setting(
        "OPENAI_ADMIN_KEY_SECRET", "", text, "the Secrets Manager secret holding the admin key"
    )
    admin_key_parameter_name: str = setting(
        "OPENAI_ADMIN_KEY_PARAMETER", "", text, "or the SSM SecureString parameter holding it"
    )
    views_bucket: str = setting(
        "VIEWS_BUCKET", "", text, "the S3 bucket of answers the collector materializes (empty: none)"
    )
    # collection
    collect_schedule_minutes: int = setting(
        "COLLECT_SCHEDULE_MINUTES", "15", integer(1), "how often the collector runs (read at deploy time)"
    )
    hourly_retention_days: int = setting(
        "HOURLY_RETENTION_DAYS", "35", integer(1), "how long hourly rollups are kept"
    )
    reread_hours: int = setting("REREAD_HOURS", "48", integer(1), "late-revision window of the usage reads")
    cost_reread_days: int = setting("COST_REREAD_DAYS", "3", integer(1), "days of costs read again each run")
    # pools and alerts
    pool_tier: str = setting(
        "POOL_TIER",
        "1-2",
        pool_tier,
        "complimentary pools: `1-2` = 250K / 2.5M tokens a day, `3-5` = 1M / 10M",
    )
    large_pool_cap: int = setting(
        "LARGE_POOL_CAP",
        "",
        integer(1),
        "explicit large-pool cap when OpenAI's program changes",
        shown="from the tier",
    )
    mini_pool_cap: int = setting(
        "MINI_POOL_CAP",
        "",
        integer(1),
        "explicit mini-pool cap when OpenAI's program changes",
        shown="from the tier",
    )
    alert_thresholds: tuple[int, ...] = setting(
        "ALERT_THRESHOLDS", "50,80,100", thresholds, "percent of a pool or budget"
    )
    sharing_projects: tuple[str, ...] = setting(
        "SHARING_PROJECTS",
        "",
        words,
        "projects that share data with OpenAI (only they count for the pools)",
        shown="all",
    )
    stale_after_minutes: int = setting(
        "STALE_AFTER_MINUTES", "60", integer(1), "`/api/health` says `degraded` (503) after this"
    )
    # the API and the dashboard
    dashboard_origin: str = setting("DASHBOARD_ORIGIN", "", text, "CORS origin of the dashboard")
    dashboard_url: str = setting("DASHBOARD_URL", "", text, "the dashboard's link in alerts")
    open_read_routes: bool = setting(
        "OPEN_READ_ROUTES", "false", flag, "read routes without a token (private networks only)"
    )
    price_overrides: str = setting(
        "PRICE_OVERRIDES",
        "",
        text,
        "JSON price corrections per model family or per-call item (`tool:web_search`, `tool:file_search`, "
        "`tool:code_interpreter`, `tool:vector_storage`)",
    )
    detailed_metrics: bool = setting(
        "DETAILED_METRICS",
        "false",
        flag,
        "also emit buckets, rows, items written, OpenAI calls and retries as CloudWatch metrics "
        "($0.30 a month each; they are always in the run's log line)",
    )
    reconcile_gap_percent: float = setting(
        "RECONCILE_GAP_PERCENT",
        "5",
        percent,
        "a billed day whose estimate is off the bill by more is flagged (`/api/reconciliation`, `reconcile`)",
    )
    # live 1m reads: OpenAI rounds (6 calls each) a minute, per API token and for the whole stage
    live_rounds_per_token: int = setting(
        "LIVE_ROUNDS_PER_TOKEN",
        "4",
        integer(1),
        "live `1m` windows not yet answered this minute that one token may ask for per minute "
        "(each costs one OpenAI call per usage kind); beyond, 429 with `Retry-After`",
    )
    live_rounds_total: int = setting(
        "LIVE_ROUNDS_TOTAL",
        "10",
        integer(1),
        "the same for the whole stage; beyond, 503 `live_capacity` with `Retry-After`",
    )
    # month-end forecasts (chalicelib.forecast), bounded: a forecast reads this much daily history
    forecast_window_days: int = setting(
        "FORECAST_WINDOW_DAYS",
        "28",
        integer(1, 90),
        "month-end forecasts: the run rate is of this many complete days before today (1 to 90) "
        "(`/api/forecast`, `forecast`, the `budget_forecast` alert)",
    )
    forecast_season_weeks: int = setting(
        "FORECAST_SEASON_WEEKS",
        "4",
        integer(0, 13),
        "weeks of the organization's history its weekday shape is taken from; `0`: no weekday "
        "seasonality; 0 to 13",
    )
    # key hygiene (chalicelib.hygiene)
    hygiene_unused_days: int = setting(
        "HYGIENE_UNUSED_DAYS",
        "30",
        integer(1),
        "key hygiene: a key unused this many days (never used: created that long ago) is listed",
    )
    hygiene_rotation_days: int = setting(
        "HYGIENE_ROTATION_DAYS", "90", integer(1), "key hygiene: a key created longer ago than this is listed"
    )
    # digests (chalicelib.digest)
    digest_budget_risk_percent: float = setting(
        "DIGEST_BUDGET_RISK_PERCENT",
        "80",
        percent,
        "a digest lists a budget used this much (percent) as at risk",
    )
    # anomaly and leaked-key alerts (chalicelib.alerts.anomaly)
    anomaly_window_hours: int = setting(
        "ANOMALY_WINDOW_HOURS",
        "3",
        integer(1, 24, clamp=True),
        "leaked-key alerts: the window (whole hours before now, at most 24)",
    )
    anomaly_weeks: int = setting(
        "ANOMALY_WEEKS",
        "4",
        integer(2),
        "how many past weeks of the same hours make its baseline (`ANOMALY_WEEKS` x 7 must stay under "
        "`HOURLY_RETENTION_DAYS`)",
    )
    anomaly_mad_threshold: float = setting(
        "ANOMALY_MAD_THRESHOLD",
        "6",
        positive_float(1000),
        "a spend spike: window spend above the baseline median by this many scaled MADs "
        "(and by `ANOMALY_MIN_USD`)",
    )
    anomaly_min_usd: Decimal = setting(
        "ANOMALY_MIN_USD",
        "50",
        positive(1_000_000),
        "a spend spike is also at least this many dollars above it",
    )
    anomaly_dormant_days: int = setting(
        "ANOMALY_DORMANT_DAYS", "7", integer(1), "a key quiet this many whole days that spends again alerts"
    )
    anomaly_wake_min_usd: Decimal = setting(
        "ANOMALY_WAKE_MIN_USD",
        "1",
        positive(1_000_000),
        "a woken key, or a key spending on a model new to it, alerts once it has spent this much "
        "(docs/operations.md)",
    )


# Read by chalicelib.secrets and never held in Settings (a repr or a log line of Settings would show it).
ADMIN_KEY = Declaration(
    "OPENAI_ADMIN_KEY",
    "",
    text,
    "the admin key itself, for local use (deployed: the secret or parameter)",
    "-",
)


def declarations() -> tuple[Declaration, ...]:
    """Every variable the tracker reads, in the order declared."""
    declared = tuple(cast(Declaration, f.metadata["setting"]) for f in fields(Settings))
    return (*declared, ADMIN_KEY)


VARIABLES: tuple[str, ...] = tuple(d.variable for d in declarations())


def _derived(values: dict[str, Any]) -> dict[str, Any]:
    """The rules that tie one setting to another."""
    large, mini = POOL_TIERS[values["pool_tier"]]
    values["large_pool_cap"] = values["large_pool_cap"] or large
    values["mini_pool_cap"] = values["mini_pool_cap"] or mini
    weeks, retention = values["anomaly_weeks"], values["hourly_retention_days"]
    if weeks * 7 >= retention:  # the baseline reads hourly rollups, kept HOURLY_RETENTION_DAYS
        raise ConfigError(
            f"ANOMALY_WEEKS={weeks} reaches past HOURLY_RETENTION_DAYS={retention}: "
            f"at most {(retention - 1) // 7}"
        )
    return values


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment (raises ConfigError on a malformed value)."""
    env = os.environ if environ is None else environ
    values = {f.name: cast(Declaration, f.metadata["setting"]).read(env) for f in fields(Settings)}
    return Settings(**_derived(values))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, built on first use."""
    return load_settings()


def schedule_minutes(environ: Mapping[str, str] | None = None) -> int:
    """COLLECT_SCHEDULE_MINUTES alone: app.py reads it at import, when `chalice deploy` analyses the
    schedule, where the stage's other variables need not be valid yet."""
    declared = next(d for d in declarations() if d.variable == "COLLECT_SCHEDULE_MINUTES")
    return cast(int, declared.read(os.environ if environ is None else environ))


# -- README.md's table -----------------------------------------------------------------------
TABLE_START = "<!-- settings: generated by `python -m chalicelib.settings --update-readme README.md` -->"
TABLE_END = "<!-- end of settings -->"


def markdown_table() -> str:
    """The README's settings table, one row per variable."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{d.variable}` | {d.shown} | {d.doc} |" for d in declarations()]
    return "\n".join(rows) + "\n"


def with_table(readme: str) -> str:
    """`readme` with the text between its table markers replaced by `markdown_table()`."""
    head, start, rest = readme.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ConfigError(f"the README has no {TABLE_START!r} ... {TABLE_END!r} markers")
    return f"{head}{TABLE_START}\n{markdown_table()}{TABLE_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """`python -m chalicelib.settings`: print or rewrite README.md's settings table."""
    import argparse  # noqa: PLC0415 - every Lambda imports this module; only this command parses argv

    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.settings", description="The tracker's settings registry."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--markdown", action="store_true", help="print the README's settings table")
    action.add_argument("--update-readme", metavar="PATH", type=Path, help="rewrite the table in PATH")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table())
        return 0
    path: Path = args.update_readme
    try:
        path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    except (OSError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
