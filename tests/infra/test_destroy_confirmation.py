"""Destroying a stage is never a default: `make destroy` needs STAGE spelled out, and every stage (not
only prod) asks for a confirmation before anything is removed, on the local moto target."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy import stack
from deploy.cli import EXIT_REFUSED, main
from deploy.names import stack_name
from deploy.stack import describe_stack
from deploy.target import Target

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the operator's answer already typed."""

    def isatty(self) -> bool:
        return True


def _make(*argv: str) -> subprocess.CompletedProcess[str]:
    # without the caller's make variables (a `make test STAGE=...` would pass STAGE down)
    env = {name: value for name, value in os.environ.items() if name not in ("MAKEFLAGS", "MFLAGS", "STAGE")}
    return subprocess.run(
        ["make", "--no-print-directory", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_make_destroy_without_an_explicit_stage_refuses():
    refused = _make("destroy")
    assert refused.returncode == 2
    assert "make destroy needs an explicit stage" in refused.stderr
    planned = _make("-n", "destroy", "STAGE=dev")
    assert planned.returncode == 0, planned.stderr
    assert "-m deploy destroy --stage dev" in planned.stdout


def _destroy(project: Path, stdin: io.StringIO, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(
        ["destroy", "--stage", "dev", "--local", *extra, "--project-dir", str(project)], out=out, stdin=stdin
    )
    return code, out.getvalue()


def test_destroying_dev_asks_for_the_stage_name_and_refuses_without_it(
    local_target: Target,
    project: Path,
    clean_stages: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack.deploy_stack(local_target, "dev", project, out=io.StringIO())

    code, _ = _destroy(project, io.StringIO(""))  # no terminal, no --yes
    assert code == EXIT_REFUSED
    assert "destroy on dev needs confirmation" in capsys.readouterr().err
    code, out = _destroy(project, Terminal("prod\n"))  # the wrong answer
    assert code == EXIT_REFUSED
    assert "Type the stage name" in out
    assert describe_stack(local_target.cloudformation(), stack_name("dev")) is not None

    code, out = _destroy(project, Terminal("dev\n"))
    assert code == 0, out
    assert describe_stack(local_target.cloudformation(), stack_name("dev")) is None


def test_destroy_with_yes_asks_nothing(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    stack.deploy_stack(local_target, "dev", project, out=io.StringIO())
    code, out = _destroy(project, io.StringIO(""), "--yes")
    assert code == 0, out
    assert describe_stack(local_target.cloudformation(), stack_name("dev")) is None
