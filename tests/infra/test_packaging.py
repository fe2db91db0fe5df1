"""One CloudFormation template for teams that deploy through CloudFormation: `chalice package` with
the infra template merged, cfn-lint clean. Built from a stand-in app.py (one route, the `collect`
schedule) so these tests do not depend on the real app's routes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy import cfn_yaml, packaging, throttling
from tests.infra.conftest import ROOT
from tests.infra.test_template import lint

STAND_IN_APP = """
from chalice import Chalice, Rate

app = Chalice(app_name="openai-usage-tracker")
{routes}

@app.schedule(Rate(15, unit=Rate.MINUTES))
def collect(event):
    return None
"""
ROUTE = """
@app.route("/api/health")
def health():
    return {"ok": True}
"""


def chalice_project(root: Path, with_route: bool) -> Path:
    """A copy of .chalice/ and infra/ with a stand-in app and no runtime requirements to download."""
    shutil.copytree(
        ROOT / ".chalice", root / ".chalice", ignore=shutil.ignore_patterns("deployed", "deployments")
    )
    shutil.copytree(ROOT / "infra", root / "infra")
    (root / "app.py").write_text(STAND_IN_APP.format(routes=ROUTE if with_route else ""))
    (root / "requirements.txt").write_text("")
    return root


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """chalice package makes no AWS call, but wants a region."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def chalice(project: Path, *args: str) -> None:
    script = Path(sys.executable).with_name("chalice")
    subprocess.run([str(script), *args], cwd=project, env=dict(os.environ), check=True, capture_output=True)


def test_plain_merge_with_the_infra_template_passes_cfn_lint(tmp_path: Path, offline_env: None) -> None:
    project = chalice_project(tmp_path / "app", with_route=False)

    chalice(project, "package", "--stage", "dev", "--merge-template", "infra/template.yaml", "out")

    merged = project / "out" / "sam.yaml"
    assert lint(merged) == []
    resources: dict[str, Any] = cfn_yaml.load(merged)["Resources"]
    infra = cfn_yaml.load(ROOT / "infra" / "template.yaml")["Resources"]
    assert set(infra) <= set(resources)
    collect = resources["Collect"]["Properties"]
    assert (collect["MemorySize"], collect["Timeout"], collect["ReservedConcurrentExecutions"]) == (
        1024,
        300,
        1,
    )


def test_packaged_variant_wires_functions_to_the_stack_and_passes_cfn_lint(
    tmp_path: Path, offline_env: None
) -> None:
    project = chalice_project(tmp_path / "app", with_route=True)

    template_path = packaging.package(project, "prod", tmp_path / "out")

    assert lint(template_path) == []
    template = json.loads(template_path.read_text())
    resources = template["Resources"]
    assert "LocalEmulator" not in template["Parameters"]
    assert template["Parameters"]["Stage"]["Default"] == "prod"
    infra = cfn_yaml.load(ROOT / "infra" / "template.yaml")["Resources"]
    assert set(infra) <= set(resources)
    assert all(
        "Condition" not in resources[name] or resources[name]["Condition"] != "OnAws" for name in infra
    )
    for function in ("APIHandler", "Collect"):
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert env["USAGE_TABLE"] == {"Ref": "UsageTable"}
        assert env["ALERTS_TOPIC_ARN"] == {"Ref": "AlertsTopic"}
        assert env["VIEWS_BUCKET"] == {"Ref": "ViewsBucket"}
        assert env["STAGE"] == "prod"
    api = resources["APIHandler"]["Properties"]
    assert (api["MemorySize"], api["Timeout"]) == (1769, 29)  # one full vCPU (issue 14)
    assert resources["Collect"]["Properties"]["ReservedConcurrentExecutions"] == 1
    assert resources["ApiHandlerLogGroup"]["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${APIHandler}"
    }
    assert resources["RestAPI"]["Properties"]["MethodSettings"] == throttling.method_settings()
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        (policy,) = role["Properties"]["Policies"]
        resources_named = json.dumps(policy["PolicyDocument"])
        assert '{"Fn::GetAtt": ["UsageTable", "Arn"]}' in resources_named
        assert "REGION" not in resources_named
        views = next(s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ViewsBucket")
        assert views["Action"] == ["s3:GetObject", "s3:PutObject"]
        assert views["Resource"] == [{"Fn::Join": ["", [{"Fn::GetAtt": ["ViewsBucket", "Arn"]}, "/*"]]}]
