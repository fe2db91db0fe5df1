"""`reconcile`: how good the estimate is, per billed day (the answer of GET /api/reconciliation).

    reconcile [--days N]    the last N UTC days (today included, default 30): per billed day the
                            estimate, the bill, the gap in dollars and percent, and when the gap
                            passes RECONCILE_GAP_PERCENT the models that explain it

Days not billed yet are not listed: they have nothing to reconcile against (docs/money.md).
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.cli.keys import text_table
from chalicelib.cli.reports import DEFAULT_DAYS, MAX_DAYS, option_names, period_params, shown
from chalicelib.query import clock
from chalicelib.query.reconciliation import reconciliation

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the `reconcile` command."""
    parser = add_command(
        subparsers,
        "reconcile",
        summary="per billed day: the estimate against OpenAI's bill, overall and per model",
        handler=run,
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"UTC days back, today included (default {DEFAULT_DAYS}, at most {MAX_DAYS})",
    )


def _gap(percent: float | None) -> str:
    return "-" if percent is None else f"{percent:+.2f}%"


def _lines(answer: dict[str, Any]) -> list[str]:
    rows = [
        [
            day["day"],
            f"${Decimal(day['estimated_usd']):,.2f}",
            f"${Decimal(day['billed_usd']):,.2f}",
            f"${Decimal(day['gap_usd']):,.2f}",
            _gap(day["gap_percent"]),
            "FLAGGED" if day["flagged"] else "ok",
            ", ".join(shown(model) for model in day["explained_by"]) or "-",
        ]
        for day in answer["days"]
    ]
    if not rows:
        return ["no billed day in this period yet (a day is billed 48 h after it ends)"]
    total = answer["total"]
    rows.append(
        [
            "TOTAL",
            f"${Decimal(total['estimated_usd']):,.2f}",
            f"${Decimal(total['billed_usd']):,.2f}",
            f"${Decimal(total['gap_usd']):,.2f}",
            _gap(total["gap_percent"]),
            f"{len(answer['flagged_days'])} flagged",
            "",
        ]
    )
    lines = text_table(["DAY", "ESTIMATED", "BILLED", "GAP", "GAP %", "STATUS", "EXPLAINED BY"], rows)
    lines.append(f"flagged: a gap over {answer['threshold_percent']}% of the bill (RECONCILE_GAP_PERCENT)")
    return lines


def run(args: argparse.Namespace) -> int:
    """Print the reconciliation of the last --days days."""
    now = clock.now()
    with option_names():
        answer = reconciliation(period_params(args.days, now), now)
    emit(args, answer, _lines(answer))
    return 0
