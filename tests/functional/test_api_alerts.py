"""GET /api/alerts on DynamoDB Local: what fires now (one per subject, its highest threshold), the
history with its filters, the collector's failures, and bad parameters answered 400."""

from __future__ import annotations

from chalicelib.alerts.messages import StoredMessage
from chalicelib.keys.model import KeyMapping
from chalicelib.periods import DAY
from chalicelib.query.alerts import KINDS
from chalicelib.store.alerts import AlertLedger, AlertState
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers

empty_api = api_helpers.empty_api

TODAY = "2026-11-20"
YESTERDAY = "2026-11-19"
MONTH = "2026-11"


def _record(
    period: str, subject: str, threshold: str, kind: str, state: AlertState = "published", at: int = SIM_NOW
):
    message = (
        None
        if state == "superseded"
        else StoredMessage(title=f"{kind} {subject} {threshold}", structured="{}")
    )
    AlertLedger().record(
        period=period,
        subject=subject,
        threshold=threshold,
        kind=kind,
        state=state,
        message=message,
        now=at,
        expires_at=at + 90 * DAY,
    )


def test_a_budget_fires_once_at_its_highest_threshold_and_the_history_lists_every_step(empty_api):
    _record(MONTH, "budget:key_ada0001", "50", "key_budget", at=SIM_NOW - 7200)
    _record(MONTH, "budget:key_ada0001", "80", "key_budget", state="superseded", at=SIM_NOW - 60)
    _record(MONTH, "budget:key_ada0001", "100", "key_budget", at=SIM_NOW - 60)

    body = empty_api.json("/api/alerts")

    [firing] = body["firing"]
    assert firing["alert_id"] == f"{MONTH}/budget:key_ada0001#100"
    assert firing["severity"] == "critical"
    assert firing["key_id"] == "key_ada0001"
    assert firing["title"] == "key_budget budget:key_ada0001 100"
    assert [a["threshold"] for a in body["history"]] == ["100", "80", "50"]
    assert body["history"][1]["state"] == "superseded"
    assert body["history"][0]["created_at"] == "2026-11-20T10:16:00Z"


def test_the_answer_names_every_kind_for_the_page(empty_api):
    body = empty_api.json("/api/alerts")

    assert set(body["kinds"]) == {*KINDS, "collector_failing"}
    assert body["kinds"]["key_budget"] == "Budget"
    assert body["kinds"]["collector_failing"] == "Collector"


def test_yesterdays_pool_alert_is_history_not_firing(empty_api):
    _record(YESTERDAY, "pool:large", "100", "pool_threshold", at=SIM_NOW - DAY)
    _record(TODAY, "pool:mini", "80", "pool_threshold")

    body = empty_api.json("/api/alerts")

    assert [a["subject"] for a in body["firing"]] == ["pool:mini"]
    assert body["firing"][0]["severity"] == "warning"
    assert {a["subject"] for a in body["history"]} == {"pool:large", "pool:mini"}


def test_an_unmapped_key_fires_until_someone_names_it(empty_api):
    _record(YESTERDAY, "unmapped:key_nobody01", "once", "unmapped_key", at=SIM_NOW - DAY)

    before = empty_api.json("/api/alerts")["firing"]
    DirectoryStore().put_mapping(KeyMapping(key_id="key_nobody01", name="Now named", created_at=SIM_NOW))
    after = empty_api.json("/api/alerts")["firing"]

    assert [a["key_id"] for a in before] == ["key_nobody01"]
    assert after == []


def test_a_failing_collector_fires_without_its_error_text(empty_api):
    meta = MetaStore()
    meta.record_success(
        run_id="ok",
        finished_at=SIM_NOW - 3600,
        usage_as_of=SIM_NOW - 3600,
        costs_as_of=None,
        directory_synced_at=None,
        cost_grouping=None,
    )
    meta.record_failure(
        run_id="bad", failed_at=SIM_NOW - 60, error="401 from OpenAI: sk-admin-secret rejected"
    )
    meta.record_failure(run_id="bad2", failed_at=SIM_NOW, error="401 from OpenAI: sk-admin-secret rejected")

    response = empty_api.get("/api/alerts")
    [firing] = empty_api.json("/api/alerts")["firing"]

    assert firing["kind"] == "collector_failing"
    assert "2 runs failed" in firing["title"]
    assert "last success: 2026-11-20 09:17 UTC" in firing["title"]
    assert "secret" not in response.body.decode()
    assert "401" not in response.body.decode()


def test_the_history_filters_by_kind_state_and_days(empty_api):
    _record(TODAY, "pool:mini", "50", "pool_threshold")
    _record(TODAY, "model:gpt-9", "once", "unclassified_model", state="pending")
    _record("2026-11-01", "pool:large", "50", "pool_threshold", at=SIM_NOW - 19 * DAY)

    by_kind = empty_api.json("/api/alerts", {"kind": "unclassified_model"})["history"]
    by_state = empty_api.json("/api/alerts", {"state": "published"})["history"]
    recent = empty_api.json("/api/alerts", {"days": "7"})["history"]

    assert [a["subject"] for a in by_kind] == ["model:gpt-9"]
    assert {a["subject"] for a in by_state} == {"pool:mini", "pool:large"}
    assert {a["subject"] for a in recent} == {"pool:mini", "model:gpt-9"}


def test_bad_alert_parameters_are_400_naming_them(empty_api):
    for params, param in (
        ({"days": "0"}, "days"),
        ({"days": "91"}, "days"),
        ({"days": "x"}, "days"),
        ({"kind": "budget"}, "kind"),
        ({"state": "open"}, "state"),
        ({"since": "1"}, "since"),
    ):
        body = empty_api.json("/api/alerts", params, status=400)
        assert body["error"]["param"] == param, params


def test_alerts_need_a_token(empty_api):
    assert empty_api.get("/api/alerts", token=None).status_code == 401
