"""Report commands: `compare-keys`, `all-keys` and `export`, answered by the API's query layer.

    compare-keys --days N [--keys ID|NAME,...]   tokens, cost, calls and shares side by side, a TOTAL row
    all-keys --days N                            per key: who, tokens in/out/cached, requests, billed,
                                                 estimated and effective cost, share, budget, top model
    export --days N --format csv|json [--output FILE] [--group-by DIM,...]
                                                 the CSV of GET /api/export, or the JSON of /api/usage

The period is the last N UTC days, today included. Every number comes from chalicelib.query (the code
behind /api/usage, /api/compare, /api/export and /api/keys), so the CLI and the dashboard always agree;
this module only chooses the questions and lays the answers out. Text tables by default; `--json`
prints the API's objects.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.cli.keys import find_mapping, text_table
from chalicelib.dimensions import DIMENSIONS, UNATTRIBUTED
from chalicelib.errors import InvalidInput, TrackerError
from chalicelib.kinds import PER_CALL
from chalicelib.money import cost_text
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.query import clock
from chalicelib.query.compare import compare_keys
from chalicelib.query.export import export_csv
from chalicelib.query.keys import list_keys
from chalicelib.query.selection import parse_selection
from chalicelib.query.usage import Stores, report_for, usage_report
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

DEFAULT_DAYS = 30
MAX_DAYS = 366
FORMATS = ("csv", "json")
EXPORT_BUCKETS = ("1d", "1h")  # 1m would ask OpenAI live; an export reads DynamoDB only
EXPORT_FILTERS = ("api-key-ids", "models", "project-ids", "teams")

# The query layer names the API's parameters; a person typed these options.
OPTION_OF = {
    "start_time": "--days",
    "end_time": "--days",
    "api_key_ids": "--keys",
    "group_by": "--group-by",
    "bucket_width": "--bucket",
    "models": "--models",
    "project_ids": "--project-ids",
    "teams": "--teams",
}


def register(subparsers: Subparsers) -> None:
    """Add `compare-keys`, `all-keys` and `export`."""
    compare = add_command(
        subparsers,
        "compare-keys",
        summary="keys side by side over the last N days: tokens, cost, calls, share, and a total",
        description="Keys side by side over the last N UTC days (today included). Without --keys, every "
        "key with usage in the period, by cost; with --keys, the keys given (2 to 20), in that order.",
        handler=run_compare_keys,
    )
    _days_option(compare)
    compare.add_argument(
        "--keys", metavar="ID|NAME[,...]", help="only these keys: key ids, or mapping names (2 to 20)"
    )

    analytics = add_command(
        subparsers,
        "all-keys",
        summary="analytics per key over the last N days: usage, cost, share, budget, top model",
        handler=run_all_keys,
    )
    _days_option(analytics)

    export = add_command(
        subparsers,
        "export",
        summary="the usage of the last N days as CSV (GET /api/export) or JSON (GET /api/usage)",
        handler=run_export,
    )
    _days_option(export)
    export.add_argument("--format", required=True, choices=FORMATS, help="csv for finance, json for scripts")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    export.add_argument(
        "--group-by",
        default="api_key_id",
        metavar="DIM[,DIM...]",
        help=f"comma list of {', '.join(DIMENSIONS)}, or none (default api_key_id)",
    )
    export.add_argument("--bucket", default="1d", choices=EXPORT_BUCKETS, help="one line per day or hour")
    for name in EXPORT_FILTERS:
        export.add_argument(f"--{name}", metavar="A[,B...]", help=f"only these {name.replace('-', ' ')}")


def _days_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"UTC days back, today included (default {DEFAULT_DAYS}, at most {MAX_DAYS})",
    )


# -- shared ----------------------------------------------------------------------------------
def period_params(days: int, now: int) -> dict[str, list[str]]:
    """The query parameters of the last `days` UTC days, today included."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("--days", f"must be between 1 and {MAX_DAYS}, got {days}")
    start = floor_day(now) - (days - 1) * DAY
    return {"start_time": [str(start)], "end_time": [str(floor_day(now) + DAY)]}


