"""The infra stack (infra/template.yaml): create or update it and wait, read its outputs, adopt a
table an earlier `destroy` kept, delete it.

Re-running with nothing changed is a no-op (CloudFormation answers "No updates are to be performed").
Plain CreateStack/UpdateStack rather than change sets: moto's change sets leave a stack without
outputs, and one code path, tested locally, is worth more than a preview nobody pauses to read. The
resources each run touched are printed from the stack's events afterwards. Only adopting a kept
table needs a change set (IMPORT), which moto does not support.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import ClientError, WaiterError

from deploy import cfn_yaml
from deploy.names import APP_NAME, secret_name, stack_name, table_name

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import (
        DescribeChangeSetOutputTypeDef,
        ParameterTypeDef,
        StackTypeDef,
    )
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from deploy.target import Target

TABLE_LOGICAL_ID = "UsageTable"
_BUSY_SUFFIX = "_IN_PROGRESS"


class StackError(Exception):
    """The infra stack could not be brought to the wanted state."""


@dataclass(frozen=True)
class Waits:
    """How often and how long to poll CloudFormation (a new CloudFront distribution takes minutes)."""

    delay: int = 10
    max_attempts: int = 240

    def config(self) -> dict[str, int]:
        return {"Delay": self.delay, "MaxAttempts": self.max_attempts}


LOCAL_WAITS = Waits(delay=1, max_attempts=120)


def template_path(project_dir: Path) -> Path:
    return project_dir / "infra" / "template.yaml"


def describe_stack(cfn: CloudFormationClient, name: str) -> StackTypeDef | None:
    """The stack, or None when it does not exist."""
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        # DescribeStacks answers a missing stack with the generic ValidationError code.
        if exc.response["Error"]["Code"] == "ValidationError":
            return None
        raise


def outputs_of(stack: StackTypeDef | None) -> dict[str, str]:
    if stack is None:
        return {}
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def read_outputs(target: Target, stage: str) -> dict[str, str]:
    """The outputs of the stage's stack (empty when there is no stack), completed locally."""
    outputs = outputs_of(describe_stack(target.cloudformation(), stack_name(stage)))
    if outputs and target.local:
        outputs = complete_local_outputs(target, stage, outputs)
    return outputs


def _parameters(stage: str, local: bool, alert_email: str | None, existing: bool) -> list[ParameterTypeDef]:
    params: list[ParameterTypeDef] = [
        {"ParameterKey": "Stage", "ParameterValue": stage},
        {"ParameterKey": "LocalEmulator", "ParameterValue": "true" if local else "false"},
    ]
    if alert_email is not None:
        params.append({"ParameterKey": "AlertEmail", "ParameterValue": alert_email})
    elif existing:
        # Not given this time: keep whatever subscription address the stack already has.
        params.append({"ParameterKey": "AlertEmail", "UsePreviousValue": True})
    if existing:
        params.append({"ParameterKey": "PriceClass", "UsePreviousValue": True})
    return params


def _tags(stage: str) -> list[dict[str, str]]:
    return [{"Key": "app", "Value": APP_NAME}, {"Key": "stage", "Value": stage}]


def _wait_change_set(cfn: CloudFormationClient, arn: str, waits: Waits) -> DescribeChangeSetOutputTypeDef:
    for _ in range(waits.max_attempts):
        change_set = cfn.describe_change_set(ChangeSetName=arn)
        if change_set["Status"] in {"CREATE_COMPLETE", "FAILED"}:
            return change_set
        time.sleep(waits.delay)
    raise StackError(f"change set {arn} did not finish in time")


def _nothing_to_update(exc: ClientError) -> bool:
    # CloudFormation has no error code of its own for "this update changes nothing": it is a
    # ValidationError whose message is the documented sentence below, so this reads message text.
    error = exc.response["Error"]
    return error["Code"] == "ValidationError" and "No updates are to be performed" in error.get("Message", "")


def _failure_events(cfn: CloudFormationClient, name: str, limit: int = 10) -> list[str]:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return []
    failed = [e for e in events if e.get("ResourceStatus", "").endswith("FAILED")]
    return [
        f"{e.get('LogicalResourceId')} {e.get('ResourceStatus')}: {e.get('ResourceStatusReason', '')}"
        for e in failed[:limit]
    ]


