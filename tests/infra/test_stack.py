"""The infra template deployed into moto's CloudFormation: outputs read back, re-runs change nothing,
prod's table protected, destroy keeps the data unless asked."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy import cfn_yaml, stack
from deploy.chalice_config import PLACEHOLDER_PREFIX
from deploy.cli import main
from deploy.names import secret_name, stack_name, table_name
from deploy.target import Target
from tests.infra.conftest import ROOT


def test_infra_stack_deploys_into_moto_and_its_outputs_are_read_back(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    out = io.StringIO()
    outputs, changed = stack.deploy_stack(local_target, "dev", project, out=out)

    assert changed
    assert outputs["TableName"] == table_name("dev")
    assert outputs["TableArn"].endswith(f":table/{table_name('dev')}")
    assert outputs["TopicName"] == "openai-usage-tracker-dev-alerts"
    assert outputs["TopicArn"].endswith(":openai-usage-tracker-dev-alerts")
    assert outputs["SecretName"] == secret_name("dev")
    assert outputs["SecretArn"].startswith("arn:aws:secretsmanager:")
    assert outputs["BucketName"]
    assert outputs["DashboardUrl"].endswith(f"/{outputs['BucketName']}/index.html")
    assert outputs["ViewsBucketName"] not in {"", outputs["BucketName"]}
    assert outputs["ViewsBucketArn"] == f"arn:aws:s3:::{outputs['ViewsBucketName']}"

    table = local_target.dynamodb().describe_table(TableName=outputs["TableName"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
    }
    assert not table.get("DeletionProtectionEnabled")
    local_target.s3().head_bucket(Bucket=outputs["BucketName"])
    local_target.s3().head_bucket(Bucket=outputs["ViewsBucketName"])
    encryption = local_target.s3().get_bucket_encryption(Bucket=outputs["ViewsBucketName"])
    (rule,) = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    attrs = local_target.sns().get_topic_attributes(TopicArn=outputs["TopicArn"])["Attributes"]
    assert attrs["KmsMasterKeyId"] == "alias/aws/sns"
    # The secret is created empty: no value until ops put one.
    described = local_target.secretsmanager().describe_secret(SecretId=outputs["SecretName"])
    assert not described.get("VersionIdsToStages")

    assert stack.read_outputs(local_target, "dev") == outputs
    assert f"infra stack {stack_name('dev')}: creating" in out.getvalue()


def test_redeploying_an_unchanged_stack_changes_nothing(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    first, _ = stack.deploy_stack(local_target, "dev", project, out=io.StringIO())
    out = io.StringIO()
    second, changed = stack.deploy_stack(local_target, "dev", project, out=out)

    assert not changed
    assert second == first
    assert "no changes" in out.getvalue()


def test_prod_table_is_protected_and_destroy_keeps_it_unless_asked(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    outputs, _ = stack.deploy_stack(local_target, "prod", project, out=io.StringIO())
    ddb = local_target.dynamodb()
    assert ddb.describe_table(TableName=outputs["TableName"])["Table"]["DeletionProtectionEnabled"]
    views = outputs["ViewsBucketName"]
    local_target.s3().put_object(Bucket=views, Key="answers/usage.json.gz", Body=b"{}")

    out = io.StringIO()
    code = main(["destroy", "--stage", "prod", "--local", "--yes", "--project-dir", str(project)], out=out)

    assert code == 0
    assert stack.describe_stack(local_target.cloudformation(), stack_name("prod")) is None
    assert f"emptied views bucket {views} (1 objects)" in out.getvalue()
    buckets = [b["Name"] for b in local_target.s3().list_buckets()["Buckets"]]
    assert views not in buckets
    assert stack.table_exists(ddb, table_name("prod"))
    assert f"kept table {table_name('prod')}" in out.getvalue()

    code = main(
        ["destroy", "--stage", "prod", "--local", "--yes", "--delete-data", "--project-dir", str(project)],
        out=io.StringIO(),
    )

    assert code == 0
    assert not stack.table_exists(ddb, table_name("prod"))


def test_a_kept_table_without_its_stack_is_not_silently_recreated_locally(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    stack.deploy_stack(local_target, "dev", project, out=io.StringIO())
    main(["destroy", "--stage", "dev", "--local", "--yes", "--project-dir", str(project)], out=io.StringIO())

    # On AWS the next deploy imports the kept table; moto cannot import, so it says so instead.
    with pytest.raises(stack.StackError, match="cannot import"):
        stack.deploy_stack(local_target, "dev", project, out=io.StringIO())


def test_import_template_holds_the_table_alone_with_every_parameter() -> None:
    template = cfn_yaml.load(ROOT / "infra" / "template.yaml")

    imported = stack.import_template(template)

    assert list(imported["Resources"]) == [stack.TABLE_LOGICAL_ID]
    assert imported["Resources"][stack.TABLE_LOGICAL_ID]["DeletionPolicy"] == "Retain"
    assert imported["Parameters"] == template["Parameters"]
    assert imported["Conditions"] == template["Conditions"]
    assert "Outputs" not in imported


def test_deploy_command_writes_config_and_policy_publishes_and_says_what_is_left(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    out = io.StringIO()

    code = main(
        ["deploy", "--stage", "dev", "--local", "--skip-chalice", "--project-dir", str(project)], out=out
    )

    assert code == 0, out.getvalue()
    text = out.getvalue()
    first_line = text.splitlines()[0]
    assert local_target.account in first_line
    assert local_target.region in first_line
    config = json.loads((project / ".chalice" / "config.json").read_text())
    env = config["stages"]["dev"]["environment_variables"]
    assert env["USAGE_TABLE"] == table_name("dev")
    assert env["ALERTS_TOPIC_ARN"].endswith(":openai-usage-tracker-dev-alerts")
    assert env["OPENAI_ADMIN_KEY_SECRET"] == secret_name("dev")
    outputs = stack.read_outputs(local_target, "dev")
    assert env["VIEWS_BUCKET"] == outputs["ViewsBucketName"]
    assert not any(v.startswith(PLACEHOLDER_PREFIX) for v in env.values())
    policy = json.loads((project / ".chalice" / "policy-dev.json").read_text())
    assert f":table/{table_name('dev')}" in policy["Statement"][0]["Resource"][0]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["ViewsBucket"]["Resource"] == [f"{outputs['ViewsBucketArn']}/*"]
    assert "aws secretsmanager put-secret-value" in text
    assert "--secret-id openai-usage-tracker/dev/openai-admin-key" in text
    assert "aws sns subscribe" in text
    assert "tokens create" in text

    # Run again: the stack, the config and the dashboard are all unchanged.
    before = (project / ".chalice" / "config.json").read_bytes()
    out = io.StringIO()
    assert (
        main(
            ["deploy", "--stage", "dev", "--local", "--skip-chalice", "--project-dir", str(project)], out=out
        )
        == 0
    )
    assert "no changes" in out.getvalue()
    assert ".chalice/config.json: unchanged" in out.getvalue()
    assert "0 uploaded" in out.getvalue()
    assert (project / ".chalice" / "config.json").read_bytes() == before

    # With the admin key in place, that step is no longer listed.
    local_target.secretsmanager().put_secret_value(SecretId=secret_name("dev"), SecretString="sk-admin-test")
    out = io.StringIO()
    main(["publish-dashboard", "--stage", "dev", "--local", "--project-dir", str(project)], out=out)
    main(["deploy", "--stage", "dev", "--local", "--skip-chalice", "--project-dir", str(project)], out=out)
    assert "put-secret-value" not in out.getvalue()


def test_deploy_without_a_dashboard_yet_warns_and_finishes(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    (project / "frontend" / "index.html").unlink()
    out = io.StringIO()

    code = main(
        ["deploy", "--stage", "dev", "--local", "--skip-chalice", "--project-dir", str(project)], out=out
    )

    assert code == 0, out.getvalue()
    assert "no dashboard published" in out.getvalue()
    assert main(["publish-dashboard", "--stage", "dev", "--local", "--project-dir", str(project)]) == 1
