"""The budget alert's forecast ("on track to exceed by <date>") end to end, and the CLI's `forecast`:
DynamoDB Local rollups and ledger, a moto SNS topic, an SQS queue subscribed to it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chalicelib.cli import main as cli_main
from chalicelib.keys.model import Budget, KeyMapping
from chalicelib.periods import DAY, HOUR, day_start
from chalicelib.settings import get_settings
from chalicelib.store.alerts import AlertLedger
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from tests.functional.test_alerts import engine, messages
from tests.functional.test_api_forecast import seed_steady_keys

pytestmark = pytest.mark.usefixtures("usage_table")

NOW = day_start("2026-11-20") + 10 * HOUR + 17 * 60  # SIM_NOW: the seeded days end here
REST = Decimal(14 * HOUR - 17 * 60) / DAY  # of today, still to come


@pytest.fixture(autouse=True)
def _stage(monkeypatch):
    monkeypatch.setenv("DASHBOARD_URL", "https://usage.example.com/")
    monkeypatch.setenv("STAGE", "test")
    get_settings.cache_clear()


def _budgets(**amounts: int) -> None:
    directory = DirectoryStore()
    for key, amount in amounts.items():
        directory.put_mapping(
            KeyMapping(key, f"Key {key[-1]}", owner="Grace", budget=Budget("monthly", "usd", Decimal(amount)))
        )


def test_a_key_on_track_to_exceed_its_monthly_budget_is_told_once_with_the_date(sqs_subscriber):
    seed_steady_keys(
        {
            "key_onTrack1": (Decimal(10), Decimal(5)),  # forecast 300.7 against 250: the 25th
            "key_underBudget2": (Decimal(10), Decimal(5)),  # against 400: stays under
            "key_overAlready3": (Decimal(10), Decimal(5)),  # $195 against 150: the 100 % alert's job
        }
    )
    _budgets(key_onTrack1=250, key_underBudget2=400, key_overAlready3=150)

    first = engine().run(NOW)
    again = engine().run(NOW + 900)
    tomorrow = engine().run(NOW + DAY)

    got = [m for m in messages(sqs_subscriber) if m["attributes"]["kind"] == "budget_forecast"]
    assert [m["attributes"]["key_id"] for m in got] == ["key_onTrack1"]
    [alert] = got
    assert alert["doc"]["alert_id"] == "2026-11/budget-forecast:key_onTrack1#once"
    assert alert["title"] == "[OpenAI usage] Key Key 1 on track to exceed its monthly budget by 2026-11-25"
    detail = alert["doc"]["detail"]
    assert detail["on_track_to_exceed"] == "2026-11-25"
    assert Decimal(detail["month_to_date"]) == 195
    assert Decimal(detail["forecast"]) == (195 + 10 * REST + 100).quantize(Decimal("0.000001"))
    assert detail["limit"] == "250"
    assert f"Month-end forecast  ${195 + 10 * REST + 100:,.2f} (range " in alert["doc"]["text"]
    assert alert["doc"]["top_contributors"][0]["model"] == "gpt-4o-mini-2024-07-18"
    # one per key per month: the later runs (the next day's too) record nothing new
    assert first.published >= 1
    assert (again.recorded, tomorrow.recorded) == (0, 0)
    forecasts = [r for r in AlertLedger().records(["2026-11"]) if r.kind == "budget_forecast"]
    assert [(r.subject, r.state) for r in forecasts] == [("budget-forecast:key_onTrack1", "published")]


def test_the_cli_prints_the_forecast_as_a_table_and_as_json(capsys, monkeypatch):
    seed_steady_keys({"key_onTrack1": (Decimal(10), Decimal(5)), "key_other2": (Decimal(2), Decimal(1))})
    _budgets(key_onTrack1=250)
    MetaStore().record_success(
        run_id="cli-forecast",
        finished_at=NOW,
        usage_as_of=NOW,
        costs_as_of=NOW,
        directory_synced_at=NOW,
        cost_grouping="api_key_id",
    )
    import chalicelib.cli.forecast as cli_forecast  # noqa: PLC0415

    monkeypatch.setattr(cli_forecast.clock, "now", lambda: NOW)

    assert cli_main.main(["forecast", "--group-by", "api_key_id"]) == 0
    out = capsys.readouterr().out
    assert "2026-11: day 20 of 30" in out
    [row] = [line for line in out.splitlines() if line.startswith("Key 1")]
    point = f"${195 + 10 * REST + 100:,.2f}"
    budget = ["$250.00", "(120%)", "2026-11-25"]
    assert row.split() == ["Key", "1", "$195.00", point, point, "-", point, "$10.00", *budget]
    assert "ORGANIZATION" in out
    assert "method: run rate of the last 28 complete days" in out

    assert cli_main.main(["--json", "forecast", "--group-by", "team"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["group_by"] == ["team"]
    assert Decimal(answer["total"]["month_to_date_usd"]) == 195 + 39

    assert cli_main.main(["forecast", "--top", "x"]) == 2
    assert "--top" in capsys.readouterr().err