def _wait_stack(cfn: CloudFormationClient, name: str, waiter: str, waits: Waits) -> None:
    try:
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig=waits.config())  # type: ignore[call-overload]
    except WaiterError as exc:
        details = "\n  ".join(_failure_events(cfn, name)) or str(exc)
        raise StackError(f"stack {name} did not reach the wanted state:\n  {details}") from exc


def _print_resource_changes(cfn: CloudFormationClient, name: str, since: datetime, out: TextIO) -> None:
    """The resources this operation created, updated or deleted, oldest first."""
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    for event in reversed(events):
        status = event.get("ResourceStatus", "")
        if event["Timestamp"] < since or event.get("ResourceType") == "AWS::CloudFormation::Stack":
            continue
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            print(
                f"    {status:<16} {event.get('LogicalResourceId')} [{event.get('ResourceType')}]", file=out
            )


def _create_or_update(
    cfn: CloudFormationClient,
    *,
    name: str,
    existing: bool,
    template_body: str,
    parameters: Sequence[ParameterTypeDef],
    stage: str,
    waits: Waits,
    out: TextIO,
) -> bool:
    """Create the stack, or update it, and wait; False when the update had nothing to change."""
    since = datetime.now(UTC) - timedelta(seconds=5)
    common: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": template_body,
        "Parameters": list(parameters),
        "Tags": _tags(stage),
    }
    if existing:
        try:
            cfn.update_stack(**common)
        except ClientError as exc:
            if _nothing_to_update(exc):
                print(f"  infra stack {name}: no changes", file=out)
                return False
            raise
        print(f"  infra stack {name}: updating", file=out)
        _wait_stack(cfn, name, "stack_update_complete", waits)
    else:
        print(f"  infra stack {name}: creating (on AWS, CloudFront takes several minutes)", file=out)
        cfn.create_stack(**common, EnableTerminationProtection=False)
        _wait_stack(cfn, name, "stack_create_complete", waits)
    _print_resource_changes(cfn, name, since, out)
    return True


