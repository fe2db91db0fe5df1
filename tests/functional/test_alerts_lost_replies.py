"""Lost SNS replies (moto SNS, SQS subscriber, DynamoDB Local ledger): a publish that SNS accepted but
whose answer never came back costs at most one extra copy per lost reply, never botocore's retries.

The reply is dropped by a botocore `before-send` hook on the publish client: it sends the request to
moto itself (so SNS accepts and delivers it), then raises ReadTimeoutError as if the answer had been
lost on the way back, which is exactly what botocore's retry logic sees in that case.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from chalicelib import aws
from chalicelib.alerts.engine import AlertEngine
from chalicelib.alerts.publisher import SnsPublisher, send_test_alert
from chalicelib.cli import main as cli_main
from chalicelib.periods import HOUR, day_start
from chalicelib.settings import get_settings
from chalicelib.store.alerts import AlertLedger
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from tests.functional.collector_helpers import PAST_HOURLY_RETENTION_DAYS

pytestmark = pytest.mark.usefixtures("usage_table")

DAY = "2026-11-20"
NOON = day_start(DAY) + 12 * HOUR
WALL = 1_900_000_000


class ReplyDropper:
    """Lets SNS accept the next `count` publishes, then loses their replies."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.sent = 0

    def __call__(self, request: Any, **_: Any) -> None:
        if self.count <= 0:
            return  # botocore sends it itself
        self.count -= 1
        self.sent += 1
        body = request.body if isinstance(request.body, bytes | str | None) else bytes(request.body)
        response = requests.request(
            request.method, request.url, headers=dict(request.headers), data=body, timeout=10
        )
        assert response.status_code == 200, response.text  # SNS accepted it ...
        raise ReadTimeoutError(endpoint_url=request.url)  # ... and its answer was lost

    def attach(self, client: Any) -> ReplyDropper:
        client.meta.events.register("before-send.sns.Publish", self)
        return self


@pytest.fixture(autouse=True)
def _small_pools(monkeypatch):
    monkeypatch.setenv("LARGE_POOL_CAP", "1000")
    monkeypatch.setenv("MINI_POOL_CAP", "10000")
    monkeypatch.setenv("STAGE", "test")
    get_settings.cache_clear()


def _cross_half_the_large_pool() -> None:
    cell = Cell("key_alpha", "gpt-4o", "proj_main")
    usage = Usage(input_tokens=450, output_tokens=150)
    RollupStore().replace_day(
        DayRollup(DAY, {(f"{DAY}T01", cell): usage}, {cell: usage}),
        keep_hourly=True,
        hourly_retention_days=PAST_HOURLY_RETENTION_DAYS,
    )


def _engine(seconds: int) -> AlertEngine:
    return AlertEngine(get_settings(), clock=lambda: WALL + seconds)


def _deliveries(subscriber, expected: int) -> int:
    """How many notifications arrived: wait for `expected`, then take whatever else is waiting."""
    return len(subscriber.drain(expected, timeout=5.0) + subscriber.drain(None))


def test_the_publish_client_never_retries_a_lost_reply(sqs_subscriber, alerts_topic):
    dropper = ReplyDropper(1).attach(aws.sns_publish_client())
    with pytest.raises(ReadTimeoutError):
        send_test_alert(get_settings(), NOON)
    assert dropper.sent == 1
    assert _deliveries(sqs_subscriber, 1) == 1


def test_a_client_with_botocores_retries_would_republish_what_sns_accepted(sqs_subscriber, alerts_topic):
    # the bug this guards against (the shared client config: 5 retries), shown with the hook above:
    # one `alerts test` arrives 6 times, as the issue found
    retrying = boto3.client("sns", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    dropper = ReplyDropper(6).attach(retrying)
    with pytest.raises(ReadTimeoutError):
        send_test_alert(get_settings(), NOON, publisher=SnsPublisher(alerts_topic, client=retrying))
    assert dropper.sent == 6
    assert _deliveries(sqs_subscriber, 6) == 6


@pytest.mark.parametrize("lost", [1, 3])
def test_each_lost_reply_costs_at_most_one_extra_copy_and_every_attempt_is_in_the_ledger(
    sqs_subscriber, lost
):
    _cross_half_the_large_pool()
    dropper = ReplyDropper(lost).attach(aws.sns_publish_client())
    reports = [_engine(run).run(NOON + run) for run in range(lost)]
    [pending] = AlertLedger().records([DAY])
    assert [(report.published, report.failed) for report in reports] == [(0, 1)] * lost
    assert (pending.state, pending.attempts, pending.last_outcome) == ("pending", lost, "unknown")
    assert "ReadTimeoutError" in (pending.last_error or "")

    done = _engine(100).run(NOON + 100)
    again = _engine(200).run(NOON + 200)

    assert (done.published, again.published) == (1, 0)
    assert dropper.sent == lost
    # the lost ones (SNS had accepted them) and the confirmed one: one extra copy per lost reply
    assert _deliveries(sqs_subscriber, lost + 1) == lost + 1
    [published] = AlertLedger().records([DAY])
    assert (published.state, published.attempts, published.last_outcome) == (
        "published",
        lost + 1,
        "accepted",
    )


def test_alerts_test_with_a_lost_reply_exits_1_and_arrives_once(sqs_subscriber, capsys):
    ReplyDropper(1).attach(aws.sns_publish_client())
    code = cli_main.main(["alerts", "test"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: AWS: ")
    assert _deliveries(sqs_subscriber, 1) == 1
