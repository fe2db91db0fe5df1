"""The parser, the list of commands, and how errors become exit codes.

Exit codes: 0 success; 1 a TrackerError or an AWS failure (message on stderr, no traceback);
2 bad input (chalicelib.errors.InvalidInput, or argparse's usage errors); 130 interrupted.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from chalicelib import __version__
from chalicelib.cli import (
    alerts,
    collect,
    digest,
    edit,
    forecast,
    hygiene,
    init,
    keys,
    mappings,
    monitor,
    reconcile,
    reports,
    stage,
    tokens,
    usage,
)
from chalicelib.errors import InvalidInput, TrackerError
from chalicelib.observability import log_to_stderr
from chalicelib.validation import terminal_text

COMMANDS = (
    init,
    collect,
    keys,
    edit,
    mappings,
    alerts,
    usage,
    tokens,
    reports,
    monitor,
    reconcile,
    forecast,
    hygiene,
    digest,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options, then one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.cli",
        description="OpenAI Usage Tracker: operate the tracker against the AWS the environment names.",
    )
    parser.add_argument("--json", action="store_true", default=False, help="print results as JSON")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    stage.add_option(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"error: {terminal_text(message)}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    log_to_stderr()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed already
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    try:
        if args.stage:
            stage.apply_stage(args.stage)
        code: int = args.handler(args)
    except InvalidInput as exc:
        return _fail(str(exc), EXIT_INVALID)
    except TrackerError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        # botocore is imported by the commands that talk to AWS; a failure there is operational.
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        if isinstance(exc, BotoCoreError | ClientError):
            return _fail(f"AWS: {exc}", EXIT_FAILED)
        raise
    return code
