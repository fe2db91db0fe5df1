"""The local AWS stack: both servers answer plain boto3 through the standard variables, and stopping
leaves no process behind, whichever way the owner ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid

import boto3
import pytest

from chalicelib.settings import get_settings
from devstack import LocalStack, group_exists
from devstack.stack import ROOT


def _wait_gone(pgids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pgid for pgid in pgids if group_exists(pgid)]
        if not alive:
            return []
        time.sleep(0.1)
    return alive


def test_dynamodb_local_answers_plain_boto3_through_the_standard_variables(local_aws: LocalStack) -> None:
    client = boto3.client("dynamodb")
    assert client.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == local_aws.endpoints.dynamodb
    name = f"plain-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    assert client.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    # DynamoDB Local, not moto: it reports its own server.
    assert "Jetty" in client.list_tables()["ResponseMetadata"]["HTTPHeaders"].get("server", "")
    client.delete_table(TableName=name)


def test_moto_answers_sns_and_s3_through_the_standard_variables(local_aws: LocalStack) -> None:
    sns = boto3.client("sns")
    s3 = boto3.client("s3")
    assert (
        sns.meta.endpoint_url
        == s3.meta.endpoint_url
        == os.environ["AWS_ENDPOINT_URL"]
        == local_aws.endpoints.moto
    )
    arn = sns.create_topic(Name=f"plain-{uuid.uuid4().hex[:8]}")["TopicArn"]
    assert arn.startswith("arn:aws:sns:us-east-1:")
    assert sns.publish(TopicArn=arn, Message="hello")["MessageId"]
    bucket = f"plain-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<html></html>")
    assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read() == b"<html></html>"


def test_sqs_subscriber_receives_what_the_alerts_topic_publishes(alerts_topic: str, sqs_subscriber) -> None:
    boto3.client("sns").publish(TopicArn=alerts_topic, Subject="budget", Message="80% of budget")
    envelopes = sqs_subscriber.drain(expected=1)
    assert [(e["Subject"], e["Message"], e["TopicArn"]) for e in envelopes] == [
        ("budget", "80% of budget", alerts_topic)
    ]
    assert sqs_subscriber.drain() == []


def test_usage_table_fixture_creates_a_table_unique_to_the_test(usage_table: str) -> None:
    assert os.environ["USAGE_TABLE"] == usage_table
    table = boto3.client("dynamodb").describe_table(TableName=usage_table)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert {k["AttributeName"] for k in table["KeySchema"]} == {"pk", "sk"}


def test_views_bucket_fixture_creates_a_bucket_the_settings_name(views_bucket: str) -> None:
    assert os.environ["VIEWS_BUCKET"] == views_bucket
    assert get_settings().views_bucket == views_bucket
    s3 = boto3.client("s3")
    s3.put_object(Bucket=views_bucket, Key="answers/usage.json.gz", Body=b"{}")  # the fixture removes it
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=views_bucket)["Contents"]] == [
        "answers/usage.json.gz"
    ]


def test_a_failing_block_still_stops_the_stack() -> None:
    pids: list[int] = []
    stack = LocalStack()

    def body() -> None:
        with stack:
            pids.extend(p.pid for p in stack.processes if p.pid)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert len(pids) == 2
    # stop() reaps the leaders and kills their groups before returning: nothing to wait for.
    assert _wait_gone(pids, timeout=0.1) == []
    stack.stop()  # stopping again is harmless


_OWNER = textwrap.dedent(
    """
    import time
    from devstack import LocalStack
    with LocalStack() as stack:
        print(" ".join(str(p.pid) for p in stack.processes), flush=True)
        time.sleep(120)
    """
)


def test_the_stack_dies_with_its_owner_even_when_the_owner_is_killed() -> None:
    """SIGKILL runs no cleanup: the kernel's parent-death signal takes the servers down.
    (Ctrl-C and SIGTERM, which unwind the owner, are tested on the demo, in test_demo.py.)"""
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        pids = [int(pid) for pid in line.split()]
        assert len(pids) == 2, owner.stderr.read() if owner.stderr else line
        owner.kill()
        owner.wait(timeout=30)
        assert _wait_gone(pids) == []
    finally:
        owner.kill()
        owner.wait()
