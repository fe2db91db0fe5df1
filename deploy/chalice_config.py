"""Stack outputs -> the stage's `environment_variables` in `.chalice/config.json` and the stage's
reviewed IAM policy `.chalice/policy-<stage>.json`.

Both writers are idempotent: the same outputs give byte-identical files, keys keep their order, and
a file is rewritten only when its text changes. The policy is generated here, in one function used for
both concrete ARNs (`chalice deploy`) and CloudFormation references (`python -m deploy package`), so
there is one reviewed list of permissions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploy.names import function_log_groups

PLACEHOLDER_PREFIX = "@stack-output:"

# Environment variable (read by chalicelib/settings.py) -> infra stack output it comes from.
OUTPUT_VARIABLES: dict[str, str] = {
    "USAGE_TABLE": "TableName",
    "ALERTS_TOPIC_ARN": "TopicArn",
    "ALERTS_TOPIC_NAME": "TopicName",
    "OPENAI_ADMIN_KEY_SECRET": "SecretName",
    "DASHBOARD_ORIGIN": "DashboardOrigin",
    "DASHBOARD_URL": "DashboardUrl",
    "VIEWS_BUCKET": "ViewsBucketName",
}

# Everything chalicelib/store/ does: single-item reads and conditional writes, queries, batches, and
# DescribeTable for readiness checks. No transactions (the alert ledger uses conditional writes), no
# Scan, no table admin.
DYNAMODB_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DescribeTable",
)


class ConfigWriteError(Exception):
    """The stack outputs or the config file are not what the writer needs."""


def dumps(data: dict[str, Any]) -> str:
    """The one JSON layout of the files under .chalice/ (so a rewrite never reformats)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write text unless the file already holds exactly it; True if written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def stack_environment(outputs: dict[str, str]) -> dict[str, str]:
    """The environment variables that come from the infra stack, in OUTPUT_VARIABLES order."""
    missing = sorted({key for key in OUTPUT_VARIABLES.values() if not outputs.get(key)})
    if missing:
        raise ConfigWriteError(f"the infra stack has no output {', '.join(missing)}")
    return {variable: outputs[key] for variable, key in OUTPUT_VARIABLES.items()}


def load_config(config_path: Path) -> dict[str, Any]:
    data = json.loads(config_path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigWriteError(f"{config_path} is not a JSON object")
    return data


def _stage(config: dict[str, Any], stage: str) -> dict[str, Any]:
    try:
        stage_config = config["stages"][stage]
    except KeyError as exc:
        raise ConfigWriteError(f"stage {stage!r} is not in .chalice/config.json") from exc
    if not isinstance(stage_config, dict):
        raise ConfigWriteError(f"stages.{stage} in .chalice/config.json is not an object")
    return stage_config


def write_stage_environment(config_path: Path, stage: str, outputs: dict[str, str]) -> bool:
    """Put the stack outputs into stages.<stage>.environment_variables; True if the file changed.

    Existing keys keep their place; a key new to the file goes at the end of the stage's variables.
    """
    config = load_config(config_path)
    environment = _stage(config, stage).setdefault("environment_variables", {})
    environment.update(stack_environment(outputs))
    return write_if_changed(config_path, dumps(config))


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    """What the stage's functions get: top-level variables overlaid by the stage's (as Chalice does)."""
    merged: dict[str, str] = dict(config.get("environment_variables", {}))
    merged.update(_stage(config, stage).get("environment_variables", {}))
    return merged


def unresolved(config: dict[str, Any], stage: str) -> list[str]:
    """Variables still holding a placeholder (the stack outputs were never written)."""
    return sorted(
        key for key, value in stage_environment(config, stage).items() if value.startswith(PLACEHOLDER_PREFIX)
    )


def policy_document(
    table: Any, topic: Any, secret: Any, views_bucket: Any, log_groups: list[Any]
) -> dict[str, Any]:
    """The stage's Lambda policy. Arguments are ARNs, or CloudFormation references to them.

    `*` appears once: X-Ray's PutTraceSegments/PutTelemetryRecords have no resource type to scope to.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UsageTable",
                "Effect": "Allow",
                "Action": list(DYNAMODB_ACTIONS),
                "Resource": [table],
            },
            {"Sid": "AlertsTopic", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic]},
            {
                "Sid": "OpenAIAdminKey",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [secret],
            },
            {
                # the collector writes the answers, the API reads them
                "Sid": "ViewsBucket",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [_objects_of(views_bucket)],
            },
            {
                # without it S3 answers a GET of an answer not kept (yet) 403 instead of 404
                "Sid": "ViewsBucketMissing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [views_bucket],
            },
            {
                "Sid": "FunctionLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_groups,
            },
            {
                "Sid": "Tracing",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": ["*"],
            },
        ],
    }


def _objects_of(bucket: Any) -> Any:
    """`<bucket ARN>/*`, for an ARN or a CloudFormation reference to one."""
    if isinstance(bucket, str):
        return f"{bucket}/*"
    return {"Fn::Join": ["", [bucket, "/*"]]}


def policy_from_outputs(stage: str, outputs: dict[str, str]) -> dict[str, Any]:
    """The policy with concrete ARNs; partition, region and account come from the table's ARN."""
    for key in ("TableArn", "TopicArn", "SecretArn", "ViewsBucketArn"):
        if not outputs.get(key):
            raise ConfigWriteError(f"the infra stack has no output {key}")
    parts = outputs["TableArn"].split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ConfigWriteError(f"TableArn {outputs['TableArn']!r} is not an ARN")
    partition, region, account = parts[1], parts[3], parts[4]
    log_groups = [
        f"arn:{partition}:logs:{region}:{account}:log-group:{group}:*" for group in function_log_groups(stage)
    ]
    return policy_document(
        outputs["TableArn"], outputs["TopicArn"], outputs["SecretArn"], outputs["ViewsBucketArn"], log_groups
    )


def policy_path(chalice_dir: Path, stage: str) -> Path:
    return chalice_dir / f"policy-{stage}.json"


def write_policy(chalice_dir: Path, stage: str, outputs: dict[str, str]) -> bool:
    """Render .chalice/policy-<stage>.json from the stack outputs; True if the file changed."""
    return write_if_changed(policy_path(chalice_dir, stage), dumps(policy_from_outputs(stage, outputs)))
