"""UTC periods: the day and hour labels every rollup is keyed by, and their arithmetic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from chalicelib.errors import InvalidInput

HOUR = 3600
DAY = 86400


def floor_hour(ts: int) -> int:
    """Start of the UTC hour containing `ts`."""
    return ts - ts % HOUR


def floor_day(ts: int) -> int:
    """Start of the UTC day containing `ts`."""
    return ts - ts % DAY


def day_label(ts: int) -> str:
    """`YYYY-MM-DD` of the UTC day containing `ts`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def hour_label(ts: int) -> str:
    """`YYYY-MM-DDTHH` of the UTC hour containing `ts`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H")


def month_label(ts: int) -> str:
    """`YYYY-MM` of the UTC month containing `ts`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


@lru_cache(maxsize=4096)  # reports convert the same few labels for thousands of rows
def day_start(label: str) -> int:
    """Unix seconds of 00:00 UTC of a `YYYY-MM-DD` label."""
    return int(datetime.strptime(label, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())


@lru_cache(maxsize=16384)
def hour_start(label: str) -> int:
    """Unix seconds of the start of a `YYYY-MM-DDTHH` label."""
    return int(datetime.strptime(label, "%Y-%m-%dT%H").replace(tzinfo=UTC).timestamp())


def parse_day(value: str, param: str) -> int:
    """A user's `YYYY-MM-DD` as the Unix start of that UTC day, or InvalidInput naming `param`."""
    try:
        return day_start(value)
    except ValueError as exc:
        raise InvalidInput(param, f"expected a date as YYYY-MM-DD, got {value!r}") from exc


def days(start: int, end: int) -> Iterator[str]:
    """Labels of the UTC days that overlap [start, end)."""
    ts = floor_day(start)
    while ts < end:
        yield day_label(ts)
        ts += DAY


def iso(ts: int) -> str:
    """RFC 3339 UTC text of `ts`, for responses and messages."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def next_month_start(ts: int) -> int:
    """Unix seconds of the first day of the UTC month after the one containing `ts`."""
    moment = datetime.fromtimestamp(ts, UTC).replace(day=28) + timedelta(days=4)
    return int(moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())


def report_as_of(now: int, data_as_of: int | None) -> int:
    """The moment today's numbers describe: the data's as-of time when it is from today, else now."""
    if data_as_of is not None and day_start(day_label(now)) <= data_as_of:
        return min(data_as_of, now)
    return now
