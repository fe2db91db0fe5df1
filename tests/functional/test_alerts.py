"""Alerts end to end: DynamoDB Local ledger, moto SNS topic, an SQS queue subscribed to it.

Usage is seeded by writing whole days of rollups (`RollupStore.replace_day`), so thresholds are exact;
the last test runs the real collector on the OpenAI simulator with the alert hook.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.alerts.engine import LEASE_SECONDS, AlertEngine, run_alerts
from chalicelib.alerts.publisher import SnsPublisher
from chalicelib.catalog import PriceTable
from chalicelib.cli import main as cli_main
from chalicelib.keys.model import Budget, KeyMapping
from chalicelib.periods import DAY, HOUR, day_label, day_start
from chalicelib.pools import pool_report
from chalicelib.query import clock
from chalicelib.runner import Runner
from chalicelib.settings import get_settings
from chalicelib.store.alerts import AlertLedger
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional.collector_helpers import PAST_HOURLY_RETENTION_DAYS, make_client, past_config

pytestmark = pytest.mark.usefixtures("usage_table")

DAY0 = day_start("2026-11-20")
NOON = DAY0 + 12 * HOUR
LARGE_CAP = 1_000
MINI_CAP = 10_000
WALL = 1_900_000_000  # the engines' wall clock: leases and ledger times, apart from the data's time


@pytest.fixture(autouse=True)
def _small_pools(monkeypatch):
    monkeypatch.setenv("LARGE_POOL_CAP", str(LARGE_CAP))
    monkeypatch.setenv("MINI_POOL_CAP", str(MINI_CAP))
    monkeypatch.setenv("DASHBOARD_URL", "https://usage.example.com/")
    monkeypatch.setenv("STAGE", "test")
    get_settings.cache_clear()


class Day:
    """One UTC day of usage, rewritten whole on every `set` (as the collector does)."""

    def __init__(self, day: str) -> None:
        self.day = day
        self.hourly: dict[tuple[str, Cell], Usage] = {}

    def set(
        self, hour: int, key: str, model: str, tokens: int, project: str = "proj_main", **money: Any
    ) -> Day:
        label = f"{self.day}T{hour:02d}"
        self.hourly[(label, Cell(key, model, project))] = Usage(
            input_tokens=tokens - tokens // 4, output_tokens=tokens // 4, **money
        )
        daily: dict[Cell, Usage] = {}
        for (_, cell), usage in self.hourly.items():
            daily[cell] = daily.get(cell, Usage()) + usage
        RollupStore().replace_day(
            DayRollup(self.day, dict(self.hourly), daily),
            keep_hourly=True,
            hourly_retention_days=PAST_HOURLY_RETENTION_DAYS,
        )
        return self


def engine(**kwargs: Any) -> AlertEngine:
    kwargs.setdefault("clock", lambda: WALL)
    return AlertEngine(get_settings(), **kwargs)


def messages(subscriber, expected: int | None = None) -> list[dict[str, Any]]:
    """Drained notifications as {title, attributes, doc (the JSON document SQS receives)}."""
    drained = subscriber.drain(expected, timeout=5.0)
    if expected is not None:
        drained += subscriber.drain(None)  # nothing more may be waiting
    return [
        {
            "title": envelope.get("Subject"),
            "attributes": {
                name: value["Value"] for name, value in envelope.get("MessageAttributes", {}).items()
            },
            "doc": json.loads(envelope["Message"]),
        }
        for envelope in drained
    ]


def concurrently(count: int, work: Callable[[], object]) -> list[object]:
    results: list[object] = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


# -- pools ------------------------------------------------------------------------------------------
def test_crossing_50_80_and_100_percent_sends_three_messages_over_repeated_and_concurrent_runs(
    sqs_subscriber,
):
    today = Day("2026-11-20")
    published: list[int] = []
    for tokens in (400, 550, 850, 1_000, 1_200):
        today.set(1, "key_alpha", "gpt-4o-2024-08-06", tokens)
        published += [run_alerts(NOON, []) for _ in range(2)]
        published += concurrently(6, lambda: run_alerts(NOON, []))  # type: ignore[misc]

    got = messages(sqs_subscriber, expected=3)
    assert sum(published) == 3
    assert sorted(m["doc"]["threshold"] for m in got) == ["100", "50", "80"]
    assert {m["attributes"]["kind"] for m in got} == {"pool_threshold"}
    assert {m["attributes"]["pool"] for m in got} == {"large"}
    assert [m["title"] for m in got if m["doc"]["threshold"] == "80"] == [
        "[OpenAI usage] Large pool at 80% (850 / 1,000 tokens)"
    ]
    records = AlertLedger().records(["2026-11-20"])
    assert {(r.subject, r.threshold, r.state, r.attempts) for r in records} == {
        ("pool:large", "50", "published", 1),
        ("pool:large", "80", "published", 1),
        ("pool:large", "100", "published", 1),
    }


def test_a_jump_past_several_thresholds_sends_only_the_highest(sqs_subscriber):
    Day("2026-11-20").set(2, "key_alpha", "gpt-4o", 900)

    report = engine().run(NOON)

    assert (report.published, report.superseded) == (1, 1)
    assert [m["doc"]["threshold"] for m in messages(sqs_subscriber, expected=1)] == ["80"]
    states = {r.threshold: r.state for r in AlertLedger().records(["2026-11-20"])}
    assert states == {"50": "superseded", "80": "published"}


def test_the_next_utc_day_starts_fresh(sqs_subscriber):
    Day("2026-11-20").set(3, "key_alpha", "gpt-4o", 600)
    Day("2026-11-21").set(3, "key_alpha", "gpt-4o", 600)

    first = engine().run(NOON)
    second = engine().run(NOON + DAY)
    again = engine().run(NOON + DAY)

    got = messages(sqs_subscriber, expected=2)
    assert (first.published, second.published, again.published) == (1, 1, 0)
    assert sorted(m["doc"]["period"] for m in got) == ["2026-11-20", "2026-11-21"]


def test_a_dated_snapshot_model_lands_in_its_own_pool(sqs_subscriber):
    Day("2026-11-20").set(4, "key_alpha", "gpt-4o-mini-2024-07-18", 6_000)  # 6x the large cap

    engine().run(NOON)

    got = messages(sqs_subscriber, expected=1)
    assert [(m["attributes"]["pool"], m["doc"]["threshold"]) for m in got] == [("mini", "50")]
    report = pool_report(NOON, get_settings(), RollupStore(), DirectoryStore(), MetaStore())
    assert (report.pool("large").used, report.pool("mini").used) == (0, 6_000)


def test_a_forecast_warns_once_when_the_rate_would_exhaust_the_pool_before_midnight(sqs_subscriber):
    today = Day("2026-11-20")
    for hour in (9, 10, 11):
        today.set(hour, "key_alpha", "gpt-4o", 150)  # 450 used, 150/h: 1,000 at about 15:40

    engine().run(NOON)
    engine().run(NOON + 600)

    kinds = Counter(m["attributes"]["kind"] for m in messages(sqs_subscriber, expected=1))
    assert kinds == {"pool_forecast": 1}
    forecast = AlertLedger().records(["2026-11-20"])[0]
    assert forecast.message is not None
    assert "may run out at 15:40 UTC" in forecast.message.title


# -- delivery -------------------------------------------------------------------------------------
def test_a_failed_publish_stays_pending_and_is_delivered_once_by_the_next_run(sqs_subscriber, alerts_topic):
    Day("2026-11-20").set(1, "key_alpha", "gpt-4o", 600)
    missing_topic = alerts_topic.rsplit(":", 1)[0] + ":no-such-topic"

    failed = engine(publisher=SnsPublisher(missing_topic)).run(NOON)
    [pending] = AlertLedger().records(["2026-11-20"])
    retried = engine().run(NOON + 900)
    quiet = engine().run(NOON + 1800)

    assert (failed.published, failed.failed) == (0, 1)
    assert (pending.state, pending.attempts, pending.lease_owner) == ("pending", 1, None)
    assert (pending.last_error or "").startswith("NotFound")
    assert (retried.published, quiet.published) == (1, 0)
    assert len(messages(sqs_subscriber, expected=1)) == 1
    [done] = AlertLedger().records(["2026-11-20"])
    assert (done.state, done.attempts) == ("published", 2)


def test_the_alert_hook_never_fails_the_collection(monkeypatch, alerts_topic, sqs_subscriber):
    Day("2026-11-20").set(1, "key_alpha", "gpt-4o", 600)
    monkeypatch.setenv("ALERTS_TOPIC_ARN", alerts_topic.rsplit(":", 1)[0] + ":gone")
    get_settings.cache_clear()

    assert run_alerts(NOON, []) == 0

    monkeypatch.setenv("ALERTS_TOPIC_ARN", alerts_topic)
    get_settings.cache_clear()
    assert run_alerts(NOON, []) == 1
    assert len(messages(sqs_subscriber, expected=1)) == 1


def test_a_crash_between_recording_and_publishing_is_delivered_by_the_next_run(sqs_subscriber):
    Day("2026-11-20").set(1, "key_alpha", "gpt-4o", 600)
    crashed = engine()
    crashed.record(crashed.evaluate(NOON), [], NOON)  # ... and the process dies here

    assert messages(sqs_subscriber) == []
    assert engine().run(NOON + 900).published == 1
    assert engine().run(NOON + 1800).published == 0
    assert len(messages(sqs_subscriber, expected=1)) == 1


def test_a_run_that_died_holding_the_lease_is_retried_once_the_lease_expires(sqs_subscriber):
    Day("2026-11-20").set(1, "key_alpha", "gpt-4o", 600)
    dead = engine(owner="dead-run")
    dead.record(dead.evaluate(NOON), [], NOON)
    assert AlertLedger().claim(
        "2026-11-20", "pool:large", "50", owner="dead-run", now=WALL, lease_seconds=LEASE_SECONDS
    )

    early = engine(clock=lambda: WALL + LEASE_SECONDS - 1).run(NOON)
    late = engine(clock=lambda: WALL + LEASE_SECONDS + 1).run(NOON)
    after = engine(clock=lambda: WALL + 2 * LEASE_SECONDS).run(NOON)

    assert (early.published, late.published, after.published) == (0, 1, 0)
    assert len(messages(sqs_subscriber, expected=1)) == 1
    [done] = AlertLedger().records(["2026-11-20"])
    assert (done.state, done.attempts) == ("published", 2)


def test_concurrent_runs_over_pending_alerts_publish_each_once(sqs_subscriber):
    today = Day("2026-11-20")
    for index in range(8):
        today.set(1, f"key_{index}", f"gpt-unknown-{index}", 10)  # eight unclassified models
    seeded = engine()
    seeded.record(seeded.evaluate(NOON), [], NOON)

    results = concurrently(8, lambda: engine(clock=lambda: WALL + 5).run(NOON + 60))

    assert sum(r.published for r in results) == 8  # type: ignore[attr-defined]
    got = messages(sqs_subscriber, expected=8)
    assert sorted(m["doc"]["subject"] for m in got) == sorted(f"model:gpt-unknown-{i}" for i in range(8))


# -- unclassified models and unmapped keys ----------------------------------------------------------
def test_an_unclassified_model_and_an_unmapped_key_each_alert_once(sqs_subscriber):
    Day("2026-11-20").set(5, "key_stranger", "gpt-9-preview-2026-10-01", 42)
    newly = DirectoryStore().record_unmapped(["key_stranger"], NOON)

    first = run_alerts(NOON, newly)
    later = [run_alerts(NOON + 900 * i, []) for i in range(1, 4)]

    got = messages(sqs_subscriber, expected=2)
    assert (first, sum(later)) == (2, 0)
    by_kind = {m["attributes"]["kind"]: m for m in got}
    assert set(by_kind) == {"unclassified_model", "unmapped_key"}
    assert by_kind["unmapped_key"]["attributes"]["key_id"] == "key_stranger"
    assert by_kind["unmapped_key"]["title"] == "[OpenAI usage] Unmapped API key key_stranger is spending"
    assert by_kind["unclassified_model"]["attributes"]["pool"] == "unclassified"
    assert by_kind["unclassified_model"]["doc"]["detail"]["model"] == "gpt-9-preview-2026-10-01"


# -- the message ----------------------------------------------------------------------------------
def test_a_message_carries_the_attributes_the_top_five_contributors_and_the_dashboard(sqs_subscriber):
    directory = DirectoryStore()
    today = Day("2026-11-20")
    for index, tokens in enumerate((90, 80, 70, 60, 50, 40, 30)):
        key = f"key_person{index}"
        directory.put_mapping(KeyMapping(key, f"Laptop {index}", owner=f"Person {index}"))
        today.set(6, key, "gpt-4o-2024-08-06", tokens)
    today.set(6, "key_person0", "o3-2025-04-16", 100)  # 520 tokens: 52%

    engine().run(NOON)

    [message] = messages(sqs_subscriber, expected=1)
    assert message["attributes"] == {
        "kind": "pool_threshold",
        "pool": "large",
        "severity": "info",
        "alert_id": "2026-11-20/pool:large#50",
    }
    doc = message["doc"]
    assert doc["schema"] == "openai-usage-tracker.alert/1"
    assert message["title"] == doc["title"] == "[OpenAI usage] Large pool at 50% (520 / 1,000 tokens)"
    assert [(c["owner"], c["model"], c["tokens"]) for c in doc["top_contributors"]] == [
        ("Person 0", "o3-2025-04-16", 100),
        ("Person 0", "gpt-4o-2024-08-06", 90),
        ("Person 1", "gpt-4o-2024-08-06", 80),
        ("Person 2", "gpt-4o-2024-08-06", 70),
        ("Person 3", "gpt-4o-2024-08-06", 60),
    ]
    text = doc["text"]
    for expected in (
        "Used        520 of 1,000 tokens (52.0%)",
        "Data as of  2026-11-20 12:00 UTC",
        "Person 3  Laptop 3 (key_person3)",
        "Dashboard: https://usage.example.com/",
        "not expected to run out before the reset",
    ):
        assert expected in text
    assert "Person 4" not in text
    assert doc["detail"]["used"] == 520
    assert doc["detail"]["cap"] == LARGE_CAP


def test_each_protocol_gets_its_own_body(sqs_subscriber):
    Day("2026-11-20").set(1, "key_alpha", "gpt-4o", 600)
    engine().run(NOON)
    [record] = AlertLedger().records(["2026-11-20"])
    assert record.message is not None

    bodies = json.loads(record.message.structured)
    chatbot = json.loads(bodies["https"])

    assert bodies["default"] == bodies["email"] == json.loads(bodies["sqs"])["text"]
    assert bodies["sqs"] == bodies["lambda"] == bodies["email-json"]
    assert (chatbot["version"], chatbot["source"]) == ("1.0", "custom")
    assert chatbot["metadata"]["additionalContext"]["pool"] == "large"
    assert len(messages(sqs_subscriber, expected=1)) == 1


# -- key budgets ----------------------------------------------------------------------------------
def test_a_daily_token_budget_fires_each_threshold_once_per_day(sqs_subscriber):
    directory = DirectoryStore()
    directory.put_mapping(
        KeyMapping("key_budget", "CI runner", owner="Ops", budget=Budget("daily", "tokens", Decimal(2_000)))
    )
    today = Day("2026-11-20")
    published = []
    for tokens in (1_100, 1_700, 2_100):
        today.set(1, "key_budget", "gpt-4o-mini", tokens)  # mini pool: 21% at most, no pool alert
        published += [engine().run(NOON).published for _ in range(2)]
    Day("2026-11-21").set(1, "key_budget", "gpt-4o-mini", 1_100)
    next_day = engine().run(NOON + DAY).published

    got = messages(sqs_subscriber, expected=4)
    assert (published, next_day) == ([1, 0, 1, 0, 1, 0], 1)
    assert {m["attributes"]["kind"] for m in got} == {"key_budget"}
    assert {m["attributes"]["key_id"] for m in got} == {"key_budget"}
    assert sorted((m["doc"]["period"], m["doc"]["threshold"]) for m in got) == [
        ("2026-11-20", "100"),
        ("2026-11-20", "50"),
        ("2026-11-20", "80"),
        ("2026-11-21", "50"),
    ]
    eighty = next(m for m in got if m["doc"]["threshold"] == "80")
    assert eighty["title"] == "[OpenAI usage] Key CI runner at 80% of its daily budget (1,700 / 2,000 tokens)"
    assert [c["model"] for c in eighty["doc"]["top_contributors"]] == ["gpt-4o-mini"]


def test_a_monthly_dollar_budget_counts_billed_dollars_where_settled_and_estimates_otherwise(sqs_subscriber):
    directory = DirectoryStore()
    directory.put_mapping(KeyMapping("key_spend", "Batch jobs", budget=Budget("monthly", "usd", Decimal(10))))
    # Settled (ended more than 48 h ago): billed $3 counts, not the $100 estimate.
    Day("2026-11-05").set(
        1, "key_spend", "gpt-4o-mini", 10, billed_usd=Decimal(3), estimated_usd=Decimal(100)
    )
    # Provisional (today): the estimate counts, billed is not final yet.
    today = Day("2026-11-20").set(1, "key_spend", "gpt-4o-mini", 10, estimated_usd=Decimal("2.5"))
    Day("2026-10-30").set(1, "key_spend", "gpt-4o-mini", 10, billed_usd=Decimal(50))  # last month

    first = engine().run(NOON)
    today.set(2, "key_spend", "gpt-4o-mini", 10, estimated_usd=Decimal("2.6"))  # $8.10: 81%
    second = engine().run(NOON + 900)
    repeat = engine().run(NOON + 1800)

    # The first run also tells, once, that the month-end forecast passes $10
    # (chalicelib.alerts.budget_forecast).
    drained = messages(sqs_subscriber, expected=3)
    assert (first.published, second.published, repeat.published) == (2, 1, 0)
    assert [m["doc"]["threshold"] for m in drained if m["doc"]["kind"] == "budget_forecast"] == ["once"]
    got = [m for m in drained if m["doc"]["kind"] == "key_budget"]
    assert sorted((m["doc"]["period"], m["doc"]["threshold"]) for m in got) == [
        ("2026-11", "50"),
        ("2026-11", "80"),
    ]
    fifty = next(m for m in got if m["doc"]["threshold"] == "50")
    assert fifty["doc"]["detail"]["used"] == "5.5"
    assert fifty["title"] == "[OpenAI usage] Key Batch jobs at 50% of its monthly budget ($5.50 / $10.00)"


# -- the CLI ----------------------------------------------------------------------------------------
def test_alerts_test_publishes_and_alerts_list_shows_what_fired(sqs_subscriber, capsys, monkeypatch):
    code = cli_main.main(["alerts", "test"])
    out = capsys.readouterr().out
    [test_message] = messages(sqs_subscriber, expected=1)
    assert code == 0
    assert "published to" in out
    assert test_message["attributes"]["kind"] == "test"
    assert test_message["title"] == "[OpenAI usage] Test alert from the test stage"

    monkeypatch.setattr(clock, "now", lambda: NOON)
    Day("2026-11-20").set(1, "key_alpha", "gpt-4o", 600)
    engine(publisher=SnsPublisher("arn:aws:sns:us-east-1:123456789012:gone")).run(NOON)

    assert cli_main.main(["alerts", "list", "--days", "2", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["alerts"]
    assert [(a["alert_id"], a["state"], a["attempts"]) for a in listed] == [
        ("2026-11-20/pool:large#50", "pending", 1)
    ]
    assert cli_main.main(["alerts", "list"]) == 0
    text = capsys.readouterr().out
    for expected in ("pending", "Large pool at 50%", "last error: NotFound"):
        assert expected in text
    assert cli_main.main(["alerts", "list", "--days", "0"]) == 2


def test_alerts_list_prints_a_superseded_alert_once(sqs_subscriber, capsys, monkeypatch):

    monkeypatch.setattr(clock, "now", lambda: NOON)
    Day("2026-11-20").set(2, "key_alpha", "gpt-4o", 900)
    engine().run(NOON)
    messages(sqs_subscriber, expected=1)

    assert cli_main.main(["alerts", "list", "--days", "1"]) == 0
    text = capsys.readouterr().out

    assert text.count("2026-11-20/pool:large#50") == 1
    assert "superseded: a higher threshold fired in the same run" in text
    assert len(text.strip().splitlines()) == 3  # the header, the published 80 %, the superseded 50 %
    assert cli_main.main(["alerts", "list", "--days", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --days: must be between 1 and ")


# -- with the collector ---------------------------------------------------------------------------
def test_collections_on_the_simulator_with_the_alert_hook_alert_once(sim_server, sqs_subscriber):
    def run_once() -> int:
        runner = Runner(
            make_client(sim_server),
            config=past_config(),
            prices=PriceTable.load(),
            alert_hook=run_alerts,
        )
        report = runner.incremental(SIM_NOW)
        assert report.status == "ok"
        return report.alerts_published

    first = run_once()
    second = run_once()

    got = messages(sqs_subscriber, expected=first)
    assert first > 0
    assert second == 0
    ids = [m["attributes"]["alert_id"] for m in got]
    assert len(ids) == len(set(ids)) == first
    assert any(alert_id.startswith(f"{day_label(SIM_NOW)}/pool:") for alert_id in ids)
