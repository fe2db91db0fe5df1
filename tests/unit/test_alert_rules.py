"""Alert rules and messages without AWS: thresholds, superseding, budgets, dollars, subjects, bodies."""

from __future__ import annotations

import json
from decimal import Decimal

from chalicelib.alerts.engine import ledger_expiry, retry_periods
from chalicelib.alerts.messages import MessageContext, render, subject_line
from chalicelib.alerts.rules import (
    ONCE,
    Alert,
    UnmappedSighting,
    budget_alerts,
    crossed,
    day_cost,
    plan,
    pool_alerts,
    severity_of,
    unclassified_alerts,
    unmapped_alerts,
)
from chalicelib.keys.model import Budget, KeyIdentity
from chalicelib.money import Settlement
from chalicelib.periods import DAY, HOUR, day_start
from chalicelib.pools import Contributor, ModelTokens, PoolReport, PoolStatus
from chalicelib.usage import Usage

DAY0 = day_start("2026-11-20")
NOON = DAY0 + 12 * HOUR
CONTEXT = MessageContext("https://usage.example.com/", "prod", NOON)


def status(pool: str = "large", used: int = 0, cap: int = 1_000, **kwargs: object) -> PoolStatus:
    return PoolStatus(
        pool=pool,  # type: ignore[arg-type]
        cap=cap,
        used=used,
        rate_per_hour=kwargs.pop("rate_per_hour", 0.0),  # type: ignore[arg-type]
        forecast_exhausted_at=kwargs.pop("forecast_exhausted_at", None),  # type: ignore[arg-type]
        exhausted_at=kwargs.pop("exhausted_at", None),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def report(*pools: PoolStatus, **kwargs: object) -> PoolReport:
    return PoolReport(
        day="2026-11-20",
        now=NOON,
        data_as_of=NOON,
        tier="1-2",
        sharing_projects=(),
        pools=pools or (status("large"), status("mini", cap=10_000)),
        **kwargs,  # type: ignore[arg-type]
    )


def identity(key_id: str, budget: Budget | None, name: str = "") -> KeyIdentity:
    return KeyIdentity(
        key_id=key_id,
        name=name or f"name of {key_id}",
        owner="Owner",
        team="Team",
        project_id=None,
        description=None,
        budget=budget,
        active=True,
        source="mapping",
        mapped=True,
    )


# -- thresholds -------------------------------------------------------------------------------------
def test_a_threshold_is_crossed_when_usage_reaches_it_exactly():
    assert crossed(499, 1_000, (50, 80, 100)) == []
    assert crossed(500, 1_000, (50, 80, 100)) == [50]
    assert crossed(1_000, 1_000, (100, 50, 80)) == [50, 80, 100]
    assert crossed(Decimal("7.999"), Decimal(10), (80,)) == []
    assert crossed(5, 0, (50,)) == []


def test_severity_rises_with_the_threshold():
    assert [severity_of(t) for t in (50, 79, 80, 99, 100, 150)] == [
        "info",
        "info",
        "warning",
        "warning",
        "critical",
        "critical",
    ]


def test_pool_alerts_name_each_crossed_threshold_of_each_pool():
    alerts = pool_alerts(report(status("large", 850), status("mini", 100, cap=10_000)), (50, 80, 100))
    assert [(a.subject, a.threshold, a.severity, a.pool) for a in alerts] == [
        ("pool:large", "50", "info", "large"),
        ("pool:large", "80", "warning", "large"),
    ]
    assert all(a.period == "2026-11-20" for a in alerts)


def test_a_forecast_alert_only_while_the_pool_has_tokens_left():
    soon = NOON + 3 * HOUR
    live = pool_alerts(report(status("mini", 100, cap=10_000, forecast_exhausted_at=soon)), (50,))
    assert [(a.kind, a.subject, a.threshold) for a in live] == [("pool_forecast", "forecast:mini", ONCE)]
    spent = pool_alerts(report(status("mini", 10_000, cap=10_000, forecast_exhausted_at=soon)), ())
    assert spent == []


def test_one_alert_per_unclassified_model_and_per_unmapped_key():
    models = unclassified_alerts(report(unclassified_models=(ModelTokens("gpt-9", 5), ModelTokens("x-1", 2))))
    assert [(a.subject, a.period, a.threshold) for a in models] == [
        ("model:gpt-9", "2026-11-20", ONCE),
        ("model:x-1", "2026-11-20", ONCE),
    ]
    keys = unmapped_alerts([UnmappedSighting("key_new", DAY0 - 3600)])
    assert [(a.subject, a.period, a.key_id) for a in keys] == [("unmapped:key_new", "2026-11-19", "key_new")]


# -- what is new ------------------------------------------------------------------------------------
def _pool_alert(threshold: str, subject: str = "pool:large") -> Alert:
    return Alert("pool_threshold", "2026-11-20", subject, threshold, "info")


def test_plan_sends_the_highest_new_threshold_and_supersedes_the_lower_ones():
    alerts = [_pool_alert("50"), _pool_alert("80"), _pool_alert("100"), _pool_alert("50", "pool:mini")]
    planned = {(a.subject, a.threshold): state for a, state in plan(alerts, set())}
    assert planned == {
        ("pool:large", "50"): "superseded",
        ("pool:large", "80"): "superseded",
        ("pool:large", "100"): "pending",
        ("pool:mini", "50"): "pending",
    }


def test_plan_skips_what_the_ledger_already_holds():
    alerts = [_pool_alert("50"), _pool_alert("80")]
    assert [(a.threshold, s) for a, s in plan(alerts, {("2026-11-20", "pool:large", "50")})] == [
        ("80", "pending")
    ]
    assert plan(alerts, {a.ident for a in alerts}) == []


# -- budgets and dollars ----------------------------------------------------------------------------
def test_dollars_are_billed_once_settled_and_estimated_before():
    usage = Usage(billed_usd=Decimal(1), estimated_usd=Decimal(9))
    cost = day_cost(Settlement(costs_as_of=NOON))  # settled: ended 48 h before
    assert cost("2026-11-17", usage) == Decimal(1)  # ended 2026-11-18 00:00
    assert cost("2026-11-18", usage) == Decimal(9)  # ends 11-19 00:00, after 11-18 12:00


def test_dollars_are_billed_even_when_costs_are_known_per_project_only():
    # Behaviour changed with chalicelib.money: the collector apportions a project's bill to its keys,
    # so a settled day is billed whatever the Costs grouping (one rule for every view).
    usage = Usage(billed_usd=Decimal(3), estimated_usd=Decimal(9))
    cost = day_cost(Settlement(costs_as_of=NOON, billed_by_key=False))
    assert cost("2026-11-01", usage) == Decimal(3)


def test_budget_alerts_sum_the_budget_period_of_each_key():
    identities = {
        "key_day": identity("key_day", Budget("daily", "tokens", Decimal(100))),
        "key_month": identity("key_month", Budget("monthly", "usd", Decimal(10))),
        "key_none": identity("key_none", None),
    }
    key_days = {
        "2026-10-31": {"key_month": Usage(billed_usd=Decimal(100))},  # last month: ignored
        "2026-11-01": {"key_month": Usage(billed_usd=Decimal(4)), "key_day": Usage(input_tokens=1_000)},
        "2026-11-20": {
            "key_month": Usage(estimated_usd=Decimal(4)),
            "key_day": Usage(input_tokens=60, output_tokens=20),
            "key_none": Usage(input_tokens=10**9),
        },
    }
    cost = day_cost(Settlement(costs_as_of=NOON))
    alerts = budget_alerts(NOON, identities, key_days, (50, 80, 100), cost=cost)
    assert [(a.subject, a.period, a.threshold, a.detail["used"]) for a in alerts] == [
        ("budget:key_day", "2026-11-20", "50", "80"),
        ("budget:key_day", "2026-11-20", "80", "80"),
        ("budget:key_month", "2026-11", "50", "8"),
        ("budget:key_month", "2026-11", "80", "8"),
    ]
    assert alerts[2].detail["period_start"] == "2026-11-01T00:00:00Z"
    assert alerts[0].key_id == "key_day"


def test_ledger_periods_and_expiry():
    assert retry_periods(day_start("2026-03-31") + HOUR) == ["2026-03-31", "2026-03-30", "2026-03", "2026-02"]
    assert retry_periods(day_start("2026-01-01")) == ["2026-01-01", "2025-12-31", "2026-01", "2025-12"]
    assert ledger_expiry("2026-11-20") == day_start("2026-11-21") + 90 * DAY
    assert ledger_expiry("2026-11") == day_start("2026-12-01") + 90 * DAY


# -- messages ---------------------------------------------------------------------------------------
def test_a_subject_is_one_ascii_line_of_at_most_99_characters():
    assert subject_line("Key José's\nlaptop at 80%") == "[OpenAI usage] Key Jose's laptop at 80%"
    long = subject_line("Key " + "x" * 200 + " at 80%")
    assert len(long) == 99
    assert long.endswith("...")


def test_a_pool_message_reads_well_and_carries_the_machine_fields():
    contributors = tuple(
        Contributor(f"key_{i}", f"Laptop {i}", f"Person {i}", "gpt-4o-2024-08-06", 100 - i) for i in range(6)
    )
    pool = status("large", 200_512, cap=250_000, rate_per_hour=21_300.0, contributors=contributors)
    [alert] = pool_alerts(report(pool), (80,))

    message = render(alert, CONTEXT)
    bodies = json.loads(message.structured)
    doc = json.loads(bodies["sqs"])

    assert message.title == "[OpenAI usage] Large pool at 80% (200,512 / 250,000 tokens)"
    assert message.attributes == {
        "kind": "pool_threshold",
        "pool": "large",
        "severity": "warning",
        "alert_id": "2026-11-20/pool:large#80",
    }
    text = bodies["default"]
    assert "Used        200,512 of 250,000 tokens (80.2%)" in text
    assert "Rate        21,300 tokens/hour" in text
    assert "Person 4  Laptop 4 (key_4)" in text
    assert "Person 5" not in text  # top five only
    assert "Dashboard: https://usage.example.com/" in text
    assert doc["detail"]["used"] == 200_512
    assert len(doc["top_contributors"]) == 5


def test_a_forecast_message_says_when():
    pool = status("mini", 6_000, cap=10_000, rate_per_hour=1_000.0, forecast_exhausted_at=NOON + 4 * HOUR)
    forecast = next(a for a in pool_alerts(report(pool), ()) if a.kind == "pool_forecast")
    message = render(forecast, CONTEXT)
    assert message.title == "[OpenAI usage] Mini pool may run out at 16:00 UTC (60% used)"
    assert "runs out about 2026-11-20 16:00 UTC" in json.loads(message.structured)["email"]


def test_a_message_too_large_for_sns_drops_the_lists_of_its_detail():
    huge = [{"api_key_id": f"key_{i}", "tokens": i} for i in range(20_000)]
    alert = Alert(
        "unclassified_model",
        "2026-11-20",
        "model:x",
        ONCE,
        "warning",
        {"model": "x", "tokens": 1, "keys": huge},
    )

    message = render(alert, CONTEXT)
    doc = json.loads(json.loads(message.structured)["sqs"])

    assert len(message.structured.encode()) < 200_000
    assert doc["detail_truncated"] is True
    assert doc["detail"] == {"model": "x", "tokens": 1}


def test_the_pool_detail_in_a_message_lists_at_most_twenty_keys():
    from chalicelib.pools import KeyShare  # noqa: PLC0415

    keys = tuple(KeyShare(f"key_{i}", f"k{i}", None, 1_000 - i) for i in range(50))
    [alert] = pool_alerts(report(status("large", 900, keys=keys)), (50,))
    assert len(alert.detail["keys"]) == 20
    assert alert.detail["keys_total"] == 50
