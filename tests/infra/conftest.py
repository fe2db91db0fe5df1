"""Fixtures for the deployment tests: a throwaway copy of the project, and the infra stack's clean-up.

The deploy scripts run against the session's moto server (the shared `local_aws` fixture) with
`--local`; every client they make goes to AWS_ENDPOINT_URL, so the table CloudFormation creates lives
in moto, not in DynamoDB Local.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from deploy.names import stack_name, table_name
from deploy.target import Target, resolve_target

ROOT = Path(__file__).resolve().parents[2]


def write_site(frontend: Path) -> None:
    """A tiny dashboard: the kinds of file the real one has."""
    (frontend / "vendor").mkdir(parents=True)
    (frontend / "index.html").write_text('<!doctype html><script src="config.js"></script><p>hi</p>\n')
    (frontend / "app.js").write_text("console.log(window.TRACKER_CONFIG);\n")
    (frontend / "app.css").write_text(":root { --bg: #111; }\n")
    (frontend / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    (frontend / "vendor" / "uplot-1.6.30.min.js").write_text("/* uPlot */\n")
    (frontend / "vendor" / "uplot-1.6.30.min.css").write_text("/* uPlot css */\n")
    (frontend / "config.js").write_text("window.TRACKER_CONFIG = {apiUrl: 'http://127.0.0.1:8000/'};\n")
    (frontend / ".DS_Store").write_bytes(b"\0")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What the deploy scripts read and write, copied: .chalice/, infra/, a small frontend/."""
    root = tmp_path / "project"
    (root / ".chalice").mkdir(parents=True)
    for name in ("config.json", "policy-dev.json", "policy-prod.json"):
        shutil.copy(ROOT / ".chalice" / name, root / ".chalice" / name)
    shutil.copytree(ROOT / "infra", root / "infra")
    write_site(root / "frontend")
    return root


@pytest.fixture
def local_target(local_aws: object) -> Target:
    """The moto server as a deployment target (what `--local` resolves to)."""
    return resolve_target(local=True)


def _delete_stage(target: Target, stage: str) -> None:
    cfn = target.cloudformation()
    try:
        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in cfn.describe_stacks(StackName=stack_name(stage))["Stacks"][0].get("Outputs", [])
        }
    except ClientError:
        outputs = {}
    s3 = boto3.resource("s3", endpoint_url=target.endpoint)
    for key in ("BucketName", "ViewsBucketName"):
        if outputs.get(key):
            with contextlib.suppress(ClientError):
                s3.Bucket(outputs[key]).objects.all().delete()
    with contextlib.suppress(ClientError):
        cfn.delete_stack(StackName=stack_name(stage))
    ddb = target.dynamodb()
    try:
        ddb.update_table(TableName=table_name(stage), DeletionProtectionEnabled=False)
        ddb.delete_table(TableName=table_name(stage))
    except ClientError:
        pass
    with contextlib.suppress(ClientError):
        target.secretsmanager().delete_secret(
            SecretId=f"openai-usage-tracker/{stage}/openai-admin-key", ForceDeleteWithoutRecovery=True
        )


@pytest.fixture
def clean_stages(local_target: Target) -> Iterator[Callable[[str], None]]:
    """Both stages' stacks, tables and secrets gone before and after the test (they have fixed names)."""
    for stage in ("dev", "prod"):
        _delete_stage(local_target, stage)
    yield lambda stage: _delete_stage(local_target, stage)
    for stage in ("dev", "prod"):
        _delete_stage(local_target, stage)
