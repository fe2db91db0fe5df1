"""The budget alert's forecast rule, pure: "on track to exceed its monthly budget by <date>".

A key with a monthly dollar budget whose month-end forecast (chalicelib.forecast) reaches the budget
before the month ends, while its month so far is still under it, raises one `budget_forecast` alert
per key per month: identity (`<YYYY-MM>`, `budget-forecast:<key_id>`, `once`) in the ledger
(chalicelib.store.alerts), so a later run that still (or again) forecasts the overrun sends nothing,
and neither does one whose forecast date moves. Crossing the budget itself is the `key_budget` rule's
100 % (chalicelib.alerts.rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from chalicelib.alerts.kinds import ONCE, Alert, AlertKind
from chalicelib.forecast import Forecast, Method, MonthClock
from chalicelib.keys.model import KeyIdentity
from chalicelib.periods import day_start, iso

KIND: AlertKind = "budget_forecast"


def monthly_usd_budget(identity: KeyIdentity) -> Decimal | None:
    """The key's monthly dollar budget, if it has one."""
    budget = identity.budget
    if budget is None or budget.unit != "usd" or budget.period != "monthly" or budget.amount <= 0:
        return None
    return budget.amount


def on_track_alerts(
    clock: MonthClock,
    identities: Mapping[str, KeyIdentity],
    forecasts: Mapping[str, Forecast],
    method: Method,
    *,
    data_as_of: int | None = None,
) -> list[Alert]:
    """One alert per key whose forecast reaches its monthly dollar budget within the month."""
    alerts: list[Alert] = []
    for key_id, identity in sorted(identities.items()):
        amount = monthly_usd_budget(identity)
        forecast = forecasts.get(key_id)
        if amount is None or forecast is None:
            continue
        on = forecast.exceeds_on(amount)
        if on is None:
            continue
        alerts.append(
            Alert(
                kind=KIND,
                period=clock.month,
                subject=f"budget-forecast:{key_id}",
                threshold=ONCE,
                severity="warning",
                detail={
                    "api_key_id": key_id,
                    "name": identity.name,
                    "owner": identity.owner,
                    "team": identity.team,
                    "budget": {"amount": format(amount, "f"), "unit": "usd", "period": "monthly"},
                    "limit": format(amount, "f"),
                    "on_track_to_exceed": on,
                    "month_to_date": format(forecast.month_to_date, "f"),
                    "forecast": format(forecast.forecast, "f"),
                    "low": format(forecast.low, "f"),
                    "high": format(forecast.high, "f"),
                    "daily_rate": format(forecast.daily_rate, "f"),
                    "method": method.as_dict(),
                    "month": clock.month,
                    "period_start": iso(day_start(clock.first_day)),
                    "data_as_of": iso(data_as_of) if data_as_of else None,
                },
                key_id=key_id,
            )
        )
    return alerts


__all__ = ["KIND", "monthly_usd_budget", "on_track_alerts"]
