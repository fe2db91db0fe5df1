"""Month-end spend forecasts, pure: daily dollars in, the month's forecast and its range out.

No AWS, no clock: chalicelib.query.forecast (and the alert engine) read the rollups; `daily_costs`
prices every day with chalicelib.money (the one money model); the rest is arithmetic on dollars.

## The method (docs/operations.md "Forecasts")
- **Month so far** (`month_to_date`): the group's dollars from the 1st up to now, today's stored
  part included.
- **Weekday seasonality**: the organization's own weekly shape, from its last `season_weeks` x 7
  complete days: factor(weekday) = mean dollars on that weekday / mean of the seven means (they
  average 1). One shape for every group: a single key's weekdays are too few to estimate its own.
  Without a whole week of history, or with `season_weeks` 0, every factor is 1.
- **Run rate** (`daily_rate`): the de-seasonalised level of the last `window_days` complete days
  (from the group's first day with spend, if later): sum of dollars / sum of the factors of those
  days. A day then expects `daily_rate x factor(weekday)`.
- **Forecast**: month so far + the rest of today (its expected dollars x the fraction of the day
  still to come after the clock's moment: the data's as-of time, `chalicelib.periods.report_as_of`)
  + every expected day to the month's end.
- **Range**: the daily residuals of the window (actual - expected) give a standard deviation s; over
  a horizon of h days (h counts the rest of today as its fraction) and a window of n days, the sum
  ahead varies by s sqrt(h + h^2 / n) (each day's own noise, and the run rate's error that every day
  ahead shares): high = forecast + z times that, low = max(month so far, forecast - z times that).
  z = 1.645: about 90 % when residuals are normal.
- **Exceeding a budget**: the first day on which month so far plus the expected days reach it.

All money is Decimal, rounded to the micro-dollar (MICRO) at the end only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.money import Settlement, day_cost
from chalicelib.periods import DAY, day_label, day_start, next_month_start
from chalicelib.usage import Usage

if TYPE_CHECKING:
    from chalicelib.settings import Settings

MICRO = Decimal("0.000001")
ZERO = Decimal(0)
ONE = Decimal(1)
FLAT: tuple[Decimal, ...] = (ONE,) * 7
"""No seasonality: every weekday (Monday = 0) weighs the same."""
Daily = dict[str, Decimal]
"""day -> USD of one member."""


@dataclass(frozen=True)
class Method:
    """The stated method's tunables (chalicelib.settings: FORECAST_WINDOW_DAYS, FORECAST_SEASON_WEEKS)."""

    window_days: int = 28
    season_weeks: int = 4
    z: Decimal = Decimal("1.645")

    @classmethod
    def of(cls, settings: Settings) -> Method:
        """The stage's method."""
        return cls(settings.forecast_window_days, settings.forecast_season_weeks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what every answer states about how its figures were made."""
        return {
            "name": "run_rate_weekday",
            "window_days": self.window_days,
            "season_weeks": self.season_weeks,
            "range": f"±{self.z} x the window's daily residual deviation s x sqrt(h + h^2/n): h days "
            "ahead, n days in the window",
        }


@dataclass(frozen=True)
class MonthClock:
    """Where `now` sits in its UTC month."""

    now: int
    today: str
    first_day: str
    last_day: str
    elapsed: Decimal
    """Fraction of today already past, 0 <= elapsed < 1."""

    @classmethod
    def at(cls, now: int) -> MonthClock:
        """The month containing `now`."""
        today = day_label(now)
        end = next_month_start(day_start(today))
        return cls(now, today, today[:8] + "01", day_label(end - DAY), Decimal(now - day_start(today)) / DAY)

    @property
    def month(self) -> str:
        """`YYYY-MM`."""
        return self.today[:7]

    @property
    def days_after_today(self) -> int:
        """How many days of the month come after today."""
        return int(self.last_day[8:]) - int(self.today[8:])

    @property
    def days_in_month(self) -> int:
        """28 to 31."""
        return int(self.last_day[8:])


@dataclass(frozen=True)
class Forecast:
    """One group's month: what was spent, what is expected, and when a budget is reached."""

    month_to_date: Decimal
    forecast: Decimal
    low: Decimal
    high: Decimal
    daily_rate: Decimal
    expected: tuple[tuple[str, Decimal], ...]
    """Expected dollars still to come per day: today's rest first, then each day to the month's end."""

    def exceeds_on(self, budget: Decimal) -> str | None:
        """The day month so far plus the expected days reach `budget`, if within the month; None when
        it stays under (or is already over: that is the budget alert's 100 %, not a forecast)."""
        if budget <= 0 or self.month_to_date >= budget:
            return None
        total = self.month_to_date
        for day, amount in self.expected:
            total += amount
            if total >= budget:
                return day
        return None


def _next(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _days_between(first: str, last: str) -> Iterable[str]:
    """Every day label from `first` to `last`, both included."""
    current, end = date.fromisoformat(first), date.fromisoformat(last)
    while current <= end:
        yield current.isoformat()
        current += timedelta(days=1)


def _back(day: str, count: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=count)).isoformat()


@lru_cache(maxsize=4096)
def weekday(day: str) -> int:
    """Monday = 0 ... Sunday = 6."""
    return date.fromisoformat(day).weekday()


@lru_cache(maxsize=64)
def _window(today: str, count: int) -> tuple[str, ...]:
    """The `count` complete days before `today` (worked out once per report, not once per group)."""
    return tuple(_days_between(_back(today, count), _back(today, 1))) if count > 0 else ()


def history_start(today: str, method: Method) -> str:
    """The first day any forecast made on `today` reads."""
    return _back(today, max(method.window_days, method.season_weeks * 7))


def _from_first_spend(days: Sequence[str], daily: Mapping[str, Decimal]) -> list[str]:
    for index, day in enumerate(days):
        if daily.get(day, ZERO) > 0:
            return list(days[index:])
    return []


def weekday_factors(org_daily: Mapping[str, Decimal], today: str, method: Method) -> tuple[Decimal, ...]:
    """Seven factors (Monday first) averaging 1, from the complete days before `today`; FLAT without
    a whole week of spend in the season."""
    if method.season_weeks <= 0:
        return FLAT
    season = list(_days_between(_back(today, method.season_weeks * 7), _back(today, 1)))
    days = _from_first_spend(season, org_daily)
    if len(days) < 7:
        return FLAT
    sums, counts = [ZERO] * 7, [0] * 7
    for day in days:
        sums[weekday(day)] += org_daily.get(day, ZERO)
        counts[weekday(day)] += 1
    means = [total / count for total, count in zip(sums, counts, strict=True)]
    overall = sum(means, ZERO) / 7
    if overall <= 0:
        return FLAT
    return tuple(mean / overall for mean in means)


def forecast_month(
    daily: Mapping[str, Decimal], clock: MonthClock, factors: Sequence[Decimal], method: Method
) -> Forecast:
    """The month-end forecast of one group from its dollars per day (`daily`: day label -> USD, at
    least from `history_start` to today)."""
    month_to_date = sum(
        (amount for day, amount in daily.items() if clock.first_day <= day <= clock.today), ZERO
    )
    window = _from_first_spend(_window(clock.today, method.window_days), daily)
    weight = sum((factors[weekday(day)] for day in window), ZERO)
    rate = sum((daily.get(day, ZERO) for day in window), ZERO) / weight if weight > 0 else ZERO
    expected = [(clock.today, rate * factors[weekday(clock.today)] * (ONE - clock.elapsed))]
    expected += [
        (day, rate * factors[weekday(day)]) for day in _window(_next(clock.last_day), clock.days_after_today)
    ]
    point = month_to_date + sum((amount for _, amount in expected), ZERO)
    spread = _residual_sd(daily, window, rate, factors)
    horizon = (ONE - clock.elapsed) + len(expected) - 1
    # Each day's own noise (h s^2) and the run rate's error, shared by every day ahead ((h s)^2 / n).
    variance = horizon + horizon * horizon / len(window) if window else ZERO
    half = method.z * spread * variance.sqrt()
    return Forecast(
        month_to_date=_micro(month_to_date),
        forecast=_micro(point),
        low=_micro(max(month_to_date, point - half)),
        high=_micro(point + half),
        daily_rate=_micro(rate),
        expected=tuple((day, amount) for day, amount in expected),
    )


def _residual_sd(
    daily: Mapping[str, Decimal], window: Sequence[str], rate: Decimal, factors: Sequence[Decimal]
) -> Decimal:
    if len(window) < 2:
        return ZERO
    squares = sum(((daily.get(day, ZERO) - rate * factors[weekday(day)]) ** 2 for day in window), ZERO)
    return (squares / (len(window) - 1)).sqrt()


def _micro(value: Decimal) -> Decimal:
    return value.quantize(MICRO)


def error_percent(forecast: Decimal, actual: Decimal) -> float | None:
    """(forecast - actual) / actual in percent, two decimals; None when nothing was spent."""
    if actual == 0:
        return None
    return round(float((forecast - actual) * 100 / actual), 2)


def daily_costs(days: Mapping[str, Mapping[str, Usage]], settlement: Settlement) -> dict[str, Daily]:
    """member -> day -> USD, each day priced by chalicelib.money."""
    cost = day_cost(settlement)
    out: dict[str, Daily] = defaultdict(dict)
    for day, members in days.items():
        for member, usage in members.items():
            out[member][day] = cost(day, usage)
    return out


def organization(by_member: Mapping[str, Daily]) -> Daily:
    """The sum of every member per day."""
    total: Daily = defaultdict(Decimal)
    for daily in by_member.values():
        for day, amount in daily.items():
            total[day] += amount
    return dict(total)


@dataclass(frozen=True)
class PricedDays:
    """What every forecast of one month is computed from: each member's dollars per day, the
    organization's, and the organization's weekday shape (one shape for every group)."""

    by_member: dict[str, Daily]
    org: Daily
    factors: tuple[Decimal, ...]

    @classmethod
    def of(
        cls, days: Mapping[str, Mapping[str, Usage]], settlement: Settlement, today: str, method: Method
    ) -> PricedDays:
        """Daily aggregates (day -> member -> usage, from `history_start`) priced and shaped."""
        by_member = daily_costs(days, settlement)
        org = organization(by_member)
        return cls(by_member, org, weekday_factors(org, today, method))


__all__ = [
    "FLAT",
    "Daily",
    "Forecast",
    "Method",
    "MonthClock",
    "PricedDays",
    "daily_costs",
    "error_percent",
    "forecast_month",
    "history_start",
    "organization",
    "weekday",
    "weekday_factors",
]