@contextmanager
def option_names(overrides: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-raise the query layer's InvalidInput under the option the person typed."""
    names = {**OPTION_OF, **(overrides or {})}
    try:
        yield
    except InvalidInput as exc:
        option = names.get(exc.param)
        if option is None:
            raise
        raise type(exc)(option, exc.message) from exc


def shown(value: object) -> str:
    """A name for a terminal: key, owner and project names are other people's input, so control
    characters (an escape sequence could rewrite the screen) are shown as U+FFFD."""
    text = "-" if value is None or value == "" else str(value)
    return "".join(char if char.isprintable() else "\ufffd" for char in text)


def money(value: str | Decimal) -> str:
    """Dollars for people: `$1,234.57` (JSON keeps the exact decimal string)."""
    return f"${Decimal(value):,.2f}"


def percent(share: float) -> str:
    """A 0..1 share as `12.3%`."""
    return f"{share * 100:.1f}%"


def budget_text(budget: Mapping[str, Any] | None, status: Mapping[str, Any] | None) -> str:
    """`62.4% of $50.00/month`, `OVER 112.0% of 1,000,000 tokens/day`, or `-` without a budget."""
    if not budget:
        return "-"
    amount = Decimal(budget["amount"])
    limit = money(amount) if budget["unit"] == "usd" else f"{amount:,} tokens"
    limit += "/day" if budget["period"] == "daily" else "/month"
    if status is None:
        return limit
    used = float(status["percent"])
    return f"{'OVER ' if used >= 100 else ''}{used:.1f}% of {limit}"


def footer(report: Mapping[str, Any], days: int) -> str:
    """The period, the cost basis and the data's age, under every table."""
    first, last = day_label(report["start_time"]), day_label(report["end_time"] - 1)
    basis = (
        "billed where settled, else estimated"
        if report["cost_basis"] == "billed_when_settled"
        else "estimated"
    )
    as_of = report["data_as_of"] or "never (nothing collected yet)"
    span = "1 day" if days == 1 else f"{days} days"
    return f"{first} .. {last} (UTC, {span}, today included); cost {basis}; data as of {as_of}"


# Per-call measures (chalicelib.kinds), each in its own unit (never folded into tokens): shown as
# extra columns when the period has any.
def tool_headers(total: Mapping[str, Any]) -> list[str]:
    """The headers of the per-call measures the period has (none when it used no tools)."""
    return [measure.header for measure in PER_CALL if total.get(measure.name)]


def tool_cells(metrics: Mapping[str, Any], total: Mapping[str, Any]) -> list[str]:
    """A row's per-call measures, in the columns `tool_headers(total)` chose."""
    cells = []
    for measure in PER_CALL:
        if total.get(measure.name):
            value = metrics.get(measure.name) or 0
            cells.append(f"{value:,.3f}" if measure.unit == "gb_days" else f"{value:,}")
    return cells


def _total_share(total: Mapping[str, Any], field: str) -> str:
    whole = Decimal(total["cost_usd"]) if field == "cost" else Decimal(total["total_tokens"])
    return "100.0%" if whole else "-"


# -- compare-keys ----------------------------------------------------------------------------
def key_ids_from(text: str) -> list[str]:
    """Key ids from `--keys`: ids as given, names resolved through the mappings like `remove-key`."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise InvalidInput("--keys", "give key ids or mapping names, separated by commas")
    named = [part for part in parts if not part.startswith("key_") and part != UNATTRIBUTED]
    mappings = DirectoryStore().list_mappings() if named else []
    ids = []
    for part in parts:
        if part in named:
            try:
                part = find_mapping(mappings, part).key_id  # noqa: PLW2901 - the name becomes its id
            except InvalidInput as exc:
                raise type(exc)("--keys", exc.message) from exc
        ids.append(part)
    return ids


def run_compare_keys(args: argparse.Namespace) -> int:
    """Print the comparison (all keys with usage, by cost, or the keys asked, in order)."""
    now = clock.now()
    params = period_params(args.days, now)
    with option_names():
        if args.keys:
            answer = compare_keys({**params, "api_key_ids": key_ids_from(args.keys)}, now)
            rows, total = answer["keys"], answer["total"]
        else:
            answer = usage_report({**params, "group_by": ["api_key_id"]}, now)
            rows, total = answer["groups"], answer["total"]
    payload = {
        "object": "comparison",
        "days": args.days,
        "start_time": answer["start_time"],
        "end_time": answer["end_time"],
        "data_as_of": answer["data_as_of"],
        "settled_before": answer["settled_before"],
        "cost_basis": answer["cost_basis"],
        "keys": rows,
        "total": total,
    }
    table = [
        [
            shown(row["label"]),
            shown(row["group"]["api_key_id"]),
            f"{row['total_tokens']:,}",
            percent(row["share_tokens"]),
            cost_text(row["cost_usd"], row["unpriced_tokens"]),
            percent(row["share_cost"]),
            f"{row['requests']:,}",
            ",".join(row["flags"]) or "-",
        ]
        for row in rows
    ]
    table.append(
        [
            "TOTAL",
            f"{len(rows)} keys",
            f"{total['total_tokens']:,}",
            _total_share(total, "tokens"),
            cost_text(total["cost_usd"], total["unpriced_tokens"]),
            _total_share(total, "cost"),
            f"{total['requests']:,}",
            "",
        ]
    )
    headers = ["NAME", "KEY ID", "TOKENS", "TOKEN SHARE", "COST", "COST SHARE", "CALLS", "FLAGS"]
    lines = text_table(headers, table) if rows else ["no key has usage in this period"]
    lines.append(footer(answer, args.days))
    emit(args, payload, lines)
    return 0


# -- all-keys --------------------------------------------------------------------------------
def run_all_keys(args: argparse.Namespace) -> int:
    """Every key with usage in the period, and every mapped key, with its analytics."""
    now = clock.now()
    settings = get_settings()
    stores = Stores.default()
    params = {**period_params(args.days, now), "group_by": ["api_key_id"]}
    mapped = [(mapping.key_id,) for mapping in stores.directory.list_mappings()]
    with option_names():
        selection = parse_selection(params, now, settings.hourly_retention_days)
        # Mapped keys are listed even when idle, with zeros, as /api/compare lists the keys asked.
        report = report_for(selection, now, stores, settings, always=mapped)
        by_model = usage_report(
            {**params, "group_by": ["api_key_id,model"]}, now, stores=stores, settings=settings
        )
    top: dict[str, dict[str, Any]] = {}
    for row in by_model["groups"]:  # by cost, then tokens: the first row of a key is its top model
        top.setdefault(row["group"]["api_key_id"], row)
    known = {entry["key_id"]: entry for entry in list_keys({}, now, stores=stores)["data"]}
    records = []
    for row in report["groups"]:
        key_id = row["group"]["api_key_id"]
        entry = known.get(key_id, {})
        model = top.get(key_id)
        records.append(
            {
                **row,
                "key_id": key_id,
                "source": entry.get("source", "unmapped"),
                "active": entry.get("active", True),
                "budget": entry.get("budget"),
                "budget_status": entry.get("budget_status"),
                "top_model": (
                    {
                        "model": model["group"]["model"],
                        "total_tokens": model["total_tokens"],
                        "cost_usd": model["cost_usd"],
                    }
                    if model
                    else None
                ),
            }
        )
    total = report["total"]
    payload = {
        "object": "key_analytics",
        "days": args.days,
        "start_time": report["start_time"],
        "end_time": report["end_time"],
        "data_as_of": report["data_as_of"],
        "settled_before": report["settled_before"],
        "cost_basis": report["cost_basis"],
        "keys": records,
        "total": total,
    }
    emit(args, payload, _all_keys_lines(records, report, args.days))
    return 0


def _all_keys_lines(records: list[dict[str, Any]], report: Mapping[str, Any], days: int) -> list[str]:
    if not records:
        return ["no keys: nothing was used in this period and no key is mapped", footer(report, days)]
    rows = []
    for record in records:
        key = record.get("key") or {}
        name = shown(record["label"]) + ("" if record["active"] else " (inactive)")
        rows.append(
            [
                name,
                shown(key.get("owner")),
                shown(key.get("team")),
                f"{record['input_tokens']:,}",
                f"{record['output_tokens']:,}",
                f"{record['cached_tokens']:,}",
                f"{record['requests']:,}",
                money(record["billed_usd"]),
                money(record["estimated_usd"]),
                cost_text(record["cost_usd"], record["unpriced_tokens"]),
                percent(record["share_cost"]),
                budget_text(record["budget"], record["budget_status"]),
                shown(record["top_model"]["model"] if record["top_model"] else None),
                *tool_cells(record, report["total"]),
            ]
        )
    total = report["total"]
    rows.append(
        [
            f"TOTAL ({len(records)} keys)",
            "",
            "",
            f"{total['input_tokens']:,}",
            f"{total['output_tokens']:,}",
            f"{total['cached_tokens']:,}",
            f"{total['requests']:,}",
            money(total["billed_usd"]),
            money(total["estimated_usd"]),
            cost_text(total["cost_usd"], total["unpriced_tokens"]),
            _total_share(total, "cost"),
            "",
            "",
            *tool_cells(total, total),
        ]
    )
    headers = ["NAME", "OWNER", "TEAM", "IN", "OUT", "CACHED", "REQUESTS", "BILLED", "ESTIMATED", "COST",
               "SHARE", "BUDGET", "TOP MODEL", *tool_headers(total)]  # fmt: skip
    lines = text_table(headers, rows)
    lines.append(footer(report, days))
    lines.append("IN/OUT/CACHED: tokens; BUDGET: this day's or month's use of the key's own budget")
    return lines


# -- export ----------------------------------------------------------------------------------
def export_params(args: argparse.Namespace, now: int) -> dict[str, list[str]]:
    """The /api/export (and /api/usage) query parameters this command line means."""
    params = {
        **period_params(args.days, now),
        "bucket_width": [args.bucket],
        "group_by": [args.group_by],
    }
    for name in EXPORT_FILTERS:
        value = getattr(args, name.replace("-", "_"))
        if value:
            params[name.replace("-", "_")] = [value]
    return params


def write_file(path: str, text: str) -> None:
    """Write `text` to `path` whole or not at all (bytes as given: CSV keeps its CRLF)."""
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise TrackerError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        Path(temporary).replace(target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise TrackerError(f"cannot write {path}: {exc.strerror or exc}") from exc


def run_export(args: argparse.Namespace) -> int:
    """Print or write the CSV (as /api/export) or the JSON report (as /api/usage)."""
    now = clock.now()
    params = export_params(args, now)
    with option_names({"api_key_ids": "--api-key-ids"}):
        if args.format == "csv":
            suggested, text = export_csv(params, now)
            lines = len(list(csv.reader(io.StringIO(text, newline="")))) - 1
        else:
            report = usage_report(params, now)
            suggested, text = "", json.dumps(report, indent=2) + "\n"
            lines = sum(len(bucket["results"]) for bucket in report["buckets"])
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    write_file(args.output, text)
    emit(
        args,
        {"output": args.output, "format": args.format, "rows": lines, "suggested_name": suggested or None},
        [f"wrote {lines} rows ({args.format}, one per {args.bucket} bucket and group) to {args.output}"],
    )
    return 0
