"""`python -m chalicelib.cli`: `init` against the local stack, and how errors become exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import store
from chalicelib.cli.main import main
from chalicelib.errors import InvalidInput
from devstack import LocalStack
from devstack.stack import ROOT
from tests.conftest import unique_name


@pytest.fixture
def fresh_names(local_aws: LocalStack, monkeypatch: pytest.MonkeyPatch):
    """A table and topic name nothing has created yet; the table is deleted after."""
    table, topic = unique_name("init-test"), unique_name("init-topic")
    monkeypatch.setenv("USAGE_TABLE", table)
    monkeypatch.setenv("ALERTS_TOPIC_NAME", topic)
    monkeypatch.delenv("VIEWS_BUCKET", raising=False)
    yield table, topic
    try:
        boto3.client("dynamodb").delete_table(TableName=table)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def test_init_creates_the_table_and_topic_then_changes_nothing(fresh_names, capsys) -> None:
    table, topic = fresh_names
    assert main(["--json", "init"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["table"] == table
    assert first["table_created"] is True
    assert first["topic_arn"].endswith(f":{topic}")
    assert first["views_bucket"] is None  # VIEWS_BUCKET unset: the feature is off, no bucket

    assert main(["init", "--json"]) == 0  # --json after the command works too
    second = json.loads(capsys.readouterr().out)
    assert second == {**first, "table_created": False}

    described = boto3.client("dynamodb").describe_table(TableName=table)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == store.TTL_ATTRIBUTE
    topics = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert topics.count(first["topic_arn"]) == 1


@pytest.fixture
def fresh_views_bucket(fresh_names, monkeypatch: pytest.MonkeyPatch):
    """A views bucket name nothing has created yet, in VIEWS_BUCKET; the bucket is deleted after."""
    name = unique_name("init-views")
    monkeypatch.setenv("VIEWS_BUCKET", name)
    yield name
    try:
        boto3.client("s3").delete_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_init_creates_the_views_bucket_in_the_region_then_changes_nothing(
    fresh_views_bucket, monkeypatch, capsys, region: str
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_REGION", region)

    assert main(["--json", "init"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["--json", "init"]) == 0  # the bucket is there and ours: not an error
    second = json.loads(capsys.readouterr().out)

    assert first["views_bucket"] == fresh_views_bucket
    assert second == {**first, "table_created": False}
    s3 = boto3.client("s3", region_name=region)
    s3.head_bucket(Bucket=fresh_views_bucket)
    location = s3.get_bucket_location(Bucket=fresh_views_bucket)["LocationConstraint"]
    assert (location or "us-east-1") == region
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names.count(fresh_views_bucket) == 1


def test_init_prints_text_for_people(fresh_names, capsys) -> None:
    table, _ = fresh_names
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    assert f"table  {table} (created)" in out
    assert "topic  arn:aws:sns:" in out
    assert "views  none (VIEWS_BUCKET is empty)" in out


def test_invalid_input_exits_2_with_the_message_and_no_traceback(monkeypatch, capsys) -> None:
    def refuse() -> bool:
        raise InvalidInput("table", "must not be empty")

    monkeypatch.setattr(store, "ensure_table", refuse)
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert err == "error: table: must not be empty\n"


def test_a_tracker_error_exits_1_with_the_message(monkeypatch, capsys) -> None:
    monkeypatch.setenv("POOL_TIER", "9-9")  # settings refuse it with a ConfigError
    assert main(["init"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: POOL_TIER must be one of")
    assert "Traceback" not in err


def test_an_aws_refusal_exits_1_naming_aws(monkeypatch, capsys) -> None:
    def denied() -> bool:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "CreateTable")

    monkeypatch.setattr(store, "ensure_table", denied)
    assert main(["init"]) == 1
    assert capsys.readouterr().err.startswith("error: AWS: ")


def test_usage_errors_exit_2_and_help_exits_0(capsys) -> None:
    assert main(["no-such-command"]) == 2
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "init" in capsys.readouterr().out


def test_the_module_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "init" in done.stdout
