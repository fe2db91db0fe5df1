"""`update-key`: change some fields of an existing key mapping and leave the others as they are.

    update-key NAME|ID [--name N] [--owner O] [--team T] [--description D]
               [--budget AMOUNT [--budget-unit tokens|usd] [--budget-period monthly|daily]]
               [--clear-budget] [--active | --inactive]

The edit is `PATCH /api/keys/{id}`'s (chalicelib.query.keys.update_key): the same validators, and a
conditional write that refuses to overwrite a change made meanwhile. An empty value (`--team ""`)
clears that field. `--budget` alone keeps the unit and period of the budget the key already has.
Errors name the flag that was typed, not the API's field.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.cli.keys import find_mapping, mapping_json
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.keys.model import BUDGET_PERIODS, BUDGET_UNITS, KeyMapping
from chalicelib.query import clock
from chalicelib.query.keys import update_key
from chalicelib.store.directory import DirectoryStore

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

TEXT_FIELDS = ("name", "owner", "team", "description")
# API body field (as InvalidInput.param names it) -> the flag a person typed
FLAGS = {
    "name": "--name",
    "owner": "--owner",
    "team": "--team",
    "description": "--description",
    "budget": "--budget",
    "budget.amount": "--budget",
    "budget.unit": "--budget-unit",
    "budget.period": "--budget-period",
    "active": "--active/--inactive",
    "updated_at": "KEY",
}


def register(subparsers: Subparsers) -> None:
    """Add `update-key`."""
    parser = add_command(
        subparsers,
        "update-key",
        summary="change some fields of a key mapping (the others stay as they are)",
        description="Change the given fields of an existing mapping; every other field is kept. "
        'An empty value (--team "") clears a field.',
        handler=run,
    )
    parser.add_argument("key", metavar="NAME|ID", help="the key id, or the mapping's exact name")
    parser.add_argument("--name", help="new display name")
    parser.add_argument("--owner", help="the person responsible for the key")
    parser.add_argument("--team", help="the team the key's usage counts towards")
    parser.add_argument("--description", help="what the key is used for")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--budget", metavar="AMOUNT", help="a positive budget (tokens or USD)")
    budget.add_argument("--clear-budget", action="store_true", help="remove the key's budget")
    parser.add_argument("--budget-unit", choices=BUDGET_UNITS, help="unit of --budget (default: as before)")
    parser.add_argument(
        "--budget-period", choices=BUDGET_PERIODS, help="period of --budget (default: as before)"
    )
    active = parser.add_mutually_exclusive_group()
    active.add_argument("--active", dest="active", action="store_const", const=True, help="mark active")
    active.add_argument("--inactive", dest="active", action="store_const", const=False, help="mark inactive")


def patch_body(args: argparse.Namespace, existing: KeyMapping) -> dict[str, Any]:
    """The PATCH body this command line means: only the fields given, and the version read."""
    body: dict[str, Any] = {
        name: getattr(args, name) for name in TEXT_FIELDS if getattr(args, name) is not None
    }
    if args.active is not None:
        body["active"] = args.active
    if args.clear_budget:
        body["budget"] = None
    elif args.budget is not None:
        before = existing.budget
        body["budget"] = {
            "amount": args.budget,
            "unit": args.budget_unit or (before.unit if before else "tokens"),
            "period": args.budget_period or (before.period if before else "monthly"),
        }
    elif args.budget_unit or args.budget_period:
        raise InvalidInput("--budget-unit", "--budget-unit and --budget-period need --budget AMOUNT")
    if not body:
        raise InvalidInput(
            "update-key",
            "nothing to change: give --name, --owner, --team, --description, --budget, --clear-budget, "
            "--active or --inactive",
        )
    body["updated_at"] = existing.updated_at
    return body


def run(args: argparse.Namespace) -> int:
    """Apply the edit and print the mapping as it now is."""
    store = DirectoryStore()
    try:
        existing = find_mapping(store.list_mappings(), args.key)
    except NotFound as exc:
        raise NotFound("key", f"{exc.message}: name it first with add-key --key-id ... --name ...") from exc
    body = patch_body(args, existing)
    try:
        update_key(existing.key_id, body, clock.now())
    except Conflict as exc:
        raise Conflict(
            "key",
            f"the mapping of {existing.key_id} changed since it was read (another edit landed first); "
            "nothing was changed: run update-key again",
        ) from exc
    except InvalidInput as exc:
        raise InvalidInput(FLAGS.get(exc.param, exc.param), exc.message) from exc
    updated = store.get_mapping(existing.key_id) or existing
    changed = sorted(name for name in body if name != "updated_at")
    emit(
        args,
        {"action": "updated", "changed": changed, "mapping": mapping_json(updated)},
        [f"updated {updated.key_id} ({updated.name!r}): {', '.join(changed)}; other fields unchanged"],
    )
    return 0
