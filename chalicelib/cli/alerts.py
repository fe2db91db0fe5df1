"""`alerts test` and `alerts list`: check the subscription, and see what fired and when.

    alerts test               publish one test message to ALERTS_TOPIC_ARN (not recorded in the ledger)
    alerts list [--days N]    the ledger of the last N UTC days (default 7) and the months they touch:
                              period, alert, state (pending/published/superseded), attempts, times

Text for people by default, one JSON object with `--json`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from chalicelib.alerts.engine import KEEP_LEDGER_DAYS
from chalicelib.alerts.publisher import send_test_alert
from chalicelib.cli.common import add_command, add_group, emit
from chalicelib.errors import InvalidInput
from chalicelib.periods import DAY, day_label, iso, month_label
from chalicelib.query import clock
from chalicelib.settings import get_settings
from chalicelib.store.alerts import AlertLedger, AlertRecord

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

DEFAULT_DAYS = 7


def register(subparsers: Subparsers) -> None:
    """Add `alerts test` and `alerts list`."""
    actions = add_group(subparsers, "alerts", summary="test the alerts topic, list the alerts that fired")
    add_command(actions, "test", summary="publish a test message to the alerts topic", handler=run_test)
    listing = add_command(
        actions, "list", summary="what fired and when, with state and attempts", handler=run_list
    )
    listing.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help=f"UTC days back (default {DEFAULT_DAYS})"
    )


def run_test(args: argparse.Namespace) -> int:
    """Publish one test message."""
    settings = get_settings()
    message_id = send_test_alert(settings, clock.now())
    emit(
        args,
        {"topic_arn": settings.alerts_topic_arn, "message_id": message_id},
        [f"test message {message_id} published to {settings.alerts_topic_arn}"],
    )
    return 0


def periods_back(now: int, days: int) -> list[str]:
    """The ledger periods of the last `days` UTC days (today included) and the months they touch."""
    labels = [day_label(now - offset * DAY) for offset in range(days)]
    months = list(dict.fromkeys(month_label(now - offset * DAY) for offset in range(days)))
    return labels + months


def _when(ts: int | None) -> str:
    return iso(ts)[:16].replace("T", " ") if ts else "-"


def run_list(args: argparse.Namespace) -> int:
    """Print the ledger of the last N days, newest first."""
    if not 1 <= args.days <= KEEP_LEDGER_DAYS:
        raise InvalidInput(
            "--days", f"must be between 1 and {KEEP_LEDGER_DAYS} (the ledger's life), got {args.days}"
        )
    records = AlertLedger().records(periods_back(clock.now(), args.days))
    records.sort(key=lambda entry: (-entry.created_at, entry.alert_id))
    emit(args, {"days": args.days, "alerts": [entry.as_dict() for entry in records]}, _lines(records))
    return 0


def _lines(records: list[AlertRecord]) -> list[str]:
    if not records:
        return ["no alerts recorded in this period"]
    lines = [f"{'created (UTC)':<16}  {'state':<10}  {'tries':>5}  {'published':<16}  alert"]
    for entry in records:
        lines.append(
            f"{_when(entry.created_at):<16}  {entry.state:<10}  {entry.attempts:>5}  "
            f"{_when(entry.published_at):<16}  {_title(entry)}"
        )
        # A second line only adds what the first lacks: the id under a titled alert not yet out.
        if entry.state == "pending" and entry.message is not None:
            lines.append(
                f"{'':<16}  {entry.alert_id}"
                + (f"  last error: {entry.last_error}" if entry.last_error else "")
            )
    return lines


def _title(entry: AlertRecord) -> str:
    """What the alert said; a superseded one was never worded, so its id says what it was, once."""
    if entry.message is not None:
        return entry.message.title
    if entry.state == "superseded":
        return f"{entry.alert_id} (superseded: a higher threshold fired in the same run)"
    return entry.alert_id + (f"  last error: {entry.last_error}" if entry.last_error else "")
