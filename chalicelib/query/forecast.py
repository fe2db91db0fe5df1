"""`GET /api/forecast` and the CLI's `forecast`: month-end forecasts read from the rollups.

Reads the checkpoint (which days are billed), the daily aggregates of one dimension (`AD#key`, or
`AD#project` for projects) from `chalicelib.forecast.history_start` to today (one Query each), and
names (cached: chalicelib.query.names). Each day of each member is priced by chalicelib.money (billed
when settled, else estimated), then forecast by chalicelib.forecast's stated method.

`group_by` is one of `none` (the organization, the default), `api_key_id`, `owner`, `team`,
`project_id`; `top` (default 20, 0 = every group) caps the groups listed, largest forecast first;
`total` is always the organization's. With `api_key_id`, a key with a monthly dollar budget carries
its budget and the day the forecast reaches it (`on_track_to_exceed`), the same figure the budget
alert `budget_forecast` sends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.alerts.budget_forecast import monthly_usd_budget
from chalicelib.dimensions import UNATTRIBUTED, Base
from chalicelib.errors import InvalidInput
from chalicelib.forecast import Daily, Forecast, Method, MonthClock, PricedDays, forecast_month, history_start
from chalicelib.keys.model import KeyIdentity
from chalicelib.keys.resolve import resolve
from chalicelib.money import Settlement
from chalicelib.periods import day_start, iso, next_month_start, report_as_of
from chalicelib.query.names import NAMES_CACHE
from chalicelib.query.report import ALL_USAGE, NO_OWNER, NO_TEAM, Names
from chalicelib.query.usage import Stores
from chalicelib.settings import Settings, get_settings
from chalicelib.validation import Params, choice, normalize, single

GROUPINGS = ("none", "api_key_id", "owner", "team", "project_id")
PARAMS = ("group_by", "top")
DEFAULT_TOP = 20
MAX_TOP = 1000


def settlement_of(stores: Stores) -> tuple[Settlement, int | None]:
    """Which days are billed, and when the usage data is as of (the checkpoint)."""
    checkpoint = stores.meta.checkpoint()
    by_key = checkpoint.cost_grouping != "project_id"
    return Settlement(checkpoint.costs_as_of, billed_by_key=by_key), checkpoint.usage_as_of


def _member_of(dim: str, key: str, names: Names) -> str | None:
    identity = names.key(key)
    return identity.owner if dim == "owner" else identity.team


def _groups(dim: str, by_member: Mapping[str, Daily], names: Names) -> dict[str | None, Daily]:
    if dim in ("api_key_id", "project_id"):
        return {member: daily for member, daily in by_member.items()}
    grouped: dict[str | None, Daily] = defaultdict(lambda: defaultdict(Decimal))
    for key, daily in by_member.items():
        into = grouped[_member_of(dim, key, names)]
        for day, amount in daily.items():
            into[day] += amount
    return {member: dict(daily) for member, daily in grouped.items()}


def _label(dim: str, member: str | None, names: Names) -> str:
    if dim == "api_key_id":
        return names.key(member).name if member and member != UNATTRIBUTED else "Unattributed"
    if dim == "project_id":
        return names.project_name(member) or (member or UNATTRIBUTED)
    if dim == "owner":
        return member or NO_OWNER
    return member or NO_TEAM


def _money(value: Decimal) -> str:
    return format(value, "f")


def figures(forecast: Forecast) -> dict[str, Any]:
    """A forecast's dollars, as strings (full precision) and, for the dashboard's bars, numbers."""
    return {
        "month_to_date_usd": _money(forecast.month_to_date),
        "forecast_usd": _money(forecast.forecast),
        "low_usd": _money(forecast.low),
        "high_usd": _money(forecast.high),
        "daily_rate_usd": _money(forecast.daily_rate),
    }


def budget_figures(identity: KeyIdentity, forecast: Forecast) -> dict[str, Any]:
    """A key's monthly dollar budget against its forecast (nulls without one)."""
    amount = monthly_usd_budget(identity)
    if amount is None:
        return {
            "budget_usd": None,
            "forecast_percent": None,
            "on_track_to_exceed": None,
            "over_budget": False,
        }
    return {
        "budget_usd": _money(amount),
        "forecast_percent": round(float(forecast.forecast * 100 / amount), 2),
        "on_track_to_exceed": forecast.exceeds_on(amount),
        "over_budget": forecast.month_to_date >= amount,
    }


def _top(params: Params) -> int:
    raw = single(params, "top")
    if raw is None:
        return DEFAULT_TOP
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 4 or int(text) > MAX_TOP:
        raise InvalidInput(
            "top", f"must be an integer from 0 to {MAX_TOP} (0 lists every group), got {raw[:20]!r}"
        )
    return int(text)


def forecast_report(
    params: Params, now: int, *, stores: Stores | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`GET /api/forecast`: the month-end forecast of every group and of the organization."""
    params = normalize(params, PARAMS)
    dim = choice(params, "group_by", GROUPINGS, "none")
    top = _top(params)
    settings = settings or get_settings()
    stores = stores or Stores.default()
    method = Method.of(settings)
    settlement, data_as_of = settlement_of(stores)
    clock = MonthClock.at(report_as_of(now, data_as_of))  # the stored part of today ends there
    base: Base = "project" if dim == "project_id" else "key"
    days = stores.rollups.daily_aggregates(base, history_start(clock.today, method), clock.today)
    priced = PricedDays.of(days, settlement, clock.today, method)
    by_member, org, factors = priced.by_member, priced.org, priced.factors
    names = NAMES_CACHE.get(stores.directory) if dim != "none" else Names()
    rows = []
    if dim != "none":
        for member, daily in _groups(dim, by_member, names).items():
            result = forecast_month(daily, clock, factors, method)
            row: dict[str, Any] = {
                "group": {dim: member},
                "label": _label(dim, member, names),
                **figures(result),
            }
            if dim == "api_key_id":
                identity = resolve(member, names.identities)
                row["key"] = {"name": identity.name, "owner": identity.owner, "team": identity.team}
                row.update(budget_figures(identity, result))
            rows.append((result.forecast, row))
    rows.sort(key=lambda pair: (-pair[0], pair[1]["label"], str(pair[1]["group"][dim])))
    shown = rows[:top] if top else rows
    month_start = day_start(clock.first_day)
    return {
        "object": "forecast",
        "month": clock.month,
        "group_by": [] if dim == "none" else [dim],
        "as_of": iso(now),
        "data_as_of": iso(data_as_of) if data_as_of is not None else None,
        "start_time": month_start,
        "end_time": next_month_start(month_start),
        "days_in_month": clock.days_in_month,
        "day_of_month": int(clock.today[8:]),
        "cost_basis": "billed_when_settled",
        "method": {**method.as_dict(), "weekday_factors": [round(float(f), 4) for f in factors]},
        "top": top,
        "other_groups": len(rows) - len(shown),
        "groups": [row for _, row in shown],
        "total": {"label": ALL_USAGE, **figures(forecast_month(org, clock, factors, method))},
    }


__all__ = ["GROUPINGS", "budget_figures", "figures", "forecast_report"]
