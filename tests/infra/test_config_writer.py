"""The config writer: stack outputs into .chalice/config.json and the stage's policy, idempotently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy import chalice_cmd
from deploy.chalice_config import (
    OUTPUT_VARIABLES,
    ConfigWriteError,
    load_config,
    policy_from_outputs,
    stage_environment,
    unresolved,
    write_policy,
    write_stage_environment,
)
from tests.infra.conftest import ROOT

# What chalicelib/settings.py reads that the stage must set (the rest keep settings.py's defaults).
REQUIRED_VARIABLES = {
    "STAGE",
    "USAGE_TABLE",
    "ALERTS_TOPIC_ARN",
    "OPENAI_ADMIN_KEY_SECRET",
    "POOL_TIER",
    "ALERT_THRESHOLDS",
    "HOURLY_RETENTION_DAYS",
    "REREAD_HOURS",
    "STALE_AFTER_MINUTES",
    "DASHBOARD_ORIGIN",
    "DASHBOARD_URL",
    "COLLECT_SCHEDULE_MINUTES",
    "VIEWS_BUCKET",
}


def outputs_for(stage: str, account: str = "111122223333") -> dict[str, str]:
    return {
        "TableName": f"openai-usage-tracker-{stage}",
        "TableArn": f"arn:aws:dynamodb:eu-west-1:{account}:table/openai-usage-tracker-{stage}",
        "TopicArn": f"arn:aws:sns:eu-west-1:{account}:openai-usage-tracker-{stage}-alerts",
        "TopicName": f"openai-usage-tracker-{stage}-alerts",
        "SecretName": f"openai-usage-tracker/{stage}/openai-admin-key",
        "SecretArn": f"arn:aws:secretsmanager:eu-west-1:{account}:secret:usage-{stage}-AbCdEf",
        "BucketName": "bucket",
        "ViewsBucketName": f"openai-usage-tracker-{stage}-infra-viewsbucket-abc123",
        "ViewsBucketArn": f"arn:aws:s3:::openai-usage-tracker-{stage}-infra-viewsbucket-abc123",
        "DashboardOrigin": "https://d111.cloudfront.net",
        "DashboardUrl": "https://d111.cloudfront.net/",
    }


def test_config_writer_is_idempotent(project: Path) -> None:
    config = project / ".chalice" / "config.json"

    assert write_stage_environment(config, "prod", outputs_for("prod"))
    first = config.read_bytes()
    assert not write_stage_environment(config, "prod", outputs_for("prod"))

    assert config.read_bytes() == first


def test_config_writer_touches_only_the_stage_and_keeps_key_order(project: Path) -> None:
    config_path = project / ".chalice" / "config.json"
    before = load_config(config_path)

    write_stage_environment(config_path, "dev", outputs_for("dev"))

    after = load_config(config_path)
    assert after["stages"]["prod"] == before["stages"]["prod"]
    assert list(after) == list(before)
    assert list(after["stages"]["dev"]["environment_variables"]) == list(
        before["stages"]["dev"]["environment_variables"]
    )
    env = after["stages"]["dev"]["environment_variables"]
    assert env["USAGE_TABLE"] == "openai-usage-tracker-dev"
    assert env["DASHBOARD_ORIGIN"] == "https://d111.cloudfront.net"
    assert env["VIEWS_BUCKET"] == "openai-usage-tracker-dev-infra-viewsbucket-abc123"
    assert env["POOL_TIER"] == before["stages"]["dev"]["environment_variables"]["POOL_TIER"]
    assert unresolved(after, "dev") == []
    assert unresolved(after, "prod") == sorted(OUTPUT_VARIABLES)


@pytest.mark.parametrize("missing", ["TopicArn", "ViewsBucketName"])
def test_config_writer_refuses_outputs_it_cannot_use(project: Path, missing: str) -> None:
    partial = outputs_for("dev")
    del partial[missing]

    with pytest.raises(ConfigWriteError, match=missing):
        write_stage_environment(project / ".chalice" / "config.json", "dev", partial)


def test_policy_refuses_outputs_without_the_views_bucket_arn(project: Path) -> None:
    partial = outputs_for("dev")
    del partial["ViewsBucketArn"]

    with pytest.raises(ConfigWriteError, match="ViewsBucketArn"):
        write_policy(project / ".chalice", "dev", partial)


def test_policy_is_rendered_identically_and_scoped_to_the_stage(project: Path) -> None:
    chalice_dir = project / ".chalice"
    assert write_policy(chalice_dir, "prod", outputs_for("prod"))
    first = (chalice_dir / "policy-prod.json").read_bytes()
    assert not write_policy(chalice_dir, "prod", outputs_for("prod"))
    assert (chalice_dir / "policy-prod.json").read_bytes() == first

    statements = {s["Sid"]: s for s in json.loads(first)["Statement"]}
    assert statements["UsageTable"]["Resource"] == [outputs_for("prod")["TableArn"]]
    assert "dynamodb:Scan" not in statements["UsageTable"]["Action"]
    assert statements["AlertsTopic"] == {
        "Sid": "AlertsTopic",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "Resource": [outputs_for("prod")["TopicArn"]],
    }
    assert statements["OpenAIAdminKey"]["Resource"] == [outputs_for("prod")["SecretArn"]]
    assert statements["ViewsBucket"] == {
        "Sid": "ViewsBucket",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": [f"{outputs_for('prod')['ViewsBucketArn']}/*"],
    }
    assert statements["FunctionLogs"]["Resource"] == [
        "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/openai-usage-tracker-prod:*",
        "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/openai-usage-tracker-prod-*:*",
    ]
    wildcard = [sid for sid, s in statements.items() if "*" in s["Resource"]]
    assert wildcard == ["Tracing"]
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_policy_names_no_other_stage() -> None:
    text = json.dumps(policy_from_outputs("dev", outputs_for("dev")))
    assert "-prod" not in text


def test_committed_config_sets_every_stage_and_function_setting() -> None:
    config = load_config(ROOT / ".chalice" / "config.json")

    assert config["app_name"] == "openai-usage-tracker"
    assert config["autogen_policy"] is False
    assert config["lambda_functions"]["collect"] == {
        "lambda_memory_size": 1024,
        "lambda_timeout": 300,
        "reserved_concurrency": 1,
    }
    assert set(config["lambda_functions"]["api_handler"]) == {"lambda_memory_size", "lambda_timeout"}
    assert set(config["stages"]) == {"dev", "prod"}
    for stage, stage_config in config["stages"].items():
        assert stage_config["iam_policy_file"] == f"policy-{stage}.json"
        assert stage_config["autogen_policy"] is False
        assert stage_config["api_gateway_stage"] == "api"
        env = stage_environment(config, stage)
        assert env["STAGE"] == stage
        assert set(env) >= REQUIRED_VARIABLES
        assert all(isinstance(value, str) for value in env.values())


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_committed_policy_is_what_the_writer_renders_with_placeholder_arns(stage: str) -> None:
    committed = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    arns = {s["Sid"]: s["Resource"][0] for s in committed["Statement"] if s["Sid"] != "FunctionLogs"}
    views = arns["ViewsBucket"]
    placeholders = {
        "TableArn": arns["UsageTable"],
        "TopicArn": arns["AlertsTopic"],
        "SecretArn": arns["OpenAIAdminKey"],
        "ViewsBucketArn": views.removesuffix("/*"),
    }

    assert policy_from_outputs(stage, placeholders) == committed
    assert arns["UsageTable"].startswith("arn:aws:dynamodb:REGION:000000000000:")
    assert views == f"arn:aws:s3:::openai-usage-tracker-{stage}-infra-viewsbucket-XXXXXXXXXXXX/*"


def test_committed_config_holds_no_secret() -> None:
    text = (ROOT / ".chalice" / "config.json").read_text()

    for marker in ("sk-", "sk_", "BEGIN ", "aws_secret", "AKIA"):
        assert marker not in text
    assert 'OPENAI_ADMIN_KEY"' not in text


def test_chalice_runs_with_the_stage_schedule_so_app_py_reads_it_at_deploy_time() -> None:
    config = load_config(ROOT / ".chalice" / "config.json")
    for stage, stage_config in config["stages"].items():
        env = chalice_cmd.environment(ROOT, stage, None)
        expected = stage_config["environment_variables"]["COLLECT_SCHEDULE_MINUTES"]
        assert env["COLLECT_SCHEDULE_MINUTES"] == expected
