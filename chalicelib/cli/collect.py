"""`collect`: one incremental collection as the schedule runs it, or a backfill of whole UTC days.

    collect                                    the trailing window, directory, unmapped keys, alerts
    collect --start YYYY-MM-DD --end YYYY-MM-DD  backfill [start, end) in chunks, resumable

A failed run exits 1 with one line saying why; the checkpoint keeps its last success.
`--deadline SECONDS` bounds the run's calls to OpenAI (default: none; each call is still bounded by
its attempts and by the longest wait the client accepts).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from chalicelib.cli.common import add_command, emit
from chalicelib.errors import InvalidInput
from chalicelib.periods import DAY, day_label, floor_day, parse_day
from chalicelib.query import clock

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers
    from chalicelib.collector import CollectionResult
    from chalicelib.runner import RunReport

MAX_BACKFILL_DAYS = 400


def register(subparsers: Subparsers) -> None:
    """Add the `collect` command."""
    parser = add_command(
        subparsers,
        "collect",
        summary="collect OpenAI usage and costs now (incremental), or backfill whole UTC days",
        handler=run,
    )
    parser.usage = "%(prog)s [--start YYYY-MM-DD --end YYYY-MM-DD, exclusive] [--no-alerts] [--json]"
    parser.add_argument("--start", help="first UTC day of a backfill (YYYY-MM-DD)")
    parser.add_argument("--end", help="UTC day after the last one of a backfill (YYYY-MM-DD, exclusive)")
    parser.add_argument("--no-alerts", action="store_true", help="incremental run without evaluating alerts")
    parser.add_argument(
        "--deadline",
        metavar="SECONDS",
        help="stop calling OpenAI after this many seconds; the run then fails (default: no deadline)",
    )


def _deadline_seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInput("--deadline", f"must be a positive number of seconds, not {raw[:40]!r}")
    return seconds


def _backfill_window(args: argparse.Namespace, now: int) -> tuple[int, int] | None:
    if args.start is None and args.end is None:
        return None
    if args.start is None or args.end is None:
        raise InvalidInput(
            "--start" if args.start is None else "--end", "a backfill needs both --start and --end"
        )
    start, end = parse_day(args.start, "--start"), parse_day(args.end, "--end")
    if end <= start:
        raise InvalidInput(
            "--end", f"--end {args.end} must be after --start {args.start} (the end day is exclusive)"
        )
    if start > now:
        raise InvalidInput("--start", f"--start {args.start} is in the future (today is {day_label(now)})")
    if (end - start) // DAY > MAX_BACKFILL_DAYS:
        raise InvalidInput("--start", f"a backfill covers at most {MAX_BACKFILL_DAYS} days")
    return start, min(end, floor_day(now) + DAY)


def _progress(chunk: CollectionResult) -> None:
    print(
        f"  {chunk.days[0]} .. {chunk.days[-1]}: {chunk.rows_read} rows, {chunk.items_written} items written",
        file=sys.stderr,
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    """Run one collection and print what it did."""
    from chalicelib.deadline import Deadline  # noqa: PLC0415
    from chalicelib.runner import default_runner  # noqa: PLC0415 - heavy imports only for this command

    now = clock.now()
    window = _backfill_window(args, now)
    seconds = _deadline_seconds(args.deadline)
    deadline = None if seconds is None else Deadline.after(seconds)
    report: RunReport
    if window is None:
        hook = None
        if not args.no_alerts:
            from chalicelib.alerts.engine import run_alerts  # noqa: PLC0415

            hook = run_alerts
        report = default_runner(alert_hook=hook, deadline=deadline).incremental(now)
    else:
        print(f"backfilling {args.start} .. {args.end} (end exclusive)", file=sys.stderr, flush=True)
        report = default_runner(deadline=deadline).backfill(window[0], window[1], now, progress=_progress)
    if report.status == "skipped":
        emit(args, asdict(report), [f"run {report.run_id}: skipped: {report.skipped_reason}"])
        return 0
    taken_over = report.lease_taken_over_from
    emit(
        args,
        asdict(report),
        [
            f"run {report.run_id}: {report.status}",
            *([f"lease    taken over from stale run {taken_over}"] if taken_over else []),
            f"window   {report.window_start} .. {report.window_end} ({len(report.days)} days)",
            f"read     {report.buckets_read} buckets, {report.rows_read} rows",
            f"openai   {report.openai_calls} calls ({report.openai_retries} retries)",
            f"written  {report.items_written} items",
            *([f"answers  {report.answers_kept} kept for the dashboard"] if report.answers_kept else []),
            f"unmapped {', '.join(report.new_unmapped) or 'none new'}",
        ],
    )
    return 0
