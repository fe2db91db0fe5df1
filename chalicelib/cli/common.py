"""What every command shares: registering a subcommand with the common options, and printing results.

Conventions: results go to stdout, as text for people or, with `--json` (accepted before or after the
command name), as one JSON object for scripts; messages about failures go to stderr. Text lines go
through `terminal_text`: names are other people's input, and an escape sequence in one must not
retitle or rewrite the operator's terminal (JSON escapes them itself: ensure_ascii).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from chalicelib.validation import terminal_text

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler: TypeAlias = Callable[[argparse.Namespace], int]


def _common_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: when absent after the command, the value given (or defaulted) before it stands.
    parent.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    return parent


def add_command(
    subparsers: Subparsers, name: str, *, summary: str, handler: Handler, description: str | None = None
) -> argparse.ArgumentParser:
    """Add subcommand `name` run by `handler(args) -> exit code`; returns its parser for its own options."""
    parser = subparsers.add_parser(
        name, help=summary, description=description or summary, parents=[_common_options()]
    )
    parser.set_defaults(handler=handler)
    return parser


def add_group(subparsers: Subparsers, name: str, *, summary: str) -> Subparsers:
    """Add command `name` whose work is its actions (`alerts list`, `digest preview`), each added with
    `add_command` on the returned subparsers; run without an action, it prints its help and exits 2."""
    parser = add_command(subparsers, name, summary=summary, handler=lambda _args: _help(parser))
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")  # money keeps full precision as a string
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def emit(args: argparse.Namespace, payload: Mapping[str, Any], lines: Iterable[str]) -> None:
    """Print `payload` as JSON with --json, else the human-readable `lines`."""
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, sort_keys=True, default=_json_default))
    else:
        for line in lines:
            print(terminal_text(line))
