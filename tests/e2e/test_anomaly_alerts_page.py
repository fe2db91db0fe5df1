"""The leaked-key alert kinds on the dashboard, in a real browser against the local stack: each kind
in the banner with its own name and the rule's title, and the history filtered by kind."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from chalicelib.alerts.anomaly import AnomalyConfig, dormant_alerts, spike_alerts, window_hours
from chalicelib.alerts.engine import ledger_expiry
from chalicelib.alerts.messages import MessageContext, render
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.store.alerts import AlertLedger
from chalicelib.usage import Usage
from tests.e2e.conftest import wait_ready

pytestmark = pytest.mark.e2e

KIND_NAMES = {"spend_anomaly": "Spend spike", "dormant_key": "Dormant key woke"}


def test_spend_spikes_and_dormant_keys_render_in_the_banner_and_the_history(page, e2e_stack):
    now = int(time.time())
    window = window_hours(now, 3)
    config = AnomalyConfig()
    key = f"key_e2eanomaly{now}"
    spike = spike_alerts(
        "key",
        now,
        window,
        spend={key: Decimal(400)},
        weekly=[{key: Decimal(10)}, {key: Decimal(12)}],
        config=config,
        identities={},
    )
    woke = dormant_alerts(
        now,
        window,
        awake={window[-1]: {key: Usage(input_tokens=5, estimated_usd=Decimal(3))}},
        active_days={day_label(floor_day(window[0]) - 20 * DAY): {key}},
        config=config,
        identities={},
    )
    alerts = spike + woke
    assert [a.kind for a in alerts] == ["spend_anomaly", "dormant_key"]
    ledger = AlertLedger()
    for alert in alerts:
        ledger.record(
            period=alert.period,
            subject=alert.subject,
            threshold=alert.threshold,
            kind=alert.kind,
            state="published",
            message=render(alert, MessageContext("", "e2e", now)),
            now=now,
            expires_at=ledger_expiry(alert.period),
        )

    page.goto(e2e_stack.dashboard_url)
    wait_ready(page)

    for alert in alerts:
        item = page.locator(f"#alerts-banner li[data-alert-id='{alert.alert_id}']")
        expect(item).to_contain_text(KIND_NAMES[alert.kind])
        expect(item).to_contain_text(render(alert, MessageContext("", "e2e", now)).title)
    page.select_option("#alert-kind", "dormant_key")
    api = e2e_stack.api_get("/api/alerts?kind=dormant_key")
    rows = page.locator("#alerts-table tbody tr")
    expect(rows).to_have_count(len(api["history"]))
    expect(rows.filter(has_text=key)).to_have_count(1)
    expect(rows.filter(has_text=key)).to_contain_text("Dormant key woke")
