"""Running the chalice CLI for a stage, and reading back what it deployed.

Chalice imports app.py in its own process to analyse it, so the stage's environment variables are
exported into that process too: anything app.py needs at import (a schedule rate, a CORS origin)
sees the same values the functions will.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from deploy.chalice_config import load_config, stage_environment

if TYPE_CHECKING:
    from mypy_boto3_logs.client import CloudWatchLogsClient

    from deploy.target import Target


class ChaliceError(Exception):
    """The chalice CLI failed or could not be found."""


def executable() -> str:
    """The chalice script next to this interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("chalice")
    if beside.is_file():
        return str(beside)
    found = shutil.which("chalice")
    if not found:
        raise ChaliceError("the chalice CLI is not installed (pip install -r requirements-dev.txt)")
    return found


def environment(project_dir: Path, stage: str, target: Target | None) -> dict[str, str]:
    """The chalice process's environment: ours, the stage's variables, the target's region pinned."""
    env = dict(os.environ)
    env.update(stage_environment(load_config(project_dir / ".chalice" / "config.json"), stage))
    if target is not None:
        # The region printed before any change is the region chalice deploys to.
        env["AWS_DEFAULT_REGION"] = target.region
        env["AWS_REGION"] = target.region
    return env


def run(args: list[str], project_dir: Path, env: dict[str, str]) -> None:
    """Run `chalice <args>` in the project directory; ChaliceError on a non-zero exit."""
    command = [executable(), *args]
    print(f"  $ chalice {' '.join(args)}", flush=True)
    completed = subprocess.run(command, cwd=project_dir, env=env, check=False)  # noqa: S603 - fixed argv, no shell
    if completed.returncode != 0:
        raise ChaliceError(f"chalice {args[0]} exited with {completed.returncode}")


def deployed_record(project_dir: Path, stage: str) -> dict[str, Any] | None:
    """`.chalice/deployed/<stage>.json`, written by `chalice deploy` on this machine, if any."""
    path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def api_url(project_dir: Path, stage: str) -> str | None:
    """The REST API's URL from the deployed record; None when no REST API was deployed."""
    record = deployed_record(project_dir, stage) or {}
    for resource in record.get("resources", []):
        if resource.get("resource_type") == "rest_api" and resource.get("rest_api_url"):
            return str(resource["rest_api_url"])
    return None


def log_retention_days(project_dir: Path, stage: str) -> int | None:
    """The stage's `log_retention_in_days` (stage value, else top-level), if set."""
    config = load_config(project_dir / ".chalice" / "config.json")
    value = (
        config.get("stages", {})
        .get(stage, {})
        .get("log_retention_in_days", config.get("log_retention_in_days"))
    )
    return int(value) if value else None


def api_handler_log_group(project_dir: Path, stage: str) -> str | None:
    """The log group the deployed API handler really writes to, if one was deployed."""
    for resource in (deployed_record(project_dir, stage) or {}).get("resources", []):
        if resource.get("resource_type") == "lambda_function" and resource.get("name") == "api_handler":
            return f"/aws/lambda/{str(resource['lambda_arn']).rsplit(':', 1)[-1]}"
    return None


def fix_api_handler_log_retention(logs: CloudWatchLogsClient, group: str, days: int) -> None:
    """Apply the retention chalice meant for the API handler.

    `chalice deploy` gives the API handler's retention to `/aws/lambda/<app>-<stage>-api_handler`, but the
    function is named `<app>-<stage>` (aws/chalice#2079), so its real log group would keep logs forever.
    """
    try:
        logs.create_log_group(logGroupName=group)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=group, retentionInDays=days)
