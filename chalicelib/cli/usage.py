"""`usage`: the usage report of `/api/usage` on the command line, from the same code path.

    python -m chalicelib.cli usage (--start 2026-11-01 [--end 2026-12-01] | --since 6h) \
        --group-by api_key_id,model --bucket 1d [--top N] [--api-key-ids ...] [--models ...]
        [--project-ids ...] [--teams ...] [--search TEXT] [--limit N [--offset N]] [--json]

`--start` is the first UTC day, `--end` the UTC day after the last one (exclusive), as for `collect`
and the API's `end_time`: one meaning of `--end` across the CLI (docs/money.md). `--since` is a
window up to now (90m, 6h, 7d), for the 1m and 1h buckets. With `--json` the output is the JSON
`/api/usage` returns for the same selection with `top=--top` (default 0: every group in every
bucket, so a script loses nothing); without it, a table of the period's groups and the total.
`--search`/`--limit`/`--offset` are the API's paging of the groups (chalicelib.query.paging): the
groups whose label, ids, owner, team or project contain the text, a page of them; the total stays
that of every group.
Errors name the flags and dates typed.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.cli.keys import text_table
from chalicelib.cli.period import SINCE_HELP, check_period, period_from_args, top_count
from chalicelib.cli.reports import option_names, tool_cells, tool_headers
from chalicelib.dimensions import DIMENSIONS
from chalicelib.money import cost_text
from chalicelib.periods import iso
from chalicelib.query import clock
from chalicelib.query.selection import BUCKET_WIDTHS, DEFAULT_TOP, MAX_TOP, NONE
from chalicelib.query.usage import usage_report
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

MAX_TEXT_ROWS = 200
# the query layer's parameter -> this command's flag, for the errors only it can find
OPTIONS = {
    "start_time": "--start",
    "end_time": "--end",
    "api_key_ids": "--api-key-ids",
    "top": "--top",
    "limit": "--limit",
    "offset": "--offset",
    "search": "--search",
}


def register(subparsers: Subparsers) -> None:
    """Add the `usage` command."""
    parser = add_command(
        subparsers,
        "usage",
        summary="usage, cost and shares over a period, grouped (the JSON of GET /api/usage)",
        handler=run,
    )
    # The synopsis says what --end means first thing: one meaning across the CLI (exclusive).
    parser.usage = (
        "%(prog)s (--start YYYY-MM-DD [--end YYYY-MM-DD, exclusive] | --since N{m,h,d}) "
        "[--group-by DIM[,DIM...]] [--bucket {1d,1h,1m}] [--top N] "
        "[--api-key-ids|--models|--project-ids|--teams A[,B...]] "
        "[--search TEXT] [--limit N [--offset N]] [--json]"
    )
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--start", metavar="YYYY-MM-DD", help="first UTC day")
    when.add_argument("--since", metavar="N{m,h,d}", help=SINCE_HELP)
    parser.add_argument(
        "--end",
        metavar="YYYY-MM-DD",
        help="UTC day after the last one, exclusive (with --start; default: up to now)",
    )
    parser.add_argument(
        "--group-by",
        default=NONE,
        metavar="DIM[,DIM...]",
        help=f"comma list of {', '.join(DIMENSIONS)}, or {NONE} (default)",
    )
    parser.add_argument("--bucket", default="1d", choices=BUCKET_WIDTHS, help="bucket width (default 1d)")
    parser.add_argument(
        "--top",
        type=top_count,
        metavar="N",
        help=f"groups listed in each bucket, the rest summed in one 'other' row; 0 = every group "
        f"(0 to {MAX_TOP}; default 0 with --json, else {DEFAULT_TOP})",
    )
    for name in ("api-key-ids", "models", "project-ids", "teams"):
        parser.add_argument(f"--{name}", metavar="A[,B...]", help=f"only these {name.replace('-', ' ')}")
    parser.add_argument(
        "--search", metavar="TEXT", help="only groups whose label, ids, owner, team or project contain TEXT"
    )
    # checked by the query layer (one rule for the API and the CLI), its errors named as these flags
    parser.add_argument("--limit", metavar="N", help="at most N groups (1 to 1000), in rank order")
    parser.add_argument("--offset", metavar="N", help="skip the first N groups (with --limit)")


def params_from_args(args: argparse.Namespace, now: int) -> dict[str, list[str]]:
    """The /api/usage query parameters this command line means (its period checked in its terms)."""
    period = period_from_args(args, now)
    check_period(period, args.bucket, now, get_settings().hourly_retention_days)
    top = args.top if args.top is not None else (0 if getattr(args, "json", False) else DEFAULT_TOP)
    params = {
        "start_time": [str(period.start)],
        "end_time": [str(period.end)],
        "bucket_width": [args.bucket],
        "group_by": [args.group_by],
        "top": [str(top)],
    }
    for name in ("api_key_ids", "models", "project_ids", "teams", "search", "limit", "offset"):
        value = getattr(args, name)
        if value:
            params[name] = [value]
    return params


def _lines(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            row["label"],
            f"{row['total_tokens']:,}",
            f"{row['requests']:,}",
            cost_text(row["cost_usd"], row["unpriced_tokens"]),
            f"{row['share_cost'] * 100:.1f}%",
            ",".join(row["flags"]) or "-",
            *tool_cells(row, report["total"]),
        ]
        for row in report["groups"][:MAX_TEXT_ROWS]
    ]
    total = report["total"]
    headers = ["GROUP", "TOKENS", "REQUESTS", "COST", "SHARE", "FLAGS", *tool_headers(total)]
    lines = text_table(headers, rows)
    if len(report["groups"]) > MAX_TEXT_ROWS:
        lines.append(f"... {len(report['groups']) - MAX_TEXT_ROWS} more groups (use --json)")
    if "group_count" in report:
        first = report["offset"] + 1 if report["groups"] else report["offset"]
        last = report["offset"] + len(report["groups"])
        lines.append(f"groups {first:,}-{last:,} of {report['group_count']:,} matching")
    lines.append(
        f"total {total['total_tokens']:,} tokens, {total['requests']:,} requests, "
        f"{cost_text(total['cost_usd'], total['unpriced_tokens'])} "
        f"({iso(report['start_time'])} .. {iso(report['end_time'])}, {report['bucket_width']} buckets; "
        f"cost: {report['cost_basis'].replace('_', ' ')})"
    )
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the report."""
    now = clock.now()
    with option_names(OPTIONS):
        report = usage_report(params_from_args(args, now), now)
    emit(args, report, _lines(report))
    return 0
