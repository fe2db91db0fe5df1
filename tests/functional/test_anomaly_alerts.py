"""Anomaly and leaked-key alerts end to end: the simulator's scenarios collected into DynamoDB Local
by the real runner, evaluated by its alert hook, published to moto SNS and counted in SQS.

Figures are checked against independent paths: tokens against the simulator's ground truth
(`usage_truth`), dollars against the stored hourly *detail* (the rules read the aggregates).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.alerts.anomaly import ANOMALY_KINDS, AnomalyConfig
from chalicelib.alerts.anomaly_inputs import AnomalyReader
from chalicelib.alerts.engine import AlertEngine, run_alerts
from chalicelib.catalog import PriceTable
from chalicelib.dimensions import Base
from chalicelib.periods import DAY, HOUR, day_label, floor_day, hour_start, iso
from chalicelib.runner import Runner
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.org import USAGE_GROUP_FIELDS, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW, SIM_SPEC
from simulator.server import SimulatorServer
from tests.functional import api_helpers
from tests.functional.collector_helpers import PAST_HOURLY_RETENTION_DAYS, make_client, past_config

pytestmark = pytest.mark.usefixtures("usage_table")
empty_api = api_helpers.empty_api

SCENARIOS = ("spike", "dormant", "new_model")
TODAY = day_label(SIM_NOW)
WINDOW = (hour_start("2026-11-20T07"), hour_start("2026-11-20T10"))  # the 3 whole hours before 10:17


def collect(org: SyntheticOrg, now: int = SIM_NOW) -> int:
    """Backfill the org's whole history, then one incremental run with the alert hook (as the
    schedule runs it); the alerts that run published."""
    with SimulatorServer(org) as server:
        runner = Runner(
            make_client(server), config=past_config(), prices=PriceTable.load(), alert_hook=run_alerts
        )
        runner.backfill(org.origin, floor_day(now) + DAY, now)
        report = runner.incremental(now)
        assert report.status == "ok"
        again = runner.incremental(now + 900)
        assert again.status == "ok"
        return report.alerts_published + again.alerts_published


def anomaly_messages(subscriber: Any) -> list[dict[str, Any]]:
    """Every notification waiting, as {title, attributes, doc}; only the anomaly kinds."""
    got = []
    for envelope in subscriber.drain(None, timeout=5.0):
        doc = json.loads(envelope["Message"])
        if doc["kind"] in ANOMALY_KINDS:
            attributes = {
                name: value["Value"] for name, value in envelope.get("MessageAttributes", {}).items()
            }
            got.append({"title": envelope.get("Subject"), "attributes": attributes, "doc": doc})
    return got


def window_spend(keep: Any, start: int = WINDOW[0]) -> Decimal:
    """Dollars (estimate) of the stored hourly detail cells from `start` to WINDOW's end that
    `keep(cell)` admits."""
    total = Decimal(0)
    for label, cell, usage in RollupStore().hourly_detail(TODAY):
        if start <= hour_start(label) < WINDOW[1] and keep(cell):
            total += usage.estimated_usd
    return total


def money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.000001")), "f")


# -- the scenarios ----------------------------------------------------------------------------------
def test_each_leaked_key_scenario_alerts_once_with_its_figures(sqs_subscriber, empty_api):
    org = SyntheticOrg(replace(SIM_SPEC, daily_spike=False, scenarios=SCENARIOS))
    spike, dormant, new_model = (next(s for s in org.scenarios if s.name == name) for name in SCENARIOS)

    collect(org)

    got = anomaly_messages(sqs_subscriber)
    by_subject = {m["doc"]["subject"]: m for m in got}
    assert len(by_subject) == len(got)  # once each, over two runs
    spike_project = next(k.project_id for k in org.directory.keys if k.id == spike.key_id)
    identities = DirectoryStore().identities()
    spike_owner = identities[spike.key_id].owner
    assert set(by_subject) == {
        f"spike:key:{spike.key_id}",
        f"spike:project:{spike_project}",
        f"spike:owner:{spike_owner}",
        f"dormant:{dormant.key_id}",
        f"new_model:{new_model.key_id}",
    }

    # the spike: spend of the window and the baseline of the same hours 1..4 weeks ago
    spiked = by_subject[f"spike:key:{spike.key_id}"]
    detail = spiked["doc"]["detail"]
    assert detail["spend_usd"] == money(window_spend(lambda c: c.key == spike.key_id))
    weekly = []
    for week in range(1, 5):
        total = Decimal(0)
        for hour in range(WINDOW[0] - week * 7 * DAY, WINDOW[1] - week * 7 * DAY, HOUR):
            for label, cell, usage in RollupStore().hourly_detail(day_label(hour)):
                if hour_start(label) == hour and cell.key == spike.key_id:
                    total += usage.estimated_usd
        weekly.append(money(total))
    assert detail["baseline"]["samples_usd"] == weekly
    assert detail["window_start"] == "2026-11-20T07:00:00Z"
    assert detail["window_end"] == "2026-11-20T10:00:00Z"
    assert spiked["attributes"]["kind"] == "spend_anomaly"
    assert spiked["attributes"]["key_id"] == spike.key_id
    assert spiked["doc"]["severity"] == "critical"
    assert detail["top_models"][0]["model"] == spike.model
    assert spiked["title"].startswith(f"[OpenAI usage] Spend spike: key {identities[spike.key_id].name} ")
    assert "Baseline" in spiked["doc"]["text"]
    assert "Top models in the window:" in spiked["doc"]["text"]

    # the dormant key: silent for the scenario's 10 days, woke at 06:00 (before the window), its
    # spend and models since then
    woke = by_subject[f"dormant:{dormant.key_id}"]["doc"]
    assert woke["detail"]["woke_at"] == iso(dormant.start)
    last_day = max(
        day
        for day in range(org.origin, dormant.quiet_from, DAY)
        if any(
            org.usage_truth(kind, day, min(day + DAY, dormant.quiet_from), api_key_ids=[dormant.key_id])
            for kind, fields in USAGE_GROUP_FIELDS.items()
            if "api_key_id" in fields
        )
    )
    assert woke["detail"]["last_used_day"] == day_label(last_day)
    assert woke["detail"]["quiet_days"] == (floor_day(SIM_NOW) - last_day) // DAY - 1 >= 9
    assert woke["detail"]["spend_usd"] == money(
        window_spend(lambda c: c.key == dormant.key_id, dormant.start)
    )
    assert woke["top_contributors"][0]["model"] == dormant.model
    truth = org.usage_truth("completions", dormant.start, WINDOW[1], ("model",), api_key_ids=[dormant.key_id])
    assert woke["top_contributors"][0]["tokens"] == sum(
        m["input_tokens"] + m["output_tokens"] for m in truth.values()
    )
    assert woke["title"].startswith("[OpenAI usage] Dormant key ")

    # the new model: its tokens today are the simulator's, and no other model is new
    fresh = by_subject[f"new_model:{new_model.key_id}"]["doc"]
    [row] = fresh["detail"]["new_models"]
    today = floor_day(SIM_NOW)
    truth = org.usage_truth("completions", today, SIM_NOW + 900, ("model",), api_key_ids=[new_model.key_id])
    assert row["model"] == new_model.model
    assert (
        row["tokens"]
        == truth[(new_model.model,)]["input_tokens"] + truth[(new_model.model,)]["output_tokens"]
    )
    assert new_model.model not in fresh["detail"]["baseline"]["known_models"]
    name = identities[new_model.key_id].name
    spent = f"${Decimal(row['spend_usd']):,.2f}"
    key = f"{name} ({new_model.key_id})"
    expected = f"[OpenAI usage] Key {key} started using {new_model.model}: {spent} today"
    assert fresh["title"] == (expected if len(expected) <= 99 else expected[:96].rstrip() + "...")

    # GET /api/alerts: the new kinds fire today, filter by kind, and name their key
    body = empty_api.json("/api/alerts", {"kind": "dormant_key"})
    assert [a["key_id"] for a in body["history"]] == [dormant.key_id]
    firing = {a["kind"] for a in empty_api.json("/api/alerts")["firing"]}
    assert set(ANOMALY_KINDS) <= firing


def test_a_normal_month_raises_no_anomaly_alert(sqs_subscriber):
    org = SyntheticOrg(replace(SIM_SPEC, daily_spike=False))
    collect(org)
    assert anomaly_messages(sqs_subscriber) == []

    # and no hour of the 30 days would have raised one: the rules at every hour on the stored rollups
    snapshot = Snapshot(day_label(org.origin), TODAY)
    reader = AnomalyReader(snapshot, DirectoryStore().identities(), AnomalyConfig.of(get_settings()))
    found = [
        (iso(now), alert.subject)
        for now in range(org.origin + 3 * HOUR + 17 * 60, SIM_NOW + 1, HOUR)
        for alert in reader.alerts(now)
    ]
    assert found == []


def test_the_default_orgs_spike_day_stays_under_the_dollar_floor_and_is_found_above_a_lower_one(
    sqs_subscriber,
):
    org = SyntheticOrg(SIM_SPEC)  # the existing spike day on
    collect(org)
    assert anomaly_messages(sqs_subscriber) == []
    snapshot = Snapshot(day_label(org.origin), TODAY)
    identities = DirectoryStore().identities()
    config = AnomalyConfig.of(get_settings())
    hours = range(org.origin + 3 * HOUR + 17 * 60, SIM_NOW + 1, HOUR)

    def found(reader: AnomalyReader) -> set[tuple[str, str]]:
        return {(alert.period, alert.subject) for now in hours for alert in reader.alerts(now)}

    # its few dollars over the baseline are no leak at the default ANOMALY_MIN_USD ($50) ...
    assert found(AnomalyReader(snapshot, identities, config)) == set()
    # ... and a spike of its key on its day once the floor is $20
    lower = found(AnomalyReader(snapshot, identities, replace(config, min_usd=Decimal(20))))
    assert (day_label(org.spike_day), f"spike:key:{org.directory.spike_key_id}") in lower


class Snapshot(RollupStore):
    """The stored rollups of a range read once, then answered from memory (so that the rules can
    be asked at every hour of a month): the same reads RollupStore makes, sliced."""

    def __init__(self, first_day: str, last_day: str) -> None:
        super().__init__()
        real = RollupStore()
        self._hourly = {
            dim: real.hourly_aggregates(dim, f"{first_day}T00", f"{last_day}T23")
            for dim in ("key", "project")
        }
        self._daily = real.daily_aggregates("key", first_day, last_day)
        self._detail: dict[str, list[tuple[Cell, Usage]]] = defaultdict(list)
        for day, cell, usage in real.daily_detail(first_day, last_day):
            self._detail[day].append((cell, usage))

    def hourly_aggregates(self, dim: Base, first_hour: str, last_hour: str) -> dict[str, dict[str, Usage]]:
        return {
            hour: members for hour, members in self._hourly[dim].items() if first_hour <= hour <= last_hour
        }

    def daily_aggregates(self, dim: Base, first_day: str, last_day: str) -> dict[str, dict[str, Usage]]:
        assert dim == "key"
        return {day: members for day, members in self._daily.items() if first_day <= day <= last_day}

    def daily_detail(self, first_day: str, last_day: str):  # type: ignore[override]
        for day in sorted(self._detail):
            if first_day <= day <= last_day:
                for cell, usage in self._detail[day]:
                    yield day, cell, usage


class KeyReadsFail(RollupStore):
    """The table refusing the hourly key aggregates (throttled), as the anomaly rules read them."""

    def hourly_aggregates(self, dim: Base, first_hour: str, last_hour: str) -> dict[str, dict[str, Usage]]:
        if dim == "key":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query")
        return super().hourly_aggregates(dim, first_hour, last_hour)


def test_when_the_anomaly_reads_fail_the_pool_alerts_of_the_run_still_go_out(sqs_subscriber, monkeypatch):
    monkeypatch.setenv("LARGE_POOL_CAP", "1000")
    get_settings.cache_clear()
    cell = Cell("key_alpha", "gpt-4o-2024-08-06", "proj_main")
    usage = Usage(input_tokens=900, output_tokens=300, estimated_usd=Decimal("0.01"))
    RollupStore().replace_day(
        DayRollup(TODAY, {(f"{TODAY}T09", cell): usage}, {cell: usage}),
        keep_hourly=True,
        hourly_retention_days=PAST_HOURLY_RETENTION_DAYS,
    )

    report = AlertEngine(get_settings(), rollups=KeyReadsFail()).run(SIM_NOW)

    got = [json.loads(envelope["Message"]) for envelope in sqs_subscriber.drain(1, timeout=5.0)]
    assert report.published == 1
    assert [(doc["kind"], doc["subject"], doc["threshold"]) for doc in got] == [
        ("pool_threshold", "pool:large", "100")
    ]
