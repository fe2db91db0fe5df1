"""`/api/export`: the same selection as `/api/usage` as CSV for finance, one line per bucket and group.

Columns: the period (UTC), the group's ids with their names, tokens, requests, billed, estimated and
effective cost, where the cost comes from (`billed` or `estimated`) and whether the line is still
provisional. Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) are
prefixed with `'`: key and project names are user input.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.periods import day_label
from chalicelib.query.selection import Dimension, Selection, parse_selection
from chalicelib.query.usage import Stores, report_for
from chalicelib.settings import Settings, get_settings
from chalicelib.validation import Params

METRIC_COLUMNS = (
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "total_tokens",
    "requests",
    "billed_usd",
    "estimated_usd",
    "cost_usd",
)
GROUP_COLUMNS: dict[Dimension, tuple[str, ...]] = {
    "api_key_id": ("api_key_id", "key_name", "key_owner", "key_team"),
    "owner": ("owner",),
    "team": ("team",),
    "model": ("model",),
    "pool": ("pool",),
    "project_id": ("project_id", "project_name"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> str:
    """A text cell a spreadsheet shows as text (never runs as a formula)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _period(ts: int, selection: Selection) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%d" if selection.bucket_width == "1d" else "%Y-%m-%d %H:%M")


def header(selection: Selection) -> list[str]:
    """The CSV header for a selection."""
    columns = ["period_start_utc", "period_end_utc"]
    for dim in selection.group_by:
        columns += GROUP_COLUMNS[dim]
    return [*columns, *METRIC_COLUMNS, "cost_source", "provisional", "flags"]


def _group_cells(dim: Dimension, row: dict[str, Any]) -> list[str]:
    value = row["group"][dim]
    label = row["labels"][dim]
    if dim == "api_key_id":
        key = row.get("key") or {}
        return [safe_text(value), safe_text(label), safe_text(key.get("owner")), safe_text(key.get("team"))]
    if dim == "project_id":
        return [safe_text(value), safe_text(label)]
    return [safe_text(value if value is not None else "")]


def csv_lines(selection: Selection, report: dict[str, Any]) -> list[Sequence[str]]:
    """Header and one line per bucket x group of a usage report."""
    billed = report["cost_basis"] == "billed_when_settled"
    lines: list[Sequence[str]] = [header(selection)]
    for bucket in report["buckets"]:
        for row in bucket["results"]:
            cells = [_period(bucket["start_time"], selection), _period(bucket["end_time"], selection)]
            for dim in selection.group_by:
                cells += _group_cells(dim, row)
            cells += [str(row[name]) for name in METRIC_COLUMNS]
            provisional = "provisional" in row["flags"]
            cells += [
                "billed" if billed and not provisional else "estimated",
                "yes" if provisional else "no",
                ";".join(row["flags"]),
            ]
            lines.append(cells)
    return lines


def filename(selection: Selection) -> str:
    """`usage-<first day>-<last day>.csv` (both UTC, inclusive)."""
    return f"usage-{day_label(selection.start)}-{day_label(selection.end - 1)}.csv"


def export_csv(
    params: Params, now: int, *, stores: Stores | None = None, settings: Settings | None = None
) -> tuple[str, str]:
    """`GET /api/export`: (file name, CSV text)."""
    settings = settings or get_settings()
    selection = parse_selection(params, now, settings.hourly_retention_days)
    report = report_for(selection, now, stores or Stores.default(), settings)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(csv_lines(selection, report))
    return filename(selection), out.getvalue()
