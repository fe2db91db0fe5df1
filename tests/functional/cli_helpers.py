"""Shared by the CLI tests: the command line run in-process (`chalicelib.cli.main.main`, the entry point
of `python -m chalicelib.cli`) with what it printed, and key ids no other test uses.

    run(capsys, *argv)       (exit code, stdout, stderr) of one command
    run_json(capsys, *argv)  the parsed output of `--json ARGV`, a command that must succeed
    refused(capsys, *argv)   the stderr of a command refused as a usage error (exit 2, no stdout)
    new_key_id()             a fresh `key_...` id
    add_key(capsys, *extra)  `add-key` of a fresh id named "Support bot" (owner, team, description
                             set), plus `extra` flags; its id
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.cli import main as cli_main

Capsys = pytest.CaptureFixture[str]


def new_key_id() -> str:
    """A key id unique to the caller, so tests sharing a table never meet."""
    return "key_" + uuid.uuid4().hex[:16]


def run(capsys: Capsys, *argv: str) -> tuple[int, str, str]:
    """Run one command line; its exit code and what it wrote to stdout and stderr."""
    code = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: Capsys, *argv: str) -> Any:
    """The `--json` output of a command that must exit 0 (its stderr is the failure message)."""
    code, out, err = run(capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def refused(capsys: Capsys, *argv: str) -> str:
    """What a command refused as the user's mistake wrote to stderr: it exits 2 and prints no result."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    return err


def add_key(capsys: Capsys, *extra: str) -> str:
    """Map a fresh key through `add-key` with every text field set; its id."""
    key_id = new_key_id()
    code, _, err = run(
        capsys, "add-key", "--key-id", key_id, "--name", "Support bot", "--owner", "Grace",
        "--team", "Support", "--description", "answers tickets", *extra,
    )  # fmt: skip
    assert code == 0, err
    return key_id
