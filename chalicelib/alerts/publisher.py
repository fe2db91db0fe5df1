"""The publisher: one SNS publish per call, and the test message of `alerts test`.

A retry is never botocore's (aws.sns_publish_client has its retries off): it is the ledger's
decision, one claim per attempt (chalicelib.alerts.engine), so every attempt is counted there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws
from chalicelib.alerts.kinds import TEST_KIND, Alert
from chalicelib.alerts.messages import MessageContext, StoredMessage, render
from chalicelib.errors import ConfigError
from chalicelib.periods import day_label
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient


class SnsPublisher:
    """Publishes stored messages to the alerts topic, one attempt per call (aws.sns_publish_client):
    a retry is the ledger's decision, recorded there, never botocore's."""

    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> SNSClient:
        """The SNS client (resolved on first use)."""
        if self._client is None:
            self._client = aws.sns_publish_client()
        return self._client

    def publish(self, message: StoredMessage) -> str:
        """Publish; SNS's message id. Raises ConfigError without a topic, ClientError/BotoCoreError
        when SNS fails."""
        if not self.topic_arn:
            raise ConfigError("ALERTS_TOPIC_ARN is not set: alerts cannot be published")
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=message.title,
            Message=message.structured,
            MessageStructure="json",
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in message.attributes.items()
                if value
            },
        )
        return response["MessageId"]


PUBLISH_ERRORS = (ClientError, BotoCoreError, ConfigError)


def describe(exc: BaseException) -> str:
    """A publish failure as the ledger records it: the AWS error code and message, or the type."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"


def send_test_alert(settings: Settings, now: int, publisher: SnsPublisher | None = None) -> str:
    """Publish one test message (not recorded in the ledger); SNS's message id."""
    alert = Alert(
        kind=TEST_KIND,
        period=day_label(now),
        subject="test",
        threshold=str(now),
        severity="info",
        detail={"note": "test message from `alerts test`"},
    )
    message = render(alert, MessageContext(settings.dashboard_url, settings.stage, now))
    return (publisher or SnsPublisher(settings.alerts_topic_arn)).publish(message)


__all__ = ["PUBLISH_ERRORS", "SnsPublisher", "describe", "send_test_alert"]
