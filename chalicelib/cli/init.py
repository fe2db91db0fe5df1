"""`init`: create the usage table and the alerts topic wherever the environment points. Idempotent.

The same path serves the local stack and a deployment where no CloudFormation stack creates them:
the table named by USAGE_TABLE (chalicelib.store), the SNS topic named by ALERTS_TOPIC_NAME.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from chalicelib import aws, store
from chalicelib.cli.common import add_command, emit
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add the `init` command."""
    add_command(
        subparsers,
        "init",
        summary="create the DynamoDB table and the SNS alerts topic (idempotent)",
        handler=run,
    )


def run(args: argparse.Namespace) -> int:
    """Create what is missing and report what exists."""
    settings = get_settings()
    created = store.ensure_table()
    # CreateTopic returns the existing topic's ARN when one of that name exists.
    topic_arn = aws.sns_client().create_topic(Name=settings.alerts_topic_name)["TopicArn"]
    emit(
        args,
        {"table": settings.usage_table, "table_created": created, "topic_arn": topic_arn},
        [
            f"table  {settings.usage_table} ({'created' if created else 'already there'})",
            f"topic  {topic_arn}",
        ],
    )
    return 0