def table_exists(ddb: DynamoDBClient, name: str) -> bool:
    try:
        ddb.describe_table(TableName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def import_template(template: dict[str, Any]) -> dict[str, Any]:
    """The template for adopting a kept table: every parameter and condition, the table alone.

    An IMPORT change set may only bring in existing resources, so the rest of the stack follows in
    the ordinary update that comes right after.
    """
    result: dict[str, Any] = {}
    for key in ("AWSTemplateFormatVersion", "Parameters", "Conditions"):
        if key in template:
            result[key] = template[key]
    result["Resources"] = {TABLE_LOGICAL_ID: template["Resources"][TABLE_LOGICAL_ID]}
    return result


def _adopt_table(
    target: Target,
    stage: str,
    *,
    template: dict[str, Any],
    alert_email: str | None,
    waits: Waits,
    out: TextIO,
) -> None:
    """Import the table a `destroy` kept into a new stack (an IMPORT change set: AWS only)."""
    if target.local:
        raise StackError(
            f"table {table_name(stage)} exists but stack {stack_name(stage)} does not, and moto cannot "
            "import resources: delete the table in the emulator first"
        )
    print(
        f"  table {table_name(stage)}, kept by an earlier destroy, is imported into the new stack", file=out
    )
    cfn = target.cloudformation()
    name = stack_name(stage)
    created = cfn.create_change_set(
        StackName=name,
        ChangeSetName=f"adopt-table-{time.strftime('%Y%m%d-%H%M%S')}",
        ChangeSetType="IMPORT",
        TemplateBody=json.dumps(import_template(template)),
        Parameters=_parameters(stage, target.local, alert_email, existing=False),
        ResourcesToImport=[
            {
                "ResourceType": "AWS::DynamoDB::Table",
                "LogicalResourceId": TABLE_LOGICAL_ID,
                "ResourceIdentifier": {"TableName": table_name(stage)},
            }
        ],
    )
    change_set = _wait_change_set(cfn, created["Id"], waits)
    if change_set["Status"] == "FAILED":
        raise StackError(f"importing table {table_name(stage)} failed: {change_set.get('StatusReason', '')}")
    cfn.execute_change_set(ChangeSetName=created["Id"])
    _wait_stack(cfn, name, "stack_import_complete", waits)


def deploy_stack(
    target: Target,
    stage: str,
    project_dir: Path,
    *,
    alert_email: str | None = None,
    waits: Waits | None = None,
    out: TextIO = sys.stdout,
) -> tuple[dict[str, str], bool]:
    """Create or update the stage's infra stack and wait; (outputs, whether anything changed)."""
    waits = waits or (LOCAL_WAITS if target.local else Waits())
    cfn = target.cloudformation()
    name = stack_name(stage)
    path = template_path(project_dir)
    body = path.read_text(encoding="utf-8")
    stack = describe_stack(cfn, name)
    if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        print(f"  stack {name} is ROLLBACK_COMPLETE (a failed first create): deleting it first", file=out)
        cfn.delete_stack(StackName=name)
        _wait_stack(cfn, name, "stack_delete_complete", waits)
        stack = None
    if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        # An IMPORT change set that never ran left an empty stack: remove it and start over.
        cfn.delete_stack(StackName=name)
        _wait_stack(cfn, name, "stack_delete_complete", waits)
        stack = None
    if stack is not None and stack["StackStatus"].endswith(_BUSY_SUFFIX):
        raise StackError(f"stack {name} is busy ({stack['StackStatus']}); try again when it settles")
    adopted = False
    if stack is None and table_exists(target.dynamodb(), table_name(stage)):
        _adopt_table(
            target, stage, template=cfn_yaml.loads(body), alert_email=alert_email, waits=waits, out=out
        )
        adopted = True
    existing = stack is not None or adopted
    changed = _create_or_update(
        cfn,
        name=name,
        existing=existing,
        template_body=body,
        parameters=_parameters(stage, target.local, alert_email, existing),
        stage=stage,
        waits=waits,
        out=out,
    )
    outputs = outputs_of(describe_stack(cfn, name))
    if target.local:
        outputs = complete_local_outputs(target, stage, outputs)
    return outputs, changed or adopted


def complete_local_outputs(target: Target, stage: str, outputs: dict[str, str]) -> dict[str, str]:
    """Fill in what moto's CloudFormation skipped (LocalEmulator=true): the secret, created here
    through the API, and a dashboard URL served by the emulator's S3 instead of CloudFront."""
    sm = target.secretsmanager()
    name = secret_name(stage)
    try:
        arn = sm.describe_secret(SecretId=name)["ARN"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        arn = sm.create_secret(Name=name, Description="OpenAI admin key (local emulator)")["ARN"]
    endpoint = (target.endpoint or "").rstrip("/")
    bucket = outputs["BucketName"]
    return {
        **outputs,
        "SecretArn": arn,
        "DashboardOrigin": endpoint,
        "DashboardUrl": f"{endpoint}/{bucket}/index.html",
    }


def delete_stack(target: Target, stage: str, waits: Waits | None = None, out: TextIO = sys.stdout) -> None:
    """Delete the stage's infra stack and wait (the table stays: DeletionPolicy Retain)."""
    waits = waits or (LOCAL_WAITS if target.local else Waits())
    cfn = target.cloudformation()
    name = stack_name(stage)
    if describe_stack(cfn, name) is None:
        print(f"  no infra stack {name}", file=out)
        return
    print(f"  deleting stack {name}", file=out)
    cfn.delete_stack(StackName=name)
    _wait_stack(cfn, name, "stack_delete_complete", waits)


def delete_table(ddb: DynamoDBClient, name: str, out: TextIO = sys.stdout) -> bool:
    """Delete a kept table for good: deletion protection off first. False if there was none."""
    try:
        table = ddb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            print(f"  no table {name}", file=out)
            return False
        raise
    if table.get("DeletionProtectionEnabled"):
        print(f"  turning deletion protection off on {name}", file=out)
        ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    print(f"  deleting table {name} and its data", file=out)
    ddb.delete_table(TableName=name)
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 120})
    return True
