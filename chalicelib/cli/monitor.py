"""`monitor-key ID|NAME [--interval SECONDS] [--once]`: one key's day, live in the terminal.

Every few seconds (default 10) the view is cleared and redrawn with what DynamoDB holds for the key:
today's tokens, requests and cost (as /api/usage answers for today), its rate (tokens and requests of
the previous and of the current UTC hour, from the hourly rollups), its budget status (as /api/keys
computes it), and how old the data is. It never calls OpenAI: the numbers move when the collector has
run, which the "data as of" line shows. Ctrl-C exits cleanly (status 0); `--once` prints one frame
and exits (scripts, tests). With `--json`, each frame is one JSON object (one per line when live).

The key is named like `remove-key` names it: a key id, else a mapping's or the synced directory's
exact name, else that name ignoring case; a name several keys share is refused with the matches.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.cli.common import add_command, emit
from chalicelib.cli.reports import budget_text, money, shown
from chalicelib.errors import InvalidInput, NotFound, TrackerError
from chalicelib.keys.model import KeyIdentity
from chalicelib.keys.resolve import build_identities, resolve
from chalicelib.keys.validate import validate_key_id
from chalicelib.money import cost_text
from chalicelib.periods import DAY, HOUR, floor_day, floor_hour, iso
from chalicelib.query import clock
from chalicelib.query.keys import list_keys
from chalicelib.query.usage import Stores, usage_report
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

DEFAULT_INTERVAL = 10.0
MIN_INTERVAL = 1.0
MAX_INTERVAL = 3600.0
CLEAR = "\x1b[H\x1b[2J"  # cursor home, erase screen
BAR_WIDTH = 30

# Replaced in tests: the pause between frames.
sleep: Callable[[float], None] = time.sleep


def register(subparsers: Subparsers) -> None:
    """Add `monitor-key`."""
    parser = add_command(
        subparsers,
        "monitor-key",
        summary="watch one key live: today's usage, its rate this hour, its budget (Ctrl-C to stop)",
        description="Watch one key: today's tokens, requests and cost, tokens of the last and the "
        "current hour, and its budget, redrawn every few seconds from DynamoDB (no OpenAI calls).",
        handler=run,
    )
    parser.add_argument("key", metavar="ID|NAME", help="the key id, or its exact name")
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between refreshes (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument("--once", action="store_true", help="print one frame and exit")


# -- which key -------------------------------------------------------------------------------
def find_key(identities: Mapping[str, KeyIdentity], name_or_id: str) -> KeyIdentity:
    """The key a person named: by id (any `key_...`, even one nobody named), else by exact name, else
    by name ignoring case; InvalidInput lists the keys when a name is ambiguous."""
    wanted = name_or_id.strip()
    if not wanted:
        raise InvalidInput("key", "give a key id or a key name")
    if wanted in identities:
        return identities[wanted]
    if wanted.startswith("key_"):
        return resolve(validate_key_id(wanted, "key"), identities)
    matches = [identity for identity in identities.values() if identity.name == wanted]
    if not matches:
        matches = [i for i in identities.values() if i.name.casefold() == wanted.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound("key", f"no key has the id or name {wanted!r} (see `list-keys --all`)")
    listed = ", ".join(
        f"{m.key_id} ({m.name!r}, team {m.team or '-'}, project {m.project_name or m.project_id or '-'})"
        for m in sorted(matches, key=lambda m: m.key_id)
    )
    raise InvalidInput("key", f"{wanted!r} names several keys: {listed}; give the key id")


# -- one frame -------------------------------------------------------------------------------
def _hour(bucket: Mapping[str, Any]) -> dict[str, Any]:
    row = bucket["results"][0] if bucket["results"] else None
    return {
        "start_time": iso(bucket["start_time"]),
        "end_time": iso(bucket["end_time"]),
        "total_tokens": row["total_tokens"] if row else 0,
        "requests": row["requests"] if row else 0,
        "estimated_usd": row["estimated_usd"] if row else "0",
        "cost_usd": row["cost_usd"] if row else "0",
        "unpriced_tokens": row["unpriced_tokens"] if row else 0,
    }


def _age(data_as_of: str | None, now: int) -> int | None:
    if data_as_of is None:
        return None
    moment = datetime.fromisoformat(data_as_of.replace("Z", "+00:00"))
    return max(now - int(moment.timestamp()), 0)


def frame(identity: KeyIdentity, now: int, stores: Stores) -> dict[str, Any]:
    """Everything one refresh shows, as JSON: three reads of the query layer, no arithmetic here."""
    settings = get_settings()
    key_filter = {"api_key_ids": [identity.key_id], "group_by": ["none"]}
    today = usage_report(
        {**key_filter, "start_time": [str(floor_day(now))], "end_time": [str(floor_day(now) + DAY)]},
        now,
        stores=stores,
        settings=settings,
    )
    hours = usage_report(
        {
            **key_filter,
            "start_time": [str(floor_hour(now) - HOUR)],
            "end_time": [str(floor_hour(now) + HOUR)],
            "bucket_width": ["1h"],
        },
        now,
        stores=stores,
        settings=settings,
    )
    entries = list_keys({}, now, stores=stores, only=identity.key_id)["data"]
    entry = entries[0] if entries else {}
    age = _age(today["data_as_of"], now)
    previous, current = (_hour(bucket) for bucket in hours["buckets"])
    return {
        "object": "key_monitor",
        "now": iso(now),
        "key": {
            "key_id": identity.key_id,
            "name": identity.name,
            "owner": identity.owner,
            "team": identity.team,
            "project_id": identity.project_id,
            "project_name": identity.project_name,
            "source": identity.source,
            "active": identity.active,
        },
        "today": {
            "day": iso(floor_day(now))[:10],
            "cost_basis": today["cost_basis"],
            "flags": today["groups"][0]["flags"] if today["groups"] else [],
            **today["total"],
        },
        "last_hour": previous,
        "this_hour": current,
        "budget": entry.get("budget"),
        "budget_status": entry.get("budget_status"),
        "data_as_of": today["data_as_of"],
        "age_seconds": age,
        "stale": age is None or age > settings.stale_after_minutes * 60,
    }


def _bar(percent: float) -> str:
    filled = min(int(percent / 100 * BAR_WIDTH), BAR_WIDTH)
    return "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"


def _minutes(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _clock(text: str) -> str:
    return text[11:16]


def frame_lines(view: Mapping[str, Any], interval: float | None) -> list[str]:
    """The frame for people."""
    key, today = view["key"], view["today"]
    who = ", ".join(
        part
        for part in (
            f"owner {shown(key['owner'])}" if key["owner"] else "",
            f"team {shown(key['team'])}" if key["team"] else "",
            f"project {shown(key['project_name'] or key['project_id'])}" if key["project_id"] else "",
            "" if key["active"] else "INACTIVE",
            "unmapped" if key["source"] == "unmapped" else "",
        )
        if part
    )
    lines = [f"{shown(key['name'])}  ({shown(key['key_id'])})" + (f"  {who}" if who else "")]
    if view["data_as_of"] is None:
        freshness = "no data collected yet: has the collector run?"
    else:
        freshness = f"data as of {view['data_as_of']} ({_minutes(view['age_seconds'])} ago)"
        if view["stale"]:
            freshness += "  STALE: the collector has not succeeded lately"
    lines.append(freshness)
    lines.append("")
    settled = today["cost_basis"] == "billed_when_settled" and "provisional" not in today["flags"]
    basis = "billed" if settled else "estimated"
    flags = f"  [{', '.join(today['flags'])}]" if today["flags"] else ""
    lines.append(
        f"today {today['day']} (UTC)  {today['total_tokens']:,} tokens  {today['requests']:,} requests  "
        f"{cost_text(today['cost_usd'], today['unpriced_tokens'])} ({basis}){flags}"
    )
    lines.append(
        f"    in {today['input_tokens']:,}  out {today['output_tokens']:,}  cached {today['cached_tokens']:,}"
    )
    for label, hour in (("this hour", view["this_hour"]), ("last hour", view["last_hour"])):
        lines.append(
            f"{label} {_clock(hour['start_time'])}-{_clock(hour['end_time'])}  "
            f"{hour['total_tokens']:,} tokens  {hour['requests']:,} requests  "
            f"~{cost_text(hour['cost_usd'], hour['unpriced_tokens'])}"
        )
    status = view["budget_status"]
    if view["budget"] is None:
        lines.append("budget    none (set one with `add-key --replace ... --budget N`)")
    else:
        lines.append(f"budget    {budget_text(view['budget'], status)}")
        if status is not None:
            used = status["used"]
            spent = money(used) if view["budget"]["unit"] == "usd" else f"{Decimal(used):,} tokens"
            lines.append(f"    {_bar(float(status['percent']))} {spent} used since {status['period_start']}")
    lines.append("")
    footer = f"now {view['now']}"
    if interval is not None:
        footer += f"  refreshing every {interval:g} s from DynamoDB; Ctrl-C to quit"
    lines.append(footer)
    return lines


# -- the command -----------------------------------------------------------------------------
def _draw(args: argparse.Namespace, lines: Sequence[str], view: Mapping[str, Any] | None) -> None:
    if getattr(args, "json", False):
        if view is not None:
            print(json.dumps(view, sort_keys=True), flush=True)
        return
    clear = CLEAR if sys.stdout.isatty() else "\n"
    sys.stdout.write(clear + "\n".join(lines) + "\n")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    """One frame with --once, else redraw until Ctrl-C."""
    if not MIN_INTERVAL <= args.interval <= MAX_INTERVAL:
        raise InvalidInput("--interval", f"must be between {MIN_INTERVAL:g} and {MAX_INTERVAL:g} seconds")
    stores = Stores.default()
    identities = build_identities(stores.directory.list_mappings(), stores.directory.directory())
    identity = find_key(identities, args.key)
    if args.once:
        view = frame(identity, clock.now(), stores)
        emit(args, view, frame_lines(view, None))
        return 0
    view = frame(identity, clock.now(), stores)  # a first failure is an error, not a retry
    error: str | None = None
    try:
        while True:
            lines = frame_lines(view, args.interval)
            if error is not None:
                lines.append(f"refresh failed ({error}): showing the last frame, retrying")
            _draw(args, lines, view if error is None else None)
            sleep(args.interval)
            try:
                view, error = frame(identity, clock.now(), stores), None
            except (TrackerError, BotoCoreError, ClientError) as exc:
                # A blip of DynamoDB or the network must not end the watch: say so and try again.
                error = str(exc)
                if getattr(args, "json", False):
                    print(f"refresh failed: {error}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        if not getattr(args, "json", False):
            print()
        return 0
