"""`init`: create the usage table, the alerts topic and, when set, the views bucket wherever the
environment points. Idempotent.

The same path serves the local stack and a deployment where no CloudFormation stack creates them:
the table named by USAGE_TABLE (chalicelib.store), the SNS topic named by ALERTS_TOPIC_NAME, the S3
bucket named by VIEWS_BUCKET (none when it is empty).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError

from chalicelib import aws, store
from chalicelib.cli.common import add_command, emit
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

    from chalicelib.cli.common import Subparsers

US_EAST_1 = "us-east-1"  # the one region whose CreateBucket takes no LocationConstraint


def register(subparsers: Subparsers) -> None:
    """Add the `init` command."""
    add_command(
        subparsers,
        "init",
        summary="create the DynamoDB table, the SNS alerts topic and the views bucket (idempotent)",
        handler=run,
    )


def ensure_bucket(name: str) -> None:
    """Create the S3 bucket `name` in the client's region unless this account already has it."""
    s3 = aws.s3_client()
    region = s3.meta.region_name or US_EAST_1
    try:
        if region == US_EAST_1:
            s3.create_bucket(Bucket=name)
        else:
            constraint = cast("BucketLocationConstraintType", region)  # the stubs know fewer regions
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": constraint})
    except ClientError as exc:
        # us-east-1 answers 200 for a bucket we own; every other region answers this code.
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise


def run(args: argparse.Namespace) -> int:
    """Create what is missing and report what exists."""
    settings = get_settings()
    created = store.ensure_table()
    # CreateTopic returns the existing topic's ARN when one of that name exists.
    topic_arn = aws.sns_client().create_topic(Name=settings.alerts_topic_name)["TopicArn"]
    views_bucket = settings.views_bucket or None
    if views_bucket:
        ensure_bucket(views_bucket)
    emit(
        args,
        {
            "table": settings.usage_table,
            "table_created": created,
            "topic_arn": topic_arn,
            "views_bucket": views_bucket,
        },
        [
            f"table  {settings.usage_table} ({'created' if created else 'already there'})",
            f"topic  {topic_arn}",
            f"views  {views_bucket or 'none (VIEWS_BUCKET is empty)'}",
        ],
    )
    return 0
