"""`forecast`: this month's spend forecast (the answer of GET /api/forecast).

    forecast [--group-by none|api_key_id|owner|team|project_id] [--top N]
             month so far, month-end forecast, its range and the daily run rate per group, largest
             forecast first, then the organization; by key, each monthly dollar budget and the day
             the forecast reaches it

The method is stated under the table (docs/operations.md "Forecasts").
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.cli.keys import text_table
from chalicelib.cli.reports import option_names, shown
from chalicelib.query import clock
from chalicelib.query.forecast import DEFAULT_TOP, GROUPINGS, forecast_report

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def register(subparsers: Subparsers) -> None:
    """Add the `forecast` command."""
    parser = add_command(
        subparsers,
        "forecast",
        summary="this month's spend so far and its month-end forecast with a range, per group",
        handler=run,
    )
    parser.add_argument(
        "--group-by", choices=GROUPINGS, default="none", help="one grouping (default none: the organization)"
    )
    parser.add_argument(
        "--top", default=str(DEFAULT_TOP), help=f"groups listed (default {DEFAULT_TOP}; 0 lists every group)"
    )


def _usd(text: str) -> str:
    return f"${Decimal(text):,.2f}"


def _row(row: dict[str, Any], by_key: bool) -> list[str]:
    cells = [
        shown(row["label"]),
        _usd(row["month_to_date_usd"]),
        _usd(row["forecast_usd"]),
        f"{_usd(row['low_usd'])} - {_usd(row['high_usd'])}",
        _usd(row["daily_rate_usd"]),
    ]
    if by_key:
        budget = row.get("budget_usd")
        if budget is None:
            cells += ["-", "-"]
        else:
            exceed = "over budget" if row["over_budget"] else (row["on_track_to_exceed"] or "no")
            cells += [f"{_usd(budget)} ({row['forecast_percent']:.0f}%)", exceed]
    return cells


def lines(answer: dict[str, Any]) -> list[str]:
    """The forecast as a text table with its method."""
    by_key = answer["group_by"] == ["api_key_id"]
    headers = ["GROUP", "MONTH SO FAR", "FORECAST", "RANGE", "RATE/DAY"]
    if by_key:
        headers += ["BUDGET", "EXCEEDS ON"]
    rows = [_row(row, by_key) for row in answer["groups"]]
    if answer["other_groups"]:
        rows.append([f"(+{answer['other_groups']} more: --top 0 lists all)", *[""] * (len(headers) - 1)])
    total = _row({**answer["total"], "budget_usd": None}, by_key)
    rows.append(["ORGANIZATION", *total[1:]])
    method = answer["method"]
    factors = ", ".join(
        f"{day} {factor:.2f}" for day, factor in zip(WEEKDAYS, method["weekday_factors"], strict=True)
    )
    return [
        f"{answer['month']}: day {answer['day_of_month']} of {answer['days_in_month']}, "
        f"data as of {answer['data_as_of'] or 'never'}",
        *text_table(headers, rows),
        f"method: run rate of the last {method['window_days']} complete days x weekday factor "
        f"({factors}); range {method['range']}",
    ]


def run(args: argparse.Namespace) -> int:
    """Print this month's forecast."""
    now = clock.now()
    with option_names({"group_by": "--group-by", "top": "--top"}):
        answer = forecast_report({"group_by": [args.group_by], "top": [args.top]}, now)
    emit(args, answer, lines(answer))
    return 0
