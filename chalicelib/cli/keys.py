"""Key commands: `add-key`, `list-keys`, `remove-key`, and `directory sync|list`.

    add-key      name a key (by id, or by its raw value matched against the synced directory's
                 redacted values; only the raw key's SHA-256 and last four characters are kept)
    list-keys    the mappings with status, owner, team and the last N days' tokens, cost and calls
    remove-key   drop a mapping by key id or name; the key's usage history is kept
    directory    `sync` reads projects, keys and users from OpenAI now; `list` shows what is stored

Text tables for people by default, one JSON object with `--json`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.keys.model import BUDGET_PERIODS, BUDGET_UNITS, Budget, KeyIdentity, KeyMapping
from chalicelib.keys.resolve import build_identities, match_raw_key
from chalicelib.keys.sync import sync_directory
from chalicelib.keys.validate import fingerprint, new_mapping, parse_budget, validate_key_id, validate_raw_key
from chalicelib.money import Settlement, cost_of, cost_text
from chalicelib.periods import DAY, day_label
from chalicelib.query import clock
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import RollupStore
from chalicelib.usage import ZERO_USAGE, Usage

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

DEFAULT_DAYS = 30
MAX_DAYS = 366


def register(subparsers: Subparsers) -> None:
    """Add `add-key`, `list-keys`, `remove-key` and `directory`."""
    add = add_command(
        subparsers,
        "add-key",
        summary="name an API key: its person, team, description and budget",
        description="Name an API key by its id, or by the raw key (matched against the synced "
        "directory's redacted values; only its SHA-256 and last four characters are stored).",
        handler=run_add_key,
    )
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--key-id", help="the key's id (key_...)")
    which.add_argument(
        "--api-key",
        metavar="sk-...",
        help="the raw API key, or '-' to type it without echo (keeps it out of shell history)",
    )
    add.add_argument("--name", required=True, help="display name (at most 200 characters)")
    add.add_argument("--owner", help="the person responsible for the key")
    add.add_argument("--team", help="the team the key's usage counts towards")
    add.add_argument("--description", help="what the key is used for")
    add.add_argument("--budget", metavar="AMOUNT", help="a positive budget (tokens or USD)")
    add.add_argument("--budget-unit", choices=BUDGET_UNITS, help="unit of --budget (default tokens)")
    add.add_argument("--budget-period", choices=BUDGET_PERIODS, help="period of --budget (default monthly)")
    add.add_argument("--inactive", action="store_true", help="mark the key inactive")
    add.add_argument(
        "--replace", action="store_true", help="replace a whole mapping (update-key changes single fields)"
    )

    listing = add_command(
        subparsers,
        "list-keys",
        summary="list key mappings with status and recent tokens, cost and calls",
        handler=run_list_keys,
    )
    listing.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"usage window in UTC days, today included (default {DEFAULT_DAYS})",
    )
    listing.add_argument("--all", action="store_true", help="also list directory keys without a mapping")

    remove = add_command(
        subparsers,
        "remove-key",
        summary="remove a key mapping by id or name (usage history is kept)",
        handler=run_remove_key,
    )
    remove.add_argument("key", metavar="NAME|ID", help="the key id, or the mapping's exact name")

    directory = add_command(
        subparsers,
        "directory",
        summary="the OpenAI directory of projects, keys and users",
        handler=_directory_without_action,
    )
    actions = directory.add_subparsers(dest="directory_command", metavar="ACTION", required=True)
    add_command(actions, "sync", summary="read projects, keys and users from OpenAI now", handler=run_sync)
    add_command(
        actions, "list", summary="show the synced keys and the unmapped ones", handler=run_directory_list
    )


def _directory_without_action(args: argparse.Namespace) -> int:
    """Never reached: argparse requires an action, whose own handler replaces this one."""
    raise InvalidInput("ACTION", "choose sync or list")


# -- helpers ---------------------------------------------------------------------------------
def _date(ts: int | None) -> str:
    return day_label(ts) if ts else "-"


def text_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Left-aligned text columns, two spaces apart."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(value)) for width, value in zip(widths, row, strict=True)]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
    return lines


def _budget_json(budget: Budget | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {"period": budget.period, "unit": budget.unit, "amount": budget.amount}


def _budget_text(budget: Budget | None) -> str:
    if budget is None:
        return "-"
    amount = f"${budget.amount}" if budget.unit == "usd" else f"{budget.amount:,} tokens"
    return f"{amount}/{'day' if budget.period == 'daily' else 'month'}"


def mapping_json(mapping: KeyMapping) -> dict[str, Any]:
    """A mapping as JSON (the raw key is never known; its hash and last four are)."""
    return {
        "key_id": mapping.key_id,
        "name": mapping.name,
        "owner": mapping.owner,
        "team": mapping.team,
        "description": mapping.description,
        "budget": _budget_json(mapping.budget),
        "active": mapping.active,
        "api_key_sha256": mapping.api_key_sha256,
        "api_key_last4": mapping.api_key_last4,
        "created_at": mapping.created_at,
        "updated_at": mapping.updated_at,
    }


def _read_raw_key(value: str) -> str:
    if value == "-":
        raw = getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.readline()
        return validate_raw_key(raw)
    return validate_raw_key(value)


# -- add-key ---------------------------------------------------------------------------------
def run_add_key(args: argparse.Namespace) -> int:
    """Create (or with --replace, replace) one mapping."""
    budget = None
    if args.budget is not None:
        budget = parse_budget(args.budget, args.budget_unit or "tokens", args.budget_period or "monthly")
    elif args.budget_unit or args.budget_period:
        raise InvalidInput("budget", "--budget-unit and --budget-period need --budget AMOUNT")
    store = DirectoryStore()
    directory = store.directory()
    sha256 = last4 = None
    matched = None
    if args.api_key is not None:
        raw = _read_raw_key(args.api_key)
        matched = match_raw_key(raw, directory.keys.values())
        key_id = matched.key_id
        sha256, last4 = fingerprint(raw)
        del raw
    else:
        key_id = validate_key_id(args.key_id)
    now = clock.now()
    mapping = new_mapping(
        key_id,
        args.name,
        now,
        owner=args.owner,
        team=args.team,
        description=args.description,
        budget=budget,
        active=not args.inactive,
        api_key_sha256=sha256,
        api_key_last4=last4,
    )
    existing = store.get_mapping(key_id)
    if existing is not None and not args.replace:
        raise InvalidInput(
            "key_id", f"{key_id} is already mapped as {existing.name!r}; pass --replace to overwrite it"
        )
    if existing is not None:
        mapping = replace(mapping, created_at=existing.created_at)
        if mapping.api_key_sha256 is None:  # a replace by id keeps the fingerprint we had
            mapping = replace(
                mapping, api_key_sha256=existing.api_key_sha256, api_key_last4=existing.api_key_last4
            )
        store.put_mapping(mapping, expected_updated_at=existing.updated_at)
    else:
        store.put_mapping(mapping, must_not_exist=True)
    synced = directory.keys.get(key_id)
    lines = [
        f"{'replaced' if existing else 'added'} {key_id} as {mapping.name!r}: owner {mapping.owner or '-'}, "
        f"team {mapping.team or '-'}, budget {_budget_text(mapping.budget)}, "
        f"{'active' if mapping.active else 'inactive'}"
    ]
    if matched is not None:
        lines.append(
            f"matched the raw key to {key_id} by its redacted value {matched.redacted_value}; "
            f"stored only its SHA-256 and last four characters (...{last4})"
        )
    elif synced is None:
        lines.append(f"note: {key_id} is not in the synced directory (run `directory sync` if it is new)")
    emit(
        args,
        {
            "action": "replaced" if existing else "added",
            "mapping": mapping_json(mapping),
            "in_directory": synced is not None,
        },
        lines,
    )
    return 0


# -- list-keys -------------------------------------------------------------------------------
def usage_by_key(days: int, now: int) -> tuple[str, str, dict[str, tuple[Usage, Decimal]]]:
    """Each key's usage and cost (chalicelib.money: billed where settled, else estimated) summed over
    the last `days` UTC days, today included (one Query)."""
    first, last = day_label(now - (days - 1) * DAY), day_label(now)
    checkpoint = MetaStore().checkpoint()
    settled = Settlement(checkpoint.costs_as_of).settled
    totals: dict[str, tuple[Usage, Decimal]] = {}
    for day, members in RollupStore().daily_aggregates("key", first, last).items():
        is_settled = settled(day)
        for key_id, usage in members.items():
            spent, cost = totals.get(key_id, (ZERO_USAGE, Decimal(0)))
            totals[key_id] = (spent + usage, cost + cost_of(usage, is_settled))
    return first, last, totals


def run_list_keys(args: argparse.Namespace) -> int:
    """Print every mapping (and with --all every directory key) with its recent usage."""
    if not 1 <= args.days <= MAX_DAYS:
        raise InvalidInput("days", f"must be between 1 and {MAX_DAYS}")
    store = DirectoryStore()
    mappings = {mapping.key_id: mapping for mapping in store.list_mappings()}
    directory = store.directory()
    identities = build_identities(mappings.values(), directory)
    first, last, usage = usage_by_key(args.days, clock.now())
    shown: list[KeyIdentity] = [
        identity for identity in identities.values() if args.all or identity.source == "mapping"
    ]
    shown.sort(key=lambda identity: (identity.name.lower(), identity.key_id))
    records: list[dict[str, Any]] = []
    rows: list[list[object]] = []
    for identity in shown:
        mapping = mappings.get(identity.key_id)
        synced = directory.keys.get(identity.key_id)
        created = mapping.created_at if mapping else (synced.created_at if synced else None)
        spent, cost = usage.get(identity.key_id, (ZERO_USAGE, Decimal(0)))
        status = "active" if identity.active else "inactive"
        records.append(
            {
                "key_id": identity.key_id,
                "name": identity.name,
                "owner": identity.owner,
                "team": identity.team,
                "status": status,
                "description": identity.description,
                "created_at": created,
                "source": identity.source,
                "project_id": identity.project_id,
                "project_name": identity.project_name,
                "budget": _budget_json(identity.budget),
                "usage": {
                    "total_tokens": spent.total_tokens,
                    "requests": spent.requests,
                    "cost_usd": cost,
                    "billed_usd": spent.billed_usd,
                    "estimated_usd": spent.estimated_usd,
                    "unpriced_tokens": spent.unpriced_tokens,
                },
            }
        )
        rows.append(
            [
                identity.name,
                identity.key_id,
                identity.owner or "-",
                identity.team or "-",
                status,
                identity.description or "-",
                _date(created),
                f"{spent.total_tokens:,}",
                cost_text(cost, spent.unpriced_tokens),
                f"{spent.requests:,}",
            ]
        )
    headers = [
        "NAME",
        "KEY ID",
        "OWNER",
        "TEAM",
        "STATUS",
        "DESCRIPTION",
        "CREATED",
        "TOKENS",
        "COST",
        "CALLS",
    ]
    lines = text_table(headers, rows) if rows else ["no key mappings yet: add one with `add-key`"]
    lines.append(
        f"usage {first} .. {last} (UTC, {args.days} days); cost is billed where settled, else estimated"
    )
    emit(args, {"from": first, "to": last, "days": args.days, "keys": records}, lines)
    return 0


# -- remove-key ------------------------------------------------------------------------------
def find_mapping(mappings: Sequence[KeyMapping], name_or_id: str) -> KeyMapping:
    """The mapping a person named: by key id, else by exact name, else by name ignoring case."""
    wanted = name_or_id.strip()
    if not wanted:
        raise InvalidInput("key", "give a key id or a mapping name")
    for mapping in mappings:
        if mapping.key_id == wanted:
            return mapping
    matches = [mapping for mapping in mappings if mapping.name == wanted]
    if not matches:
        matches = [mapping for mapping in mappings if mapping.name.casefold() == wanted.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound("key", f"no mapping has the id or name {wanted!r}")
    listed = ", ".join(f"{m.key_id} ({m.name!r}, team {m.team or '-'})" for m in matches)
    raise InvalidInput("key", f"{wanted!r} names several mappings: {listed}; give the key id")


def run_remove_key(args: argparse.Namespace) -> int:
    """Delete one mapping; usage items are never touched."""
    store = DirectoryStore()
    mapping = find_mapping(store.list_mappings(), args.key)
    store.delete_mapping(mapping.key_id)
    emit(
        args,
        {"action": "removed", "mapping": mapping_json(mapping)},
        [f"removed the mapping of {mapping.key_id} ({mapping.name!r}); its usage history is kept"],
    )
    return 0


# -- directory -------------------------------------------------------------------------------
def run_sync(args: argparse.Namespace) -> int:
    """Sync the directory from OpenAI now."""
    from chalicelib.openai_api import OpenAIAdminClient  # noqa: PLC0415
    from chalicelib.secrets import get_admin_key  # noqa: PLC0415

    settings = get_settings()
    client = OpenAIAdminClient(settings.openai_base_url, get_admin_key(settings))
    report = sync_directory(client, DirectoryStore(), clock.now())
    lines = [
        f"synced {report.projects} projects, {report.keys} keys and {report.users} users "
        f"from {settings.openai_base_url} ({report.api_calls} API calls)",
        f"{report.items_written} items written",
    ]
    if report.unmapped_cleared:
        lines.append(f"now named (no longer unmapped): {', '.join(report.unmapped_cleared)}")
    if report.projects_without_keys:
        lines.append(f"key lists refused (kept as stored): {', '.join(report.projects_without_keys)}")
    emit(args, {**asdict(report), "base_url": settings.openai_base_url}, lines)
    return 0


def run_directory_list(args: argparse.Namespace) -> int:
    """Show the stored directory keys (with their project and owner) and the unmapped keys."""
    store = DirectoryStore()
    directory = store.directory()
    unmapped = store.list_unmapped()
    keys = sorted(directory.keys.values(), key=lambda key: (key.project_id, key.name.lower(), key.key_id))
    rows = []
    for key in keys:
        project = directory.projects.get(key.project_id)
        rows.append(
            [
                key.name or "-",
                key.key_id,
                key.redacted_value or "-",
                project.name if project else key.project_id,
                key.owner_name or key.owner_email or "-",
                "deleted" if key.deleted_at else "listed",
                _date(key.last_used_at),
            ]
        )
    lines = text_table(["NAME", "KEY ID", "REDACTED", "PROJECT", "OWNER", "STATE", "LAST USED"], rows)
    if not rows:
        lines = ["the directory is empty: run `directory sync`"]
    if unmapped:
        lines.append("")
        lines += text_table(
            ["UNMAPPED KEY ID", "FIRST SEEN", "LAST SEEN"],
            [[entry.key_id, _date(entry.first_seen), _date(entry.last_seen)] for entry in unmapped],
        )
    emit(
        args,
        {
            "keys": [asdict(key) for key in keys],
            "projects": [asdict(project) for project in directory.projects.values()],
            "users": [asdict(user) for user in directory.users.values()],
            "unmapped": [asdict(entry) for entry in unmapped],
        },
        lines,
    )
    return 0
