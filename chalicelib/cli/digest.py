"""`digest preview`: the weekly or monthly digest the schedule sends, printed without sending it.

    digest preview [--period week|month] [--team T]   the last complete week (or month) of the
                     organization, or of one team, against the period before (chalicelib.digest)

Text (the e-mail body) by default, the digest object with `--json`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from chalicelib.alerts.digest_messages import text_lines, title
from chalicelib.cli.common import add_command, add_group, emit
from chalicelib.digest import PERIOD_KINDS
from chalicelib.digest_send import preview
from chalicelib.query import clock

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add `digest preview`."""
    actions = add_group(subparsers, "digest", summary="preview the weekly or monthly digest")
    show = add_command(
        actions,
        "preview",
        summary="print the digest of the last complete period, not sent",
        handler=run_preview,
    )
    show.add_argument("--period", choices=PERIOD_KINDS, default="week", help="week (default) or month")
    show.add_argument("--team", default=None, help="one team's digest instead of the organization's")


def run_preview(args: argparse.Namespace) -> int:
    """Print the digest."""
    digest = preview(args.period, clock.now(), args.team)
    emit(args, digest, [title(digest), "", *text_lines(digest)])
    return 0
