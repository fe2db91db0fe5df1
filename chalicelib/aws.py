"""Cached boto3 factories. Endpoints come from the standard AWS_ENDPOINT_URL* variables.

Nothing here runs at import; tests call `cache_clear()` after pointing the environment elsewhere.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sns.client import SNSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
# Publishing is not idempotent: botocore's retry after a lost reply republishes a message SNS already
# accepted (and so does its retry of a throttled or 5xx answer that SNS had in fact applied). One
# attempt per call; the alert ledger (chalicelib.alerts.engine) decides about retries, one per run.
_PUBLISH_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=10
)


@lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    """The low-level DynamoDB client (table management, batch and transactional writes)."""
    return _session().client("dynamodb", config=_CONFIG)


@lru_cache(maxsize=1)
def dynamodb_table() -> Table:
    """The usage table named by USAGE_TABLE."""
    resource: Any = _session().resource("dynamodb", config=_CONFIG)
    table: Table = resource.Table(get_settings().usage_table)
    return table


@lru_cache(maxsize=1)
def sns_client() -> SNSClient:
    """The SNS client for topic management (init, tests); alerts use `sns_publish_client`."""
    return _session().client("sns", config=_CONFIG)


@lru_cache(maxsize=1)
def sns_publish_client() -> SNSClient:
    """The SNS client alerts are published with: one attempt per call, never a blind retry."""
    return _session().client("sns", config=_PUBLISH_CONFIG)


@lru_cache(maxsize=1)
def s3_client() -> S3Client:
    """The S3 client: the dashboard is published with it, the materialized answers kept and read."""
    return _session().client("s3", config=_CONFIG)


def cache_clear() -> None:
    """Forget every client, so the next call reads the environment again."""
    for factory in (_session, dynamodb_client, dynamodb_table, sns_client, sns_publish_client, s3_client):
        factory.cache_clear()
