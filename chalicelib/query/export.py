"""`/api/export`: the same selection as `/api/usage` as CSV for finance, one line per bucket and group.

Always every group of every bucket (the `top` of /api/usage is accepted, so a client may reuse its
query string, and ignored). Lines come straight from the summed records (`report.aggregate`), group
cells worked out once per group. An API answer is capped (Lambda's response limit): the route passes
`max_bytes` and a CSV surely larger (`LINE_BYTES` per line at least) is refused before it is
written; the CLI's `export` has no cap.

Columns: the period (UTC), the group's ids with their names, tokens, requests, billed, estimated and
effective cost (chalicelib.money: billed when the day is settled, else estimated; so `cost_usd` sums
to the report's total), the tokens without a price (`unpriced_tokens`: their cost is missing, never
$0), where the cost comes from (`billed` or `estimated`) and whether the line is still provisional,
then the other measures (MEASURE_COLUMNS: cache writes, audio/image and batch/flex/priority tokens,
web and file searches, code interpreter sessions, vector storage GB-days).
Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) are prefixed
with `'`: key and project names are user input.

A stored (1h, 1d) aggregate read's CSV is kept per API container (`EXPORT_MEMO`) under what it is
written from, as the report memo keeps reports (chalicelib.query.memo): the selection, the content
fingerprint of the aggregate items from their stamps (a few bytes each), the checkpoint fields that
decide billed vs estimated and the `Names` it was labelled with. A repeat within the collector's
interval costs those reads instead of writing every line again (30,000 lines at 1,000 keys for 30
days by key: ~700 ms of CPU). Detail reads and live 1m reads are written every time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.dimensions import Dimension
from chalicelib.kinds import MEASURES
from chalicelib.money import basis_of
from chalicelib.periods import day_label
from chalicelib.query.memo import ReportMemo
from chalicelib.query.report import Aggregate, flag_list
from chalicelib.query.selection import Selection, parse_selection
from chalicelib.query.sources import stored_fingerprint
from chalicelib.query.usage import Stores, aggregate_for, load_names, too_large
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
# After the flags, so earlier columns keep their places: the tokens whose cost is missing (never $0).
UNPRICED_COLUMNS = ("unpriced_tokens",)
# The measures beyond plain tokens (chalicelib.kinds), after the flags so earlier columns keep their
# places: token splits that change the price, and per-call items as their own units.
MEASURE_COLUMNS = tuple(measure.name for measure in MEASURES)
GROUP_COLUMNS: dict[Dimension, tuple[str, ...]] = {
    "api_key_id": ("api_key_id", "key_name", "key_owner", "key_team"),
    "owner": ("owner",),
    "team": ("team",),
    "model": ("model",),
    "pool": ("pool",),
    "project_id": ("project_id", "project_name"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_MEMO = ReportMemo(max_entries=4)  # a 30-day by-key CSV at 1,000 keys is ~3 MB of text
CLI_EXPORT_HINT = "; or run the CLI's `export --format csv`, which writes a CSV of any size"
LINE_BYTES = 60  # a CSV line is at least this long: two dates, ids, eight numbers, source, flags


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
    return [
        *columns,
        *METRIC_COLUMNS,
        "cost_source",
        "provisional",
        "flags",
        *UNPRICED_COLUMNS,
        *MEASURE_COLUMNS,
    ]


def _group_cells(dim: Dimension, row: dict[str, Any]) -> list[str]:
    value = row["group"][dim]
    label = row["labels"][dim]
    if dim == "api_key_id":
        key = row.get("key") or {}
        return [safe_text(value), safe_text(label), safe_text(key.get("owner")), safe_text(key.get("team"))]
    if dim == "project_id":
        return [safe_text(value), safe_text(label)]
    return [safe_text(value if value is not None else "")]


def _cell_order(item: tuple[Any, Any]) -> tuple[Any, int, tuple[str, ...]]:
    group, totals = item
    return (-totals.cost, -totals.total_tokens, tuple(value or "" for value in group))


def csv_lines(selection: Selection, agg: Aggregate) -> list[Sequence[str]]:
    """Header and one line per bucket x group (each bucket's groups by cost, then tokens)."""
    rows = agg.rows()
    group_cells = {
        group: [cell for dim in selection.group_by for cell in _group_cells(dim, row)]
        for group, row in rows.items()
    }
    group_flags = {group: row["flags"] for group, row in rows.items()}
    lines: list[Sequence[str]] = [header(selection)]
    for start, cells in agg.cells.items():
        period = [_period(start, selection), _period(start + selection.width, selection)]
        for group, totals in sorted(cells.items(), key=_cell_order):
            metrics = totals.metrics()
            flags = flag_list(totals.mask)
            flags += [flag for flag in group_flags[group] if flag == "unattributed"]
            provisional = "provisional" in flags
            lines.append(
                [
                    *period,
                    *group_cells[group],
                    *(str(metrics[name]) for name in METRIC_COLUMNS),
                    basis_of(not provisional),
                    "yes" if provisional else "no",
                    ";".join(flags),
                    *(str(metrics[name]) for name in UNPRICED_COLUMNS),
                    *(str(metrics[name]) for name in MEASURE_COLUMNS),
                ]
            )
    return lines


def filename(selection: Selection) -> str:
    """`usage-<first day>-<last day>.csv` (both UTC, inclusive)."""
    return f"usage-{day_label(selection.start)}-{day_label(selection.end - 1)}.csv"


def export_csv(
    params: Params,
    now: int,
    *,
    stores: Stores | None = None,
    settings: Settings | None = None,
    max_bytes: int | None = None,
) -> tuple[str, str]:
    """`GET /api/export`: (file name, CSV text); ResponseTooLarge before writing a CSV that surely
    exceeds `max_bytes`."""
    settings = settings or get_settings()
    selection = parse_selection(params, now, settings.hourly_retention_days)
    stores = stores or Stores.default()
    memo_key = _memo_key(selection, stores)
    names = load_names(selection, stores.directory)
    kept = EXPORT_MEMO.get(memo_key, names) if memo_key is not None else None
    if kept is not None:
        return str(kept["filename"]), str(kept["csv"])
    agg, _ = aggregate_for(selection, now, stores, settings)
    if max_bytes is not None:
        size = LINE_BYTES * sum(len(cells) for cells in agg.cells.values())
        if size > max_bytes:
            raise too_large(size, max_bytes, "CSV", CLI_EXPORT_HINT)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(csv_lines(selection, agg))
    text = out.getvalue()
    if memo_key is not None:
        EXPORT_MEMO.put(memo_key, names, {"filename": filename(selection), "csv": text})
    return filename(selection), text


def _memo_key(selection: Selection, stores: Stores) -> tuple[object, ...] | None:
    """What a stored read's CSV is written from, read before the items; None when not kept (1m
    live, detail reads, items without content hashes)."""
    if selection.bucket_width == "1m":
        return None
    stamped = stored_fingerprint(selection, stores.rollups)
    if stamped is None:
        return None
    checkpoint = stores.meta.checkpoint()
    return (
        stores.rollups.table.name,
        selection,
        stamped,
        checkpoint.costs_as_of,
        checkpoint.cost_grouping,
        checkpoint.usage_as_of,
    )
