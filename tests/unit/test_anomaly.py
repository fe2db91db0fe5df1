"""The anomaly rules (chalicelib.alerts.anomaly) on hand-built figures: median and MAD, the spike test, the
dormant and new-model rules, and their settings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.alerts.anomaly import (
    AnomalyConfig,
    Baseline,
    ModelUse,
    candidates_for_new_models,
    dormant_alerts,
    new_model_alerts,
    spend_by_member,
    spike_alerts,
    window_hours,
)
from chalicelib.alerts.messages import MessageContext, render
from chalicelib.errors import ConfigError
from chalicelib.periods import DAY, HOUR, day_label, hour_start
from chalicelib.settings import load_settings
from chalicelib.usage import Usage

NOW = hour_start("2026-11-20T10") + 17 * 60
WINDOW = window_hours(NOW, 3)
CONFIG = AnomalyConfig(window_hours=3, weeks=4, mad_threshold=Decimal(6), min_usd=Decimal(50))
CONTEXT = MessageContext("https://usage.example.com/", "test", NOW)
D = Decimal


def spent(usd: str) -> Usage:
    return Usage(input_tokens=1_000, estimated_usd=D(usd), billed_usd=D("999"))


def test_the_window_is_the_whole_hours_before_the_current_one():
    assert [hour_start("2026-11-20T07"), hour_start("2026-11-20T08"), hour_start("2026-11-20T09")] == WINDOW


def test_median_and_mad_of_the_weekly_samples():
    baseline = Baseline.of([D(10), D(12), D(11), D(40)])
    assert baseline.median == D("11.5")
    assert baseline.mad == D("1")  # deviations 1.5, 0.5, 0.5, 28.5
    assert baseline.score(D("30")) == D("12.48")  # 18.5 / 1.4826
    assert Baseline.of([D(0), D(0)]).score(D(5)) is None


def test_a_spike_needs_both_the_mad_multiple_and_the_dollar_floor():
    baseline = Baseline.of([D(10), D(12), D(11), D(13)])  # median 11.5, MAD 1
    assert baseline.exceeded_by(D("61.5"), CONFIG)  # +50: over 6 x 1.4826 and over $50
    assert not baseline.exceeded_by(D("61.49"), CONFIG)  # under the $50 floor
    wide = Baseline.of([D(0), D(100), D(50), D(10)])  # median 30, MAD 25: 6 x 1.4826 x 25 = 222.39
    assert not wide.exceeded_by(D("252"), CONFIG)
    assert wide.exceeded_by(D("252.39"), CONFIG)


def test_spend_is_the_estimate_per_member_and_owners_sum_their_keys():
    by_hour = {
        "2026-11-20T07": {"key_a": spent("1.25"), "key_b": spent("2"), "unattributed": spent("5")},
        "2026-11-20T08": {"key_a": spent("0.75")},
    }
    # traffic of no key (the playground) is nobody's spike
    assert spend_by_member(WINDOW, by_hour) == {"key_a": D(2), "key_b": D(2)}
    owners = {"key_a": "ada", "key_b": "ada"}
    assert spend_by_member(WINDOW, by_hour, owners) == {"ada": D(4)}


def test_a_key_far_above_its_same_hours_of_the_week_raises_one_spike_alert_with_its_figures():
    weekly = [{"key_a": D(10)}, {"key_a": D(12)}, {"key_a": D(11)}, {"key_a": D(13)}]
    spend = {"key_a": D("80"), "key_b": D("60")}  # key_b: no baseline at all, $60 over $0
    alerts = spike_alerts("key", NOW, WINDOW, spend=spend, weekly=weekly, config=CONFIG, identities={})
    assert [(a.kind, a.subject, a.period, a.threshold, a.key_id) for a in alerts] == [
        ("spend_anomaly", "spike:key:key_a", "2026-11-20", "once", "key_a"),
        ("spend_anomaly", "spike:key:key_b", "2026-11-20", "once", "key_b"),
    ]
    detail = alerts[0].detail
    assert detail["spend_usd"] == "80.000000"
    assert detail["baseline"] == {
        "median_usd": "11.500000",
        "mad_usd": "1.000000",
        "samples_usd": ["10.000000", "12.000000", "11.000000", "13.000000"],
        "weeks": 4,
    }
    assert detail["excess_usd"] == "68.500000"
    assert detail["score"] == "46.20"
    assert detail["window_start"] == "2026-11-20T07:00:00Z"
    assert detail["window_end"] == "2026-11-20T10:00:00Z"
    message = render(alerts[0], CONTEXT)
    assert message.title == "[OpenAI usage] Spend spike: key key_a spent $80.00 in 3 h (usual $11.50)"


def test_no_spike_without_two_collected_baseline_weeks():
    weekly = [{"key_a": D(1)}]
    alerts = spike_alerts(
        "key", NOW, WINDOW, spend={"key_a": D(500)}, weekly=weekly, config=CONFIG, identities={}
    )
    assert alerts == []


def test_a_key_quiet_for_the_dormant_days_that_spends_again_raises_a_dormant_alert():
    today = hour_start("2026-11-20T00")
    awake = {WINDOW[1]: {"key_a": spent("0.40"), "key_b": spent("3")}, WINDOW[2]: {"key_a": spent("0.70")}}
    active = {day_label(today - 9 * DAY): {"key_a"}, day_label(today - 2 * DAY): {"key_b"}}
    alerts = dormant_alerts(NOW, WINDOW, awake=awake, active_days=active, config=CONFIG, identities={})
    [alert] = alerts  # key_b was used 2 days ago: not dormant
    assert alert.subject == "dormant:key_a"
    assert alert.detail["quiet_days"] == 8
    assert alert.detail["last_used_day"] == "2026-11-11"
    assert alert.detail["woke_at"] == "2026-11-20T08:00:00Z"
    assert alert.detail["spend_usd"] == "1.100000"
    assert render(alert, CONTEXT).title == (
        "[OpenAI usage] Dormant key key_a woke up: $1.10 in 2 h after 8 quiet days"
    )
    # under the wake floor ($1), or quiet for fewer days than ANOMALY_DORMANT_DAYS: nothing
    small = {WINDOW[1]: {"key_a": spent("0.99")}}
    assert dormant_alerts(NOW, WINDOW, awake=small, active_days=active, config=CONFIG, identities={}) == []
    recent = {day_label(today - 6 * DAY): {"key_a"}}
    assert dormant_alerts(NOW, WINDOW, awake=awake, active_days=recent, config=CONFIG, identities={}) == []
    # a key never seen in the lookback is a new key, not a waking one
    assert dormant_alerts(NOW, WINDOW, awake=awake, active_days={}, config=CONFIG, identities={}) == []


def test_a_model_new_to_a_key_with_history_raises_a_new_model_alert():
    history = {
        "key_a": {day_label(NOW - d * DAY): {"gpt-4o-mini-2024-07-18"} for d in range(1, 8)},
        "key_new": {day_label(NOW - DAY): {"gpt-4o-mini-2024-07-18"}},  # one day of history
    }
    today = {
        "key_a": [
            ModelUse("gpt-4o-mini-2024-07-18", D(3), 10),
            ModelUse("o3-2025-04-16", D("4.5"), 900),
            ModelUse("gpt-5-nano-2025-08-07", D("0.5"), 50),  # under the $1 floor
            ModelUse("item:web search tool calls", D(9), 0),  # a line item, not a model
        ],
        "key_new": [ModelUse("o3-2025-04-16", D(9), 1)],
    }
    assert candidates_for_new_models(today, {"key_a": {"gpt-4o-mini-2024-07-18"}}, CONFIG) == [
        "key_a",
        "key_new",
    ]
    [alert] = new_model_alerts(NOW, today, history, CONFIG, {})
    assert alert.subject == "new_model:key_a"
    assert alert.detail["new_models"] == [{"model": "o3-2025-04-16", "spend_usd": "4.500000", "tokens": 900}]
    assert alert.detail["baseline"] == {"known_models": ["gpt-4o-mini-2024-07-18"], "history_days": 7}
    assert render(alert, CONTEXT).title == "[OpenAI usage] Key key_a started using o3-2025-04-16: $4.50 today"


def test_the_settings_have_defaults_and_refuse_bad_values(monkeypatch):
    for name in ("ANOMALY_WEEKS", "ANOMALY_MIN_USD", "ANOMALY_MAD_THRESHOLD", "HOURLY_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert AnomalyConfig.of(settings) == AnomalyConfig()
    assert (settings.anomaly_weeks, settings.anomaly_min_usd, settings.anomaly_dormant_days) == (4, D(50), 7)
    monkeypatch.setenv("ANOMALY_WEEKS", "5")  # 35 days reach past the 35 days of hourly rollups
    with pytest.raises(ConfigError, match="ANOMALY_WEEKS=5 reaches past HOURLY_RETENTION_DAYS=35: at most 4"):
        load_settings()
    monkeypatch.setenv("ANOMALY_WEEKS", "4")
    monkeypatch.setenv("ANOMALY_MIN_USD", "lots")
    with pytest.raises(ConfigError, match="ANOMALY_MIN_USD must be a number"):
        load_settings()
    monkeypatch.setenv("ANOMALY_MIN_USD", "NaN")
    with pytest.raises(ConfigError, match="ANOMALY_MIN_USD must be above 0"):
        load_settings()
    monkeypatch.setenv("ANOMALY_MIN_USD", "12.5")
    monkeypatch.setenv("ANOMALY_MAD_THRESHOLD", "4")
    assert AnomalyConfig.of(load_settings()).min_usd == D("12.5")
    assert AnomalyConfig.of(load_settings()).mad_threshold == D(4)


def test_hours_never_mix_into_another_day_label():
    assert window_hours(hour_start("2026-11-20T01") + 5, 3)[0] == hour_start("2026-11-19T22")
    assert HOUR == 3600
