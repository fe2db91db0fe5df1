"""`import-mappings` and `export-mappings`: key names in and out of JSON files.

Two formats:

legacy   the earlier Next.js tracker's `apiKeyMappings.json`: one object, key id -> display name,
         `{"key_abc": "Ada Lovelace"}`. `export-mappings` writes exactly this by default, so the old
         tool (which reads the file as `Record<string, string>`) keeps working with it; our extra
         fields cannot live in it without breaking that reader.
full     `export-mappings --full`: every field of every mapping, for backups and moving between stages:
         `{"format": "openai-usage-tracker/key-mappings", "version": 1,
           "mappings": {"key_abc": {"name": ..., "owner": ..., "team": ..., "description": ...,
                                    "budget": {"period": "monthly", "unit": "usd", "amount": "50"},
                                    "active": true, "api_key_sha256": ..., "api_key_last4": ...,
                                    "created_at": ..., "updated_at": ...}}}`
         (budget amounts are strings so no precision is lost).

`import-mappings` reads either (it tells them apart by the `format` field), validates every entry
before writing anything, and is idempotent: entries equal to what is stored are not written again.
A legacy entry changes only the name of an existing mapping; a full entry replaces all its fields.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.cli.common import add_command, emit
from chalicelib.errors import InvalidInput, TrackerError
from chalicelib.keys.model import KeyMapping
from chalicelib.keys.validate import new_mapping, parse_budget, validate_key_id
from chalicelib.query import clock
from chalicelib.store.directory import DirectoryStore

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers

FULL_FORMAT = "openai-usage-tracker/key-mappings"
FULL_VERSION = 1
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 10
_SHA256_HEX = frozenset("0123456789abcdef")


def register(subparsers: Subparsers) -> None:
    """Add `import-mappings` and `export-mappings`."""
    importing = add_command(
        subparsers,
        "import-mappings",
        summary="import key names from apiKeyMappings.json (or an export-mappings --full file)",
        handler=run_import,
    )
    importing.add_argument("file", metavar="FILE.json", help='{"key_...": "Name", ...} or a --full export')
    importing.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")

    exporting = add_command(
        subparsers,
        "export-mappings",
        summary="export key names in the old tracker's format, or with --full every field",
        handler=run_export,
    )
    exporting.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    exporting.add_argument(
        "--full", action="store_true", help="every field (owner, team, budget, ...), for backups and restores"
    )


# -- parsing ---------------------------------------------------------------------------------
@dataclass
class ImportPlan:
    """What an import would do."""

    added: list[KeyMapping] = field(default_factory=list)
    updated: list[KeyMapping] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def writes(self) -> list[KeyMapping]:
        """The mappings to write."""
        return self.added + self.updated


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise InvalidInput("FILE", f"the key {name!r} appears twice")
        seen[name] = value
    return seen


def load_document(path: str) -> Any:
    """The parsed JSON of `path` (or stdin for '-'); problems are InvalidInput naming the file."""
    try:
        if path == "-":
            text = sys.stdin.read(MAX_FILE_BYTES + 1)
        else:
            file = Path(path)
            if file.stat().st_size > MAX_FILE_BYTES:
                raise InvalidInput("FILE", f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InvalidInput("FILE", f"{path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("FILE", f"{path} cannot be read: {exc}") from exc
    if len(text) > MAX_FILE_BYTES:
        raise InvalidInput("FILE", f"input is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "FILE", f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from exc


def _entry_mapping(key_id: str, value: Any, now: int, full: bool) -> KeyMapping:
    if not full:
        return new_mapping(key_id, value, now)
    if not isinstance(value, Mapping):
        raise InvalidInput("mapping", "must be an object with at least a name")
    budget_value = value.get("budget")
    budget = None
    if budget_value is not None:
        if not isinstance(budget_value, Mapping):
            raise InvalidInput("budget", "must be an object with period, unit and amount")
        budget = parse_budget(
            budget_value.get("amount"), budget_value.get("unit"), budget_value.get("period")
        )
    active = value.get("active", True)
    if not isinstance(active, bool):
        raise InvalidInput("active", "must be true or false")
    sha256, last4 = value.get("api_key_sha256"), value.get("api_key_last4")
    if sha256 is not None and (not isinstance(sha256, str) or len(sha256) != 64 or set(sha256) - _SHA256_HEX):
        raise InvalidInput("api_key_sha256", "must be 64 lowercase hex digits")
    if last4 is not None and (not isinstance(last4, str) or len(last4) != 4):
        raise InvalidInput("api_key_last4", "must be four characters")
    mapping = new_mapping(
        key_id,
        value.get("name"),
        now,
        owner=value.get("owner"),
        team=value.get("team"),
        description=value.get("description"),
        budget=budget,
        active=active,
        api_key_sha256=sha256,
        api_key_last4=last4,
    )
    created = value.get("created_at")
    if isinstance(created, int) and not isinstance(created, bool) and 0 < created <= now:
        mapping = replace(mapping, created_at=created)
    return mapping


def parse_document(document: Any, now: int) -> tuple[bool, list[KeyMapping]]:
    """(is full format, validated mappings); every problem is reported at once."""
    if not isinstance(document, dict):
        raise InvalidInput("FILE", 'must be a JSON object like {"key_...": "Name"}')
    full = "format" in document
    entries: Any = document
    if full:
        if document.get("format") != FULL_FORMAT or document.get("version") != FULL_VERSION:
            raise InvalidInput("FILE", f"unknown format: expected {FULL_FORMAT!r} version {FULL_VERSION}")
        entries = document.get("mappings")
        if not isinstance(entries, dict):
            raise InvalidInput("FILE", "'mappings' must be an object of key id -> mapping")
    mappings: list[KeyMapping] = []
    problems: list[str] = []
    for raw_id, value in entries.items():
        try:
            key_id = validate_key_id(raw_id, "key id")
            if key_id != raw_id:
                raise InvalidInput("key id", "must not have surrounding spaces")
            mappings.append(_entry_mapping(key_id, value, now, full))
        except InvalidInput as exc:
            problems.append(f"{raw_id!r}: {exc}")
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = (
            f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        )
        raise InvalidInput("FILE", f"{len(problems)} invalid entries, nothing imported: {shown}{more}")
    return full, mappings


def _comparable(mapping: KeyMapping) -> KeyMapping:
    return replace(mapping, created_at=0, updated_at=0)


def plan_import(
    existing: Mapping[str, KeyMapping], incoming: list[KeyMapping], full: bool, now: int
) -> ImportPlan:
    """Compare the file with what is stored: legacy entries rename, full entries replace."""
    plan = ImportPlan()
    for mapping in incoming:
        current = existing.get(mapping.key_id)
        if current is None:
            plan.added.append(mapping)
            continue
        wanted = (
            replace(mapping, created_at=current.created_at, updated_at=now)
            if full
            else replace(current, name=mapping.name, updated_at=now)
        )
        if _comparable(wanted) == _comparable(current):
            plan.unchanged.append(mapping.key_id)
        else:
            plan.updated.append(wanted)
    return plan


# -- commands --------------------------------------------------------------------------------
def run_import(args: argparse.Namespace) -> int:
    """Validate the whole file, then write only what differs from the store."""
    now = clock.now()
    full, incoming = parse_document(load_document(args.file), now)
    store = DirectoryStore()
    plan = plan_import({m.key_id: m for m in store.list_mappings()}, incoming, full, now)
    if not args.dry_run:
        store.put_mappings(plan.writes)
    counts = {"added": len(plan.added), "updated": len(plan.updated), "unchanged": len(plan.unchanged)}
    verb = "would import" if args.dry_run else "imported"
    emit(
        args,
        {
            **counts,
            "entries": len(incoming),
            "format": "full" if full else "legacy",
            "dry_run": args.dry_run,
            "added_ids": [m.key_id for m in plan.added],
            "updated_ids": [m.key_id for m in plan.updated],
        },
        [
            f"{verb} {len(incoming)} mappings from {args.file} ({'full' if full else 'legacy'} format): "
            f"{counts['added']} added, {counts['updated']} updated, {counts['unchanged']} unchanged"
        ],
    )
    return 0


def legacy_document(mappings: list[KeyMapping]) -> dict[str, str]:
    """`{"key_...": "Name"}`, by key id: what the old tracker reads."""
    return {mapping.key_id: mapping.name for mapping in sorted(mappings, key=lambda m: m.key_id)}


def full_document(mappings: list[KeyMapping]) -> dict[str, Any]:
    """Every field of every mapping (see the module docstring)."""
    entries: dict[str, Any] = {}
    for mapping in sorted(mappings, key=lambda m: m.key_id):
        budget = mapping.budget
        entries[mapping.key_id] = {
            "name": mapping.name,
            "owner": mapping.owner,
            "team": mapping.team,
            "description": mapping.description,
            "budget": (
                {"period": budget.period, "unit": budget.unit, "amount": format(budget.amount, "f")}
                if budget
                else None
            ),
            "active": mapping.active,
            "api_key_sha256": mapping.api_key_sha256,
            "api_key_last4": mapping.api_key_last4,
            "created_at": mapping.created_at,
            "updated_at": mapping.updated_at,
        }
    return {"format": FULL_FORMAT, "version": FULL_VERSION, "mappings": entries}


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temporary).replace(target)
    except OSError as exc:
        raise TrackerError(f"cannot write {path}: {exc.strerror or exc}") from exc


def run_export(args: argparse.Namespace) -> int:
    """Print or write the mappings."""
    mappings = DirectoryStore().list_mappings()
    document = full_document(mappings) if args.full else legacy_document(mappings)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if not args.output:
        sys.stdout.write(text)
        return 0
    _write_atomically(args.output, text)
    emit(
        args,
        {"output": args.output, "count": len(mappings), "format": "full" if args.full else "legacy"},
        [f"wrote {len(mappings)} mappings to {args.output} ({'full' if args.full else 'legacy'} format)"],
    )
    return 0
