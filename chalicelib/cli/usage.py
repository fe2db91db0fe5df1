"""`usage`: the usage report of `/api/usage` on the command line, from the same code path.

    python -m chalicelib.cli usage --start 2026-11-01 --end 2026-11-30 --group-by api_key_id,model \
        --bucket 1d [--api-key-ids ...] [--models ...] [--project-ids ...] [--teams ...] [--json]

`--start` and `--end` are UTC days, both included. With `--json` the output is the JSON `/api/usage`
returns for the same selection; without it, a table of the period's groups and the total.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.cli.keys import text_table
from chalicelib.cli.reports import tool_cells, tool_headers
from chalicelib.periods import DAY, iso, parse_day
from chalicelib.query.selection import BUCKET_WIDTHS, DIMENSIONS, NONE
from chalicelib.query.usage import usage_report

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

MAX_TEXT_ROWS = 200


def register(subparsers: Subparsers) -> None:
    """Add the `usage` command."""
    parser = add_command(
        subparsers,
        "usage",
        summary="usage, cost and shares over a period, grouped (the JSON of GET /api/usage)",
        handler=run,
    )
    parser.add_argument("--start", required=True, metavar="YYYY-MM-DD", help="first UTC day")
    parser.add_argument("--end", metavar="YYYY-MM-DD", help="last UTC day, included (default: today)")
    parser.add_argument(
        "--group-by",
        default=NONE,
        metavar="DIM[,DIM...]",
        help=f"comma list of {', '.join(DIMENSIONS)}, or {NONE} (default)",
    )
    parser.add_argument("--bucket", default="1d", choices=BUCKET_WIDTHS, help="bucket width (default 1d)")
    for name in ("api-key-ids", "models", "project-ids", "teams"):
        parser.add_argument(f"--{name}", metavar="A[,B...]", help=f"only these {name.replace('-', ' ')}")


def _now() -> int:
    return int(time.time())


def params_from_args(args: argparse.Namespace, now: int) -> dict[str, list[str]]:
    """The /api/usage query parameters this command line means."""
    start = parse_day(args.start, "start")
    end = parse_day(args.end, "end") + DAY if args.end else now
    params = {
        "start_time": [str(start)],
        "end_time": [str(end)],
        "bucket_width": [args.bucket],
        "group_by": [args.group_by],
    }
    for name in ("api_key_ids", "models", "project_ids", "teams"):
        value = getattr(args, name)
        if value:
            params[name] = [value]
    return params


def _money(value: str) -> str:
    return f"${Decimal(value):,.2f}"


def _lines(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            row["label"],
            f"{row['total_tokens']:,}",
            f"{row['requests']:,}",
            _money(row["cost_usd"]),
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
    lines.append(
        f"total {total['total_tokens']:,} tokens, {total['requests']:,} requests, "
        f"{_money(total['cost_usd'])} "
        f"({iso(report['start_time'])} .. {iso(report['end_time'])}, {report['bucket_width']} buckets; "
        f"cost: {report['cost_basis'].replace('_', ' ')})"
    )
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the report."""
    report = usage_report(params_from_args(args, _now()), _now())
    emit(args, report, _lines(report))
    return 0
