"""`python -m deploy deploy --local` all the way through `chalice deploy`, against moto, with a stand-in
app.py (the `collect` schedule only: moto's API Gateway cannot import Chalice's REST API definition),
then `destroy`. Also the helpers that read what chalice deployed."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy import chalice_cmd
from deploy.cli import main
from deploy.names import table_name
from deploy.target import Target
from tests.infra.test_packaging import STAND_IN_APP

ACCOUNT = "111122223333"


def test_deploy_runs_chalice_with_the_stage_settings_and_destroy_removes_it(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    (project / "app.py").write_text(STAND_IN_APP.format(routes=""))
    (project / "requirements.txt").write_text("")
    out = io.StringIO()

    code = main(["deploy", "--stage", "dev", "--local", "--project-dir", str(project)], out=out)

    assert code == 0, out.getvalue()
    lam = local_target.session.client("lambda", endpoint_url=local_target.endpoint)
    function = lam.get_function(FunctionName="openai-usage-tracker-dev-collect")
    config = function["Configuration"]
    assert (config["MemorySize"], config["Timeout"]) == (1024, 300)
    assert config["Environment"]["Variables"]["USAGE_TABLE"] == table_name("dev")
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == 1
    iam = local_target.session.client("iam", endpoint_url=local_target.endpoint)
    policy = iam.get_role_policy(
        RoleName="openai-usage-tracker-dev-collect", PolicyName="openai-usage-tracker-dev-collect"
    )["PolicyDocument"]
    assert policy == json.loads((project / ".chalice" / "policy-dev.json").read_text())

    code = main(["destroy", "--stage", "dev", "--local", "--yes", "--project-dir", str(project)], out=out)

    assert code == 0, out.getvalue()
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert "openai-usage-tracker-dev-collect" not in names


def test_the_api_url_and_handler_come_from_what_chalice_recorded(project: Path) -> None:
    deployed = project / ".chalice" / "deployed"
    deployed.mkdir()
    (deployed / "dev.json").write_text(
        json.dumps(
            {
                "resources": [
                    {
                        "name": "api_handler",
                        "resource_type": "lambda_function",
                        "lambda_arn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:openai-usage-tracker-dev",
                    },
                    {
                        "name": "rest_api",
                        "resource_type": "rest_api",
                        "rest_api_url": "https://abc.execute-api/api/",
                    },
                ],
                "schema_version": "2.0",
                "backend": "api",
            }
        )
    )

    assert chalice_cmd.api_url(project, "dev") == "https://abc.execute-api/api/"
    assert chalice_cmd.api_handler_log_group(project, "dev") == "/aws/lambda/openai-usage-tracker-dev"
    assert chalice_cmd.api_url(project, "prod") is None
    assert chalice_cmd.api_handler_log_group(project, "prod") is None


def test_the_api_handler_log_group_gets_the_stage_retention(local_target: Target, project: Path) -> None:
    logs = local_target.logs()
    group = "/aws/lambda/openai-usage-tracker-test-retention"
    days = chalice_cmd.log_retention_days(project, "prod")
    assert days

    chalice_cmd.fix_api_handler_log_retention(logs, group, days)
    chalice_cmd.fix_api_handler_log_retention(logs, group, days)  # again: already there is fine

    (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found["retentionInDays"] == days
    logs.delete_log_group(logGroupName=group)


def test_chalice_runs_with_the_stage_environment_and_the_target_region(
    local_target: Target, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")

    env = chalice_cmd.environment(project, "prod", local_target)

    assert env["STAGE"] == "prod"
    assert env["COLLECT_SCHEDULE_MINUTES"] == "15"
    assert env["POWERTOOLS_SERVICE_NAME"] == "openai-usage-tracker"
    assert env["AWS_DEFAULT_REGION"] == local_target.region
