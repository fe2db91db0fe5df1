"""The budget_forecast rule and its message, pure: which keys are told, with what words."""

from __future__ import annotations

import json
from decimal import Decimal

from chalicelib.alerts.budget_forecast import on_track_alerts
from chalicelib.alerts.messages import MessageContext, render
from chalicelib.alerts.rules import plan
from chalicelib.forecast import FLAT, Method, MonthClock, forecast_month
from chalicelib.keys.model import Budget
from chalicelib.periods import HOUR, day_start
from tests.unit.test_alert_rules import identity
from tests.unit.test_forecast import days

NOON = day_start("2026-11-20") + 12 * HOUR


def steady(amount: int):
    """A forecast of $amount a day since Oct 20, half of today spent: month so far 19.5 x amount,
    forecast 30 x amount."""
    clock = MonthClock.at(NOON)
    daily = {day: Decimal(amount) for day in days("2026-10-20", "2026-11-19")}
    daily["2026-11-20"] = Decimal(amount) / 2
    return forecast_month(daily, clock, FLAT, Method())


def test_only_monthly_dollar_budgets_that_the_forecast_passes_within_the_month_are_told():
    clock = MonthClock.at(NOON)
    identities = {
        "key_a": identity("key_a", Budget("monthly", "usd", Decimal(250))),  # 300 forecast: told
        "key_b": identity("key_b", Budget("monthly", "usd", Decimal(301))),  # stays under
        "key_c": identity("key_c", Budget("monthly", "usd", Decimal(150))),  # already over
        "key_d": identity("key_d", Budget("monthly", "tokens", Decimal(1))),  # tokens: no forecast
        "key_e": identity("key_e", Budget("daily", "usd", Decimal(1))),  # daily: the day's alert
        "key_f": identity("key_f", None),
        "key_g": identity("key_g", Budget("monthly", "usd", Decimal(250))),  # no usage at all
    }
    forecasts = {key: steady(10) for key in identities if key != "key_g"}

    alerts = on_track_alerts(clock, identities, forecasts, Method(), data_as_of=NOON)

    assert [alert.key_id for alert in alerts] == ["key_a"]
    [alert] = alerts
    assert alert.alert_id == "2026-11/budget-forecast:key_a#once"
    assert (alert.kind, alert.severity) == ("budget_forecast", "warning")
    assert alert.detail["on_track_to_exceed"] == "2026-11-25"
    assert (alert.detail["month_to_date"], alert.detail["forecast"]) == ("195.000000", "300.000000")
    # Once per key per month: recorded once, never planned again this month.
    assert plan(alerts, {alert.ident}) == []
    assert plan(alerts, set()) == [(alert, "pending")]


def test_the_message_says_the_date_the_figures_and_stays_one_ascii_subject_line():
    clock = MonthClock.at(NOON)
    hostile = "Batch\u202ejobs <b>" + "x" * 120
    identities = {"key_a": identity("key_a", Budget("monthly", "usd", Decimal(250)), hostile)}
    [alert] = on_track_alerts(clock, identities, {"key_a": steady(10)}, Method(), data_as_of=NOON)

    message = render(alert, MessageContext("https://usage.example.com/", "test", NOON))

    assert message.title.startswith("[OpenAI usage] Key Batch")
    assert message.title.isascii()
    assert len(message.title) <= 99
    payload = json.loads(json.loads(message.structured)["sqs"])
    text = payload["text"]
    assert "will reach its monthly budget of $250.00 on 2026-11-25" in text
    assert "Month so far        $195.00" in text
    assert "Month-end forecast  $300.00 (range $300.00 to $300.00)" in text
    assert "Daily rate          $10.00 (last 28 days, weekday-adjusted)" in text
    assert message.attributes["kind"] == "budget_forecast"
    assert message.attributes["key_id"] == "key_a"
