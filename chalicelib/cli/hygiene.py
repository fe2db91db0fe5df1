"""`hygiene`: the keys that need attention (chalicelib.hygiene), with their 30-day spend.

    hygiene          keys unused for HYGIENE_UNUSED_DAYS, older than HYGIENE_ROTATION_DAYS, whose
                     owner left or whose service account is gone, and keys nobody owns

Text for people by default, the `/api/hygiene` object with `--json`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.query import clock
from chalicelib.query.hygiene import hygiene_report

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add `hygiene`."""
    add_command(
        subparsers,
        "hygiene",
        summary="keys unused, due for rotation, orphaned or unowned, with their 30-day spend",
        handler=run,
    )


def lines(report: dict[str, Any]) -> list[str]:
    """The report as a text table."""
    limits = report["thresholds"]
    head = (
        f"key hygiene as of {report['as_of']} (unused {limits['unused_days']} days, "
        f"rotation {limits['rotation_days']} days)"
    )
    if not report["data"]:
        return [head, "no key needs attention"]
    out = [head, f"{'key':<24}  {'name':<28}  {'owner':<20}  {'30d $':>10}  findings"]
    for entry in report["data"]:
        out.append(
            f"{entry['key_id']:<24}  {entry['name'][:28]:<28}  {(entry['owner'] or '-')[:20]:<20}  "
            f"{entry['spend_30d']['cost_usd']:>10}  {', '.join(entry['findings'])}"
        )
    counted = ", ".join(f"{code} {count}" for code, count in report["counts"].items() if count)
    out.append(f"{len(report['data'])} keys: {counted}")
    return out


def run(args: argparse.Namespace) -> int:
    """Print the findings of now."""
    report = hygiene_report({}, clock.now())
    emit(args, report, lines(report))
    return 0
