"""The period a person types on the command line (`--start`/`--end` UTC days, or a `--since 6h`
window up to now), checked in their own terms before it becomes `/api/usage`'s Unix-second params.

The query layer (chalicelib.query.selection) checks the same limits again; this module only words its
refusals the way the command line was typed: "--end 2026-11-01 must be after --start 2026-11-05",
not "end_time: must be after start_time (1795132800)".
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from chalicelib.errors import InvalidInput
from chalicelib.periods import DAY, HOUR, day_label, parse_day
from chalicelib.query.selection import MAX_SPAN, MAX_SPAN_TEXT, MAX_TOP, MINUTE, WIDTH_SECONDS, BucketWidth

UNITS = {"m": MINUTE, "h": HOUR, "d": DAY}
_SINCE = re.compile(r"([1-9][0-9]{0,5})([mhd])")
SINCE_HELP = "a window up to now: a whole number and m, h or d (90m, 6h, 7d)"


def since_seconds(text: str) -> int:
    """`--since`'s value in seconds."""
    match = _SINCE.fullmatch(text.strip())
    if match is None:
        raise InvalidInput("--since", f"expected {SINCE_HELP}, got {text[:20]!r}")
    return int(match[1]) * UNITS[match[2]]


def top_count(text: str) -> int:
    """`--top`'s value (an argparse `type`: a bad value is a usage error naming the flag)."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit() or int(stripped) > MAX_TOP:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to {MAX_TOP} (0 lists every group), got {text[:20]!r}"
        )
    return int(stripped)


@dataclass(frozen=True)
class Period:
    """[start, end) in Unix seconds, and how the person typed it (for messages)."""

    start: int
    end: int
    typed: str  # "--since 6h" or "--start 2026-11-01 --end 2026-11-05"
    start_flag: str  # the flag to blame for a start that is too early


def period_from_args(args: argparse.Namespace, now: int) -> Period:
    """The period of `--since` or `--start [--end]` (end exclusive, default: up to now)."""
    if args.since is not None:
        if args.end is not None:
            raise InvalidInput("--end", "goes with --start; a --since window always ends now")
        return Period(now - since_seconds(args.since), now, f"--since {args.since}", "--since")
    start = parse_day(args.start, "--start")
    end = end_of(args.end, now)
    typed = f"--start {args.start}" + (f" --end {args.end}" if args.end else "")
    if end <= start:
        if args.end:
            raise InvalidInput("--end", f"--end {args.end} {END_ORDER} --start {args.start}")
        raise InvalidInput("--start", f"--start {args.start} is in the future (today is {day_label(now)})")
    return Period(start, end, typed, "--start")


# What `--end DAY` means lives here alone (the UTC day after the last one, exclusive, as for `collect`
# and the API; default: up to now), so that one change gives every message its words.
END_ORDER = "must be after"


def end_of(text: str | None, now: int) -> int:
    """The exclusive end, in Unix seconds, of `--end` as typed."""
    return parse_day(text, "--end") if text else now


def check_period(period: Period, width: BucketWidth, now: int, hourly_retention_days: int) -> None:
    """Refuse, in the flags typed, a period the bucket width cannot answer."""
    if period.end - period.start > MAX_SPAN[width]:
        hint = " (try --since 6h)" if width == "1m" else ""
        raise InvalidInput(
            period.start_flag,
            f"{period.typed} is longer than --bucket {width} allows ({MAX_SPAN_TEXT[width]}){hint}",
        )
    if width == "1h":
        oldest = now - now % HOUR - hourly_retention_days * DAY
        if period.start - period.start % WIDTH_SECONDS[width] < oldest:
            first_day = day_label(oldest + (-oldest % DAY))
            raise InvalidInput(
                period.start_flag,
                f"hourly data is kept for {hourly_retention_days} days: {period.typed} starts too early; "
                f"use --start {first_day} or later, or --bucket 1d",
            )
