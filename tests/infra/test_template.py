"""infra/template.yaml: cfn-lint clean, and the properties the issue asks for, read from the template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from deploy import cfn_yaml
from deploy.chalice_config import OUTPUT_VARIABLES
from deploy.names import APP_NAME, secret_name, table_name
from tests.infra.conftest import ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"


def lint(path: Path) -> list[str]:
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    return [f"{m.rule.id} {m.message} ({m.linenumber})" for m in matches]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(TEMPLATE)


def test_the_infra_template_passes_cfn_lint() -> None:
    assert lint(TEMPLATE) == []


def test_the_table_is_on_demand_with_ttl_pitr_kept_and_protected_on_prod(template: dict[str, Any]) -> None:
    table = template["Resources"]["UsageTable"]
    props = table["Properties"]

    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
    }
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}


def test_the_secret_is_created_without_a_value(template: dict[str, Any]) -> None:
    props = template["Resources"]["AdminKeySecret"]["Properties"]

    assert "SecretString" not in props
    assert "GenerateSecretString" not in props
    assert not any(p.get("NoEcho") for p in template["Parameters"].values())


def test_the_alert_e_mail_subscription_is_optional(template: dict[str, Any]) -> None:
    subscription = template["Resources"]["AlertsEmailSubscription"]

    assert subscription["Condition"] == "HasAlertEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert template["Parameters"]["AlertEmail"]["Default"] == ""


def test_the_bucket_is_private_and_only_the_distribution_reads_it(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket = resources["DashboardBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert "WebsiteConfiguration" not in bucket
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]

    allow, deny = resources["DashboardBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${DashboardDistribution}")
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    config = resources["DashboardDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["DashboardOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "DashboardSecurityHeaders"}
    headers = resources["DashboardSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert "ContentTypeOptions" in security
    assert "ContentSecurityPolicy" not in security  # the dashboard's HTML carries its own


def test_the_views_bucket_is_private_encrypted_expires_objects_and_refuses_plain_http(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    bucket = resources["ViewsBucket"]
    props = bucket["Properties"]

    assert bucket["Type"] == "AWS::S3::Bucket"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", 3)
    assert set(rule) == {"Id", "Status", "ExpirationInDays"}  # no Prefix or Filter: every object
    assert {tag["Key"] for tag in props["Tags"]} == {"app", "stage"}
    assert "WebsiteConfiguration" not in props

    policy = resources["ViewsBucketPolicy"]
    # moto's CloudFormation cannot create bucket policies: like the dashboard's, AWS only.
    assert policy["Condition"] == "OnAws"
    assert policy["Properties"]["Bucket"] == {"Ref": "ViewsBucket"}
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Sid"], deny["Effect"], deny["Principal"], deny["Action"]) == (
        "DenyInsecureTransport",
        "Deny",
        "*",
        "s3:*",
    )
    assert deny["Resource"] == [
        {"Fn::GetAtt": ["ViewsBucket", "Arn"]},
        {"Fn::Sub": "${ViewsBucket.Arn}/*"},
    ]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    outputs = template["Outputs"]
    assert outputs["ViewsBucketName"] == {"Value": {"Ref": "ViewsBucket"}}
    assert outputs["ViewsBucketArn"] == {"Value": {"Fn::GetAtt": ["ViewsBucket", "Arn"]}}


def test_every_output_the_app_needs_is_there(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]

    for key in {
        *OUTPUT_VARIABLES.values(),
        "TableArn",
        "SecretArn",
        "BucketName",
        "DistributionDomain",
        "ViewsBucketArn",
    }:
        assert key in outputs, key
    # On moto too (no OnAws condition): nothing completes the views bucket's outputs locally.
    assert "Condition" not in outputs["ViewsBucketName"]
    assert "Condition" not in outputs["ViewsBucketArn"]


def test_names_in_the_template_agree_with_deploy_names(template: dict[str, Any]) -> None:
    resources = template["Resources"]

    def sub(value: dict[str, str], stage: str) -> str:
        return value["Fn::Sub"].replace("${Stage}", stage)

    for stage in ("dev", "prod"):
        assert sub(resources["UsageTable"]["Properties"]["TableName"], stage) == table_name(stage)
        assert sub(resources["AdminKeySecret"]["Properties"]["Name"], stage) == secret_name(stage)
        assert sub(resources["AlertsTopic"]["Properties"]["TopicName"], stage) == f"{APP_NAME}-{stage}-alerts"
