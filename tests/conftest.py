"""Shared fixtures: the local AWS stack and the AWS resources a test needs, each unique to the test.

local_aws       (session) DynamoDB Local + moto server, started once per session (per xdist worker),
                with AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB and fake credentials in os.environ
usage_table     a fresh table (USAGE_TABLE) created by chalicelib.store.ensure_table; deleted after
alerts_topic    a fresh SNS topic (ALERTS_TOPIC_ARN / ALERTS_TOPIC_NAME) in moto; deleted after
sqs_subscriber  an SQS queue subscribed to alerts_topic (raw delivery off), with `drain()`
views_bucket    a fresh S3 bucket (VIEWS_BUCKET) in moto; emptied and deleted after
sim_org, sim_server  the OpenAI simulator's organization and server (simulator/pytest_plugin.py)

Every test starts and ends with chalicelib's settings and client caches cleared, so a test that sets an
environment variable sees it, and the next test does not.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import aws, store
from chalicelib.query.names import forget_names
from chalicelib.settings import get_settings
from devstack import UNSET_VARS, LocalStack

# The OpenAI simulator's fixtures: sim_org, sim_server.
pytest_plugins = ["simulator.pytest_plugin"]


def unique_name(prefix: str) -> str:
    """A resource name no other test (or xdist worker) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _clear_caches() -> None:
    get_settings.cache_clear()
    aws.cache_clear()
    forget_names()


@pytest.fixture(autouse=True)
def _fresh_settings_and_clients() -> Iterator[None]:
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The running local stack, its endpoints exported for the rest of the session."""
    stack = LocalStack(log_dir=tmp_path_factory.mktemp("devstack"))
    with stack, pytest.MonkeyPatch.context() as mp:
        for name in UNSET_VARS:
            mp.delenv(name, raising=False)
        for name, value in stack.env().items():
            mp.setenv(name, value)
        _clear_caches()
        yield stack
    _clear_caches()


@pytest.fixture
def usage_table(local_aws: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty usage table named by USAGE_TABLE; its name."""
    name = unique_name("usage-test")
    monkeypatch.setenv("USAGE_TABLE", name)
    _clear_caches()
    store.ensure_table()
    yield name
    try:
        aws.dynamodb_client().delete_table(TableName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


@pytest.fixture
def alerts_topic(local_aws: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new SNS topic in moto, named by ALERTS_TOPIC_NAME and ALERTS_TOPIC_ARN; its ARN."""
    name = unique_name("alerts-test")
    arn = aws.sns_client().create_topic(Name=name)["TopicArn"]
    monkeypatch.setenv("ALERTS_TOPIC_NAME", name)
    monkeypatch.setenv("ALERTS_TOPIC_ARN", arn)
    _clear_caches()
    yield arn
    aws.sns_client().delete_topic(TopicArn=arn)


@pytest.fixture
def views_bucket(local_aws: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty S3 bucket in moto, named by VIEWS_BUCKET; its name."""
    name = unique_name("views-test")
    aws.s3_client().create_bucket(Bucket=name)  # the local stack's region is us-east-1
    monkeypatch.setenv("VIEWS_BUCKET", name)
    _clear_caches()
    yield name
    s3 = aws.s3_client()
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise


@dataclass
class SqsSubscriber:
    """An SQS queue subscribed to a topic; `drain` returns SNS envelopes (Subject, Message, ...)."""

    client: Any
    queue_url: str
    queue_arn: str
    subscription_arn: str

    def drain(self, expected: int | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Receive and delete messages: until `expected` have arrived (or `timeout` passes), or, with
        no `expected`, until the queue answers empty. Each item is the parsed SNS notification."""
        deadline = time.monotonic() + timeout
        envelopes: list[dict[str, Any]] = []
        while expected is None or len(envelopes) < expected:
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0 if expected is None else 1,
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            for message in messages:
                envelopes.append(json.loads(message["Body"]))
                self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if (expected is None and not messages) or time.monotonic() >= deadline:
                break
        return envelopes


@pytest.fixture
def sqs_subscriber(alerts_topic: str, local_aws: LocalStack) -> Iterator[SqsSubscriber]:
    """A queue receiving everything published to `alerts_topic`, wrapped in SNS's JSON envelope."""
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=unique_name("alerts-sub"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": alerts_topic}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    subscription_arn = aws.sns_client().subscribe(
        TopicArn=alerts_topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    yield SqsSubscriber(sqs, queue_url, queue_arn, subscription_arn)
    aws.sns_client().unsubscribe(SubscriptionArn=subscription_arn)
    sqs.delete_queue(QueueUrl=queue_url)
