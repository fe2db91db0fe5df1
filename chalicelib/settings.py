"""Runtime settings: one frozen dataclass built from the environment on first use, never at import.

Chalice sets a stage's environment variables from `.chalice/config.json`; `chalice.test.Client`
sets them only for the duration of each call, which is why nothing here reads `os.environ` at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.errors import ConfigError

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
POOL_TIERS: dict[str, tuple[int, int]] = {"1-2": (250_000, 2_500_000), "3-5": (1_000_000, 10_000_000)}


@dataclass(frozen=True)
class Settings:
    """Every tunable of the tracker. Secrets are not here (see chalicelib.secrets)."""

    stage: str
    usage_table: str
    alerts_topic_arn: str
    alerts_topic_name: str
    openai_base_url: str
    admin_key_secret_name: str
    admin_key_parameter_name: str
    hourly_retention_days: int
    reread_hours: int
    cost_reread_days: int
    pool_tier: str
    large_pool_cap: int
    mini_pool_cap: int
    alert_thresholds: tuple[int, ...]
    sharing_projects: tuple[str, ...]
    stale_after_minutes: int
    dashboard_origin: str
    dashboard_url: str
    open_read_routes: bool
    price_overrides: str
    detailed_metrics: bool = False
    reconcile_gap_percent: float = 5.0
    """A billed day whose estimate is off the bill by more than this (percent) is flagged."""
    # live 1m reads: OpenAI rounds (6 calls each) a minute, per API token and for the whole stage
    live_rounds_per_token: int = 4
    live_rounds_total: int = 10
    # month-end forecasts (chalicelib.forecast): the run rate's window and the weekday season
    forecast_window_days: int = 28
    forecast_season_weeks: int = 4
    # key hygiene (chalicelib.hygiene): a key unused this many days, or older than the rotation age
    hygiene_unused_days: int = 30
    hygiene_rotation_days: int = 90
    # digests (chalicelib.digest): a budget used this much (percent) now is "at risk"
    digest_budget_risk_percent: float = 80.0


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _at_most(name: str, value: int, maximum: int) -> int:
    if value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _percent(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number (percent), got {raw!r}") from exc
    if not 0 <= value <= 1000:  # also refuses nan and inf
        raise ConfigError(f"{name} must be between 0 and 1000 (percent), got {raw!r}")
    return value


def _csv(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _thresholds() -> tuple[int, ...]:
    raw = _csv("ALERT_THRESHOLDS") or ("50", "80", "100")
    try:
        values = sorted({int(part) for part in raw})
    except ValueError as exc:
        raise ConfigError(f"ALERT_THRESHOLDS must be comma-separated integers, got {raw!r}") from exc
    if not values or values[0] <= 0:
        raise ConfigError("ALERT_THRESHOLDS must be positive percentages")
    return tuple(values)


def _pool_caps(tier: str) -> tuple[int, int]:
    if tier not in POOL_TIERS:
        raise ConfigError(f"POOL_TIER must be one of {sorted(POOL_TIERS)}, got {tier!r}")
    large, mini = POOL_TIERS[tier]
    return _int("LARGE_POOL_CAP", large, 1), _int("MINI_POOL_CAP", mini, 1)


def load_settings() -> Settings:
    """Build settings from the current environment (raises ConfigError on a malformed value)."""
    tier = os.environ.get("POOL_TIER", "1-2").strip() or "1-2"
    large_cap, mini_cap = _pool_caps(tier)
    return Settings(
        stage=os.environ.get("STAGE", "local"),
        usage_table=os.environ.get("USAGE_TABLE", "openai-usage-tracker"),
        alerts_topic_arn=os.environ.get("ALERTS_TOPIC_ARN", ""),
        alerts_topic_name=os.environ.get("ALERTS_TOPIC_NAME", "openai-usage-tracker-alerts"),
        openai_base_url=os.environ.get("OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL).rstrip("/"),
        admin_key_secret_name=os.environ.get("OPENAI_ADMIN_KEY_SECRET", ""),
        admin_key_parameter_name=os.environ.get("OPENAI_ADMIN_KEY_PARAMETER", ""),
        hourly_retention_days=_int("HOURLY_RETENTION_DAYS", 35, 1),
        reread_hours=_int("REREAD_HOURS", 48, 1),
        cost_reread_days=_int("COST_REREAD_DAYS", 3, 1),
        pool_tier=tier,
        large_pool_cap=large_cap,
        mini_pool_cap=mini_cap,
        alert_thresholds=_thresholds(),
        sharing_projects=_csv("SHARING_PROJECTS"),
        stale_after_minutes=_int("STALE_AFTER_MINUTES", 60, 1),
        dashboard_origin=os.environ.get("DASHBOARD_ORIGIN", ""),
        dashboard_url=os.environ.get("DASHBOARD_URL", ""),
        open_read_routes=os.environ.get("OPEN_READ_ROUTES", "false").strip().lower() in {"1", "true", "yes"},
        price_overrides=os.environ.get("PRICE_OVERRIDES", ""),
        detailed_metrics=os.environ.get("DETAILED_METRICS", "false").strip().lower() in {"1", "true", "yes"},
        reconcile_gap_percent=_percent("RECONCILE_GAP_PERCENT", 5.0),
        live_rounds_per_token=_int("LIVE_ROUNDS_PER_TOKEN", 4, 1),
        live_rounds_total=_int("LIVE_ROUNDS_TOTAL", 10, 1),
        # bounded: a forecast reads this much daily history per request (the daily rollups hold it)
        forecast_window_days=_at_most("FORECAST_WINDOW_DAYS", _int("FORECAST_WINDOW_DAYS", 28, 1), 90),
        forecast_season_weeks=_at_most("FORECAST_SEASON_WEEKS", _int("FORECAST_SEASON_WEEKS", 4, 0), 13),
        hygiene_unused_days=_int("HYGIENE_UNUSED_DAYS", 30, 1),
        hygiene_rotation_days=_int("HYGIENE_ROTATION_DAYS", 90, 1),
        digest_budget_risk_percent=_percent("DIGEST_BUDGET_RISK_PERCENT", 80.0),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, built on first use."""
    return load_settings()
