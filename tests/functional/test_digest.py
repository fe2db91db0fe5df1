"""Digests end to end: the simulator's 30 days collected into DynamoDB Local, the weekly and monthly
digests previewed with exact figures from the simulator's own truth, and the daily schedule sending
each digest once per period to a moto SNS topic (counted on an SQS subscriber)."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import redirect_stdout
from decimal import Decimal
from typing import Any

import pytest

from chalicelib import aws, digest_send, store
from chalicelib.alerts.publisher import SnsPublisher
from chalicelib.cli import main as cli_main
from chalicelib.digest_send import DigestSender, preview
from chalicelib.keys.model import Budget, KeyMapping
from chalicelib.observability import metrics
from chalicelib.periods import DAY, HOUR, day_start
from chalicelib.query import clock, usage_report
from chalicelib.query.hygiene import hygiene_report
from chalicelib.settings import get_settings
from chalicelib.store.alerts import AlertLedger, alert_key
from chalicelib.store.directory import DirectoryStore
from simulator.org import SyntheticOrg
from simulator.pytest_plugin import SIM_NOW, SIM_SPEC
from simulator.server import SimulatorServer
from tests.conftest import unique_name
from tests.functional import api_helpers
from tests.functional.api_helpers import fill_from_simulator, truth_billed, truth_cells

MONDAY = day_start("2026-11-16") + 6 * HOUR  # the digest schedule's run after week 2026-W46
WEEK = (day_start("2026-11-09"), day_start("2026-11-16"))
PREVIOUS_WEEK = (day_start("2026-11-02"), day_start("2026-11-09"))
TEAMS = {0: "research", 1: "research", 2: "platform"}  # key index (sorted directory ids) -> team
WALL = 1_900_000_000


class Filled:
    def __init__(self, name: str, org: SyntheticOrg, key_ids: list[str]) -> None:
        self.name, self.org, self.key_ids = name, org, key_ids


@pytest.fixture(scope="module")
def filled(local_aws: Any) -> Iterator[Filled]:
    name = unique_name("digest")
    org = SyntheticOrg(SIM_SPEC)
    with SimulatorServer(org) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("USAGE_TABLE", name)
        api_helpers._clear()
        store.ensure_table()
        fill_from_simulator(server)
        directory = DirectoryStore()
        key_ids = sorted(directory.directory().keys)
        for index, team in TEAMS.items():
            budget = Budget("monthly", "usd", Decimal("0.01")) if index == 0 else None
            directory.put_mapping(
                KeyMapping(
                    key_id=key_ids[index],
                    name=f"Mapped {index}",
                    team=team,
                    budget=budget,
                    created_at=SIM_NOW,
                )
            )
        api_helpers._clear()
        yield Filled(name, org, key_ids)
        aws.dynamodb_client().delete_table(TableName=name)
    api_helpers._clear()


@pytest.fixture
def table(filled: Filled, monkeypatch: pytest.MonkeyPatch) -> Filled:
    monkeypatch.setenv("USAGE_TABLE", filled.name)
    monkeypatch.setenv("STAGE", "test")
    monkeypatch.setenv("DASHBOARD_URL", "https://usage.example.com/")
    api_helpers._clear()
    return filled


def _truth(org: SyntheticOrg, span: tuple[int, int], keys: set[str] | None = None) -> tuple[Decimal, int]:
    billed = truth_billed(org, *span)
    cells = truth_cells(org, *span)
    cost = sum((v for (_, key, _, _), v in billed.items() if keys is None or key in keys), Decimal(0))
    tokens = sum(
        c.get("input_tokens", 0) + c.get("output_tokens", 0)
        for (_, key, _, _), c in cells.items()
        if keys is None or key in keys
    )
    return cost, tokens


def _per_key(org: SyntheticOrg, span: tuple[int, int]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for (_, key, _, _), value in truth_billed(org, *span).items():
        out[key] += value
    return out


def test_the_weekly_digest_states_the_weeks_spend_and_tokens_against_the_week_before(table: Filled) -> None:
    digest = preview("week", MONDAY)

    cost, tokens = _truth(table.org, WEEK)
    before_cost, before_tokens = _truth(table.org, PREVIOUS_WEEK)
    spend = digest["spend"]
    assert digest["period"] == {
        "kind": "week",
        "label": "2026-W46",
        "start": "2026-11-09T00:00:00Z",
        "end": "2026-11-16T00:00:00Z",
    }
    assert digest["previous"]["label"] == "2026-W45"
    assert Decimal(spend["cost_usd"]) == cost
    assert Decimal(spend["previous_cost_usd"]) == before_cost
    assert spend["total_tokens"] == tokens
    assert spend["previous_total_tokens"] == before_tokens
    assert spend["change_percent"] == round(float((cost - before_cost) * 100 / before_cost), 1)
    assert spend["provisional"] is False  # costs were read on Nov 20: both weeks are billed


def test_the_movers_are_the_keys_whose_spend_changed_most(table: Filled) -> None:
    digest = preview("week", MONDAY)

    now, before = _per_key(table.org, WEEK), _per_key(table.org, PREVIOUS_WEEK)
    deltas = {key: now.get(key, Decimal(0)) - before.get(key, Decimal(0)) for key in set(now) | set(before)}
    up = sorted((k for k, d in deltas.items() if d > 0), key=lambda k: (-deltas[k], k))[:5]
    down = sorted((k for k, d in deltas.items() if d < 0), key=lambda k: (deltas[k], k))[:5]
    assert [row["key_id"] for row in digest["movers_up"]] == up
    assert [row["key_id"] for row in digest["movers_down"]] == down
    for row in digest["movers_up"] + digest["movers_down"]:
        assert Decimal(row["change_usd"]) == deltas[row["key_id"]]


def test_a_team_digest_counts_only_its_keys_and_its_budgets(table: Filled) -> None:
    research = {table.key_ids[0], table.key_ids[1]}

    digest = preview("week", MONDAY, "research")

    cost, tokens = _truth(table.org, WEEK, research)
    assert digest["scope"] == {"kind": "team", "team": "research"}
    assert Decimal(digest["spend"]["cost_usd"]) == cost
    assert digest["spend"]["total_tokens"] == tokens
    assert {row["key_id"] for row in digest["movers_up"] + digest["movers_down"]} <= research
    assert [row["key_id"] for row in digest["budgets_at_risk"]] == [table.key_ids[0]]
    assert digest["budgets_at_risk"][0]["percent"] >= 80
    assert digest["unmapped_keys"] == []  # organization-wide sections stay in the organization digest
    assert preview("week", MONDAY, "platform")["budgets_at_risk"] == []


def test_the_organization_digest_lists_unmapped_keys_and_the_hygiene_findings(table: Filled) -> None:
    digest = preview("week", MONDAY)

    # the key deleted before the directory sync (on Oct 31) spent in week 2026-W44, not since
    deleted = table.org.directory.deleted_key_id
    assert deleted not in {row["key_id"] for row in digest["unmapped_keys"]}
    week44 = preview("week", MONDAY - 14 * DAY)
    assert week44["period"]["label"] == "2026-W44"
    assert [row["key_id"] for row in week44["unmapped_keys"]] == [deleted]
    cost, tokens = _truth(table.org, (day_start("2026-10-26"), day_start("2026-11-02")), {deleted})
    assert Decimal(week44["unmapped_keys"][0]["cost_usd"]) == cost
    assert week44["unmapped_keys"][0]["total_tokens"] == tokens
    assert digest["hygiene"]["counts"] == hygiene_report({}, MONDAY)["counts"]
    assert digest["budgets_at_risk"][0]["key_id"] == table.key_ids[0]


def test_the_monthly_digest_covers_the_last_whole_month(table: Filled) -> None:
    first = day_start("2026-12-01") + 6 * HOUR

    digest = preview("month", first)

    # billed through Nov 17 (costs read on Nov 20, 48 hours after a day): the simulator's bill; the
    # days after are estimates, which /api/usage states by the same money rule; data ends at SIM_NOW
    billed, _ = _truth(table.org, (day_start("2026-11-01"), day_start("2026-11-18")))
    _, tokens = _truth(table.org, (day_start("2026-11-01"), day_start("2026-11-20")))
    rest = usage_report(
        {"start_time": [str(day_start("2026-11-18"))], "end_time": [str(day_start("2026-12-01"))]}, SIM_NOW
    )["total"]
    today = usage_report(
        {"start_time": [str(day_start("2026-11-20"))], "end_time": [str(day_start("2026-12-01"))]}, SIM_NOW
    )["total"]
    cost = billed + Decimal(rest["cost_usd"])
    tokens += today["total_tokens"]
    assert digest["spend"]["provisional"] is True
    assert digest["period"]["label"] == "2026-11"
    assert digest["previous"]["label"] == "2026-10"
    assert Decimal(digest["spend"]["cost_usd"]) == cost
    assert digest["spend"]["total_tokens"] == tokens


@pytest.fixture
def fresh_ledger(table: Filled) -> Filled:
    """The shared table without any digest in the ledger: each schedule test starts from none sent."""
    ledger = AlertLedger()
    for partition in ("digest-week-2026-11-09", "digest-week-2026-11-23", "digest-month-2026-11"):
        for record in ledger.records([partition]):
            ledger.table.delete_item(Key=alert_key(record.period, record.subject, record.threshold))
    return table


def _sender(**kwargs: Any) -> DigestSender:
    return DigestSender(get_settings(), clock=lambda: WALL, **kwargs)


def test_the_schedule_sends_each_weekly_digest_once_even_when_it_fires_twice(
    fresh_ledger: Filled, sqs_subscriber
) -> None:
    first = _sender().run(MONDAY)
    second = _sender().run(MONDAY + 600)

    envelopes = sqs_subscriber.drain(expected=3)
    assert first.due == ["digest-week-2026-11-09"]  # a Monday: the week is due, no month
    assert first.delivery.published == 3  # the organization, team platform, team research
    assert (second.recorded, second.delivery.published) == ([], 0)
    assert sqs_subscriber.drain() == []
    subjects = sorted(envelope["Subject"] for envelope in envelopes)
    assert subjects[0].startswith("[OpenAI usage] Weekly digest 2026-W46, organization: $")
    assert subjects[1].startswith("[OpenAI usage] Weekly digest 2026-W46, team platform: $")
    documents = {json.loads(e["Message"])["digest_id"]: json.loads(e["Message"]) for e in envelopes}
    org = documents["digest-week-2026-11-09/digest:org#once"]
    assert org["schema"] == "openai-usage-tracker.digest/1"
    assert org["digest"]["spend"] == preview("week", MONDAY)["spend"]
    assert "Top movers up:" in org["text"]


def test_a_missed_monday_is_caught_up_on_tuesday_and_never_after(
    fresh_ledger: Filled, sqs_subscriber
) -> None:
    assert _sender().run(MONDAY + 3 * DAY).due == []  # Thursday: nothing is due

    tuesday = _sender().run(MONDAY + DAY)

    assert tuesday.delivery.published == 3
    assert len(sqs_subscriber.drain(expected=3)) == 3


def test_a_failed_publish_stays_pending_and_goes_out_once_the_next_day(
    fresh_ledger: Filled, sqs_subscriber, alerts_topic: str
) -> None:
    broken = SnsPublisher(alerts_topic + "-missing")

    failed = _sender(publisher=broken).run(MONDAY)
    retried = _sender().run(MONDAY + DAY)

    assert (failed.delivery.published, failed.delivery.failed) == (0, 3)
    assert retried.recorded == []
    assert retried.delivery.published == 3
    assert len(sqs_subscriber.drain(expected=3)) == 3
    records = AlertLedger().records(["digest-week-2026-11-09"])
    assert {(r.state, r.attempts) for r in records} == {("published", 2)}


def test_the_monthly_digest_goes_out_on_the_first(fresh_ledger: Filled, sqs_subscriber) -> None:
    report = _sender().run(day_start("2026-12-01") + 6 * HOUR)

    # 2026-12-01 is a Tuesday: the month of November and (caught up) the week of Nov 23 are due
    assert report.due == ["digest-week-2026-11-23", "digest-month-2026-11"]
    envelopes = sqs_subscriber.drain(expected=6)
    assert sum("Monthly digest 2026-11" in e["Subject"] for e in envelopes) == 3


def test_digest_preview_prints_the_digest_and_refuses_an_unknown_team(
    table: Filled, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(clock, "now", lambda: MONDAY)
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_main.main(["digest", "preview", "--period", "week", "--json"]) == 0
    assert json.loads(out.getvalue()) == json.loads(json.dumps(preview("week", MONDAY)))

    text = io.StringIO()
    with redirect_stdout(text):
        assert cli_main.main(["digest", "preview", "--team", "research"]) == 0
    assert "Weekly digest of the team research, 2026-W46" in text.getvalue()

    assert cli_main.main(["digest", "preview", "--team", "nobody"]) == 2
    assert "team" in capsys.readouterr().err
    assert cli_main.main(["digest", "preview", "--period", "year"]) == 2


def test_the_digest_lambda_of_app_py_sends_what_is_due(
    fresh_ledger: Filled, sqs_subscriber, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys
) -> None:
    monkeypatch.setattr(digest_send, "_now", lambda: MONDAY)
    client = api_helpers.chalice_client(tmp_path)
    metrics.clear_metrics()  # what earlier tests recorded and did not flush
    capsys.readouterr()

    answer = client.lambda_.invoke(
        "digest", client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    )

    assert answer.payload["due"] == ["digest-week-2026-11-09"]
    assert answer.payload["published"] == 3
    assert len(sqs_subscriber.drain(expected=3)) == 3
    ledger = AlertLedger().records(["digest-week-2026-11-09"])
    assert sorted(r.subject for r in ledger) == ["digest:org", "digest:team:platform", "digest:team:research"]
    assert {r.state for r in ledger} == {"published"}
    printed = capsys.readouterr().out.splitlines()
    flushed = [json.loads(line) for line in printed if line.startswith('{"_aws"')]
    assert [document["AlertsPublished"] for document in flushed] == [[1.0, 1.0, 1.0]]
    assert metrics.metric_set == {}
