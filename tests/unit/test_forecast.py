"""The forecast method on hand-made days (exact figures), and its backtest on the simulator's history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from chalicelib.errors import ConfigError
from chalicelib.forecast import (
    FLAT,
    Method,
    MonthClock,
    error_percent,
    forecast_month,
    history_start,
    weekday_factors,
)
from chalicelib.periods import DAY, HOUR, day_label, day_start
from chalicelib.settings import load_settings
from simulator.org import OrgSpec, SyntheticOrg

NOV_20_NOON = day_start("2026-11-20") + 12 * HOUR  # a Friday


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def test_a_steady_key_is_forecast_at_its_rate_with_no_spread():
    clock = MonthClock.at(NOV_20_NOON)
    daily = {day: Decimal(10) for day in days("2026-10-20", "2026-11-19")}
    daily["2026-11-20"] = Decimal(5)  # half of today so far

    result = forecast_month(daily, clock, FLAT, Method())

    assert (clock.month, clock.days_in_month, clock.elapsed) == ("2026-11", 30, Decimal("0.5"))
    assert result.month_to_date == Decimal(195)
    assert result.daily_rate == Decimal(10)
    assert result.forecast == Decimal(300)  # 195 + the rest of today (5) + 10 days x 10
    assert (result.low, result.high) == (Decimal(300), Decimal(300))
    assert result.exceeds_on(Decimal(250)) == "2026-11-25"
    assert result.exceeds_on(Decimal(200)) == "2026-11-20"  # today's rest reaches it
    assert result.exceeds_on(Decimal(301)) is None
    assert result.exceeds_on(Decimal(150)) is None  # already over: the budget alert's 100 %


def test_weekday_factors_average_one_and_weight_the_days_ahead():
    # Weekdays $12, weekends $3: means 12 and 3, overall (5 x 12 + 2 x 3) / 7 = 66/7.
    daily = {
        day: Decimal(3) if date.fromisoformat(day).weekday() >= 5 else Decimal(12)
        for day in days("2026-10-23", "2026-11-19")
    }
    factors = weekday_factors(daily, "2026-11-20", Method())
    week, weekend = Decimal(12) / (Decimal(66) / 7), Decimal(3) / (Decimal(66) / 7)
    assert factors == (week,) * 5 + (weekend,) * 2

    clock = MonthClock.at(day_start("2026-11-20"))  # midnight: today is all ahead
    result = forecast_month(daily, clock, factors, Method())
    # Month so far: Nov 1-19 = 14 weekdays x 12 + 5 weekend days x 3 = 183. Ahead: Nov 20-30 holds
    # 7 weekdays and 4 weekend days, at their own means (the seasonal fit is exact): 84 + 12.
    assert result.month_to_date == Decimal(183)
    assert result.forecast == Decimal(183 + 84 + 12)
    assert result.low == result.high == result.forecast
    assert result.daily_rate == Decimal("9.428571")  # 66/7: the de-seasonalised level


def test_the_range_widens_with_noise_and_never_drops_below_the_month_so_far():
    clock = MonthClock.at(day_start("2026-11-20"))
    window = days("2026-10-23", "2026-11-19")
    daily = {day: Decimal(6 if i % 2 else 14) for i, day in enumerate(window)}  # mean 10, sd ~4.07
    result = forecast_month(daily, clock, FLAT, Method(window_days=28, season_weeks=0))

    mean = Decimal(10)
    sd = (sum((v - mean) ** 2 for v in daily.values()) / 27).sqrt()
    half = Decimal("1.645") * sd * (Decimal(11) + Decimal(121) / 28).sqrt()
    mtd = sum((v for d, v in daily.items() if d >= "2026-11-01"), Decimal(0))
    assert result.forecast == (mtd + 110).quantize(Decimal("0.000001"))
    assert result.high == (mtd + 110 + half).quantize(Decimal("0.000001"))
    assert result.low == (mtd + 110 - half).quantize(Decimal("0.000001"))
    assert result.month_to_date <= result.low < result.forecast < result.high


def test_a_key_that_started_in_the_window_is_rated_from_its_first_spend():
    clock = MonthClock.at(day_start("2026-11-20"))
    daily = {day: Decimal(4) for day in days("2026-11-16", "2026-11-19")}  # four days old
    result = forecast_month(daily, clock, FLAT, Method())
    assert result.daily_rate == Decimal(4)
    assert result.forecast == Decimal(16 + 11 * 4)


def test_without_a_week_of_history_there_is_no_seasonality():
    daily = {day: Decimal(1) for day in days("2026-11-17", "2026-11-19")}
    assert weekday_factors(daily, "2026-11-20", Method()) == FLAT
    assert weekday_factors({}, "2026-11-20", Method()) == FLAT
    assert weekday_factors(daily, "2026-11-20", Method(season_weeks=0)) == FLAT
    assert history_start("2026-11-20", Method()) == "2026-10-23"


# -- backtest ---------------------------------------------------------------------------------------
BACKTEST_SPEC = OrgSpec(seed=7, keys=40, projects=6, users=12, days=130, now=day_start("2026-11-20"))
BACKTEST_MONTHS = ("2026-08", "2026-09", "2026-10")
BACKTEST_MAX_ERROR = 20.0  # percent, organization total; stated in docs/operations.md


def test_backtest_the_forecast_made_on_day_10_lands_within_the_stated_error_of_the_month(capsys):
    """What OpenAI billed each day of the simulator's history (its Costs truth) is what the tracker
    holds once a day is settled; the forecast made at 00:00 on the 10th of each month sees the days
    before it only."""
    org = SyntheticOrg(BACKTEST_SPEC)
    billed = {
        day_label(ts): sum(org.costs_truth(ts, ts + DAY).values(), Decimal(0))
        for ts in range(org.origin, day_start("2026-11-01"), DAY)
    }
    method = Method()
    errors = {}
    for month in BACKTEST_MONTHS:
        clock = MonthClock.at(day_start(f"{month}-10"))
        seen = {day: amount for day, amount in billed.items() if day < clock.today}
        result = forecast_month(seen, clock, weekday_factors(seen, clock.today, method), method)
        actual = sum((amount for day, amount in billed.items() if day.startswith(month)), Decimal(0))
        errors[month] = error_percent(result.forecast, actual)
        with capsys.disabled():
            print(
                f"\nbacktest {month}: forecast on day 10 ${result.forecast:,.2f} "
                f"(range ${result.low:,.2f} - ${result.high:,.2f}), actual ${actual:,.2f}, "
                f"error {errors[month]:+.2f}%"
            )
        assert result.low <= actual <= result.high, month
    assert all(abs(error) <= BACKTEST_MAX_ERROR for error in errors.values() if error is not None), errors
    mean_abs = sum(abs(error) for error in errors.values() if error is not None) / len(errors)
    with capsys.disabled():
        print(f"backtest mean absolute error {mean_abs:.2f}% (bound {BACKTEST_MAX_ERROR}%)")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FORECAST_WINDOW_DAYS", "0"),
        ("FORECAST_WINDOW_DAYS", "91"),
        ("FORECAST_SEASON_WEEKS", "14"),
        ("FORECAST_SEASON_WEEKS", "x"),
    ],
)
def test_forecast_settings_out_of_bounds_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_forecast_settings_make_the_method(monkeypatch):
    monkeypatch.setenv("FORECAST_WINDOW_DAYS", "14")
    monkeypatch.setenv("FORECAST_SEASON_WEEKS", "0")
    method = Method.of(load_settings())
    assert (method.window_days, method.season_weeks) == (14, 0)
    assert history_start("2026-11-20", method) == "2026-11-06"
