"""One CloudFormation template for teams that deploy through CloudFormation instead of `chalice deploy`.

`chalice package --merge-template infra/template.yaml` already merges the infra resources into
Chalice's SAM template, but the functions' environment and role policy would still carry the literal
values of `.chalice/config.json`. `python -m deploy package` builds a merge template that also points
them at the resources in the same template (`Ref`/`GetAtt`, the policy from deploy.chalice_config),
drops the local-emulator switch, and runs `chalice package` with it. Nothing here talks to AWS.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from deploy import cfn_yaml, throttling
from deploy.chalice_cmd import environment, run
from deploy.chalice_config import OUTPUT_VARIABLES, policy_document
from deploy.stack import template_path

LOCAL_SWITCH_PARAMETER = "LocalEmulator"
LOCAL_SWITCH_CONDITION = "OnAws"


def aws_only(template: dict[str, Any], stage: str) -> dict[str, Any]:
    """The infra template for AWS: no local-emulator switch, the packaged stage as default."""
    result: dict[str, Any] = json.loads(json.dumps(template))
    result["Parameters"].pop(LOCAL_SWITCH_PARAMETER, None)
    result["Conditions"].pop(LOCAL_SWITCH_CONDITION, None)
    for section in ("Resources", "Outputs"):
        for body in result.get(section, {}).values():
            if body.get("Condition") == LOCAL_SWITCH_CONDITION:
                del body["Condition"]
    # Chalice packages one stage at a time (its environment, its policy): default to that stage.
    result["Parameters"]["Stage"]["Default"] = stage
    return result


def cfn_policy() -> dict[str, Any]:
    """The Lambda policy with CloudFormation references instead of ARNs."""
    # CloudFormation names the functions <stack>-<LogicalId>-<suffix>; naming them here would be a
    # cycle (role -> function -> role), so their log groups are matched by the stack-name prefix.
    log_groups: list[Any] = [
        {
            "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
            ":log-group:/aws/lambda/${AWS::StackName}-*:*"
        }
    ]
    return policy_document(
        {"Fn::GetAtt": ["UsageTable", "Arn"]},
        {"Ref": "AlertsTopic"},
        {"Ref": "AdminKeySecret"},
        {"Fn::GetAtt": ["ViewsBucket", "Arn"]},
        log_groups,
    )


def merge_template(infra: dict[str, Any], chalice_template: dict[str, Any], stage: str) -> dict[str, Any]:
    """The infra template plus overrides of every Chalice function's environment and role policy."""
    merged = aws_only(infra, stage)
    outputs = merged["Outputs"]
    variables = {name: outputs[key]["Value"] for name, key in OUTPUT_VARIABLES.items()}
    for logical_id, resource in chalice_template.get("Resources", {}).items():
        if logical_id in merged["Resources"]:
            raise ValueError(f"resource {logical_id} is in both infra/template.yaml and the Chalice template")
        kind = resource.get("Type")
        if kind in {"AWS::Serverless::Function", "AWS::Lambda::Function"}:
            merged["Resources"][logical_id] = {"Properties": {"Environment": {"Variables": variables}}}
        elif kind == "AWS::IAM::Role" and resource.get("Properties", {}).get("Policies"):
            merged["Resources"][logical_id] = {
                "Properties": {
                    "Policies": [{"PolicyName": f"{logical_id}Policy", "PolicyDocument": cfn_policy()}]
                }
            }
    resources = chalice_template.get("Resources", {})
    if resources.get("RestAPI", {}).get("Type") == "AWS::Serverless::Api":
        merged["Resources"]["RestAPI"] = {"Properties": {"MethodSettings": throttling.method_settings()}}
    if "APIHandler" in resources and "ApiHandlerLogGroup" in resources:
        # chalice package names the API handler's log group after `ApiHandler`, a resource it then
        # renames `APIHandler` (aws/chalice#2079): point the log group at the real function.
        merged["Resources"]["ApiHandlerLogGroup"] = {
            "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${APIHandler}"}}
        }
    return merged


def package(project_dir: Path, stage: str, out_dir: Path) -> Path:
    """Write the merged single template (and the deployment zip) to out_dir; returns the template."""
    env = environment(project_dir, stage, None)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice package needs a region, not an account
    infra = cfn_yaml.load(template_path(project_dir))
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as tmp:
        first = Path(tmp) / "plain"
        run(["package", "--stage", stage, str(first)], project_dir, env)
        chalice_template = json.loads((first / "sam.json").read_text(encoding="utf-8"))
        merge_path = Path(tmp) / "merge.json"
        merge_path.write_text(
            json.dumps(merge_template(infra, chalice_template, stage), indent=2), encoding="utf-8"
        )
        run(
            ["package", "--stage", stage, "--merge-template", str(merge_path), str(out_dir)], project_dir, env
        )
    return out_dir / "sam.json"
