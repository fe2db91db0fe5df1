"""The dashboard as an operator's daily tool, in a real browser against the real local stack: admin
mode from an admin token (naming a key, setting a budget, importing mappings, viewer tokens), the
budget alert of the next collection in the banner and the history, a degraded health on the page,
days never collected marked, an invalid range clearing the figures, the phone layout at 390 px and
the sort following the measure."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError

import pytest
from playwright.sync_api import Page, expect

from chalicelib import aws
from chalicelib.alerts.engine import run_alerts
from chalicelib.auth import create_token
from chalicelib.catalog import PriceTable
from chalicelib.collector import CollectorConfig
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.runner import Runner
from chalicelib.store.meta import META, MetaStore
from chalicelib.store.tokens import TokenStore
from simulator.directory import XSS_NAME
from simulator.pytest_plugin import SIM_ADMIN_KEY
from tests.e2e.conftest import BACKFILL_DAYS, new_context, picker_ready, wait_ready, watched_page

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOT_DIR", "/tmp/tracker-e2e-shots"))


@pytest.fixture(scope="module")
def admin_token(e2e_stack) -> str:
    token, _stored = create_token(TokenStore(), "admin", "e2e admin", int(time.time()))
    return token


@pytest.fixture
def admin_page(browser, e2e_stack, admin_token) -> Iterator[Page]:
    yield from watched_page(browser, e2e_stack, admin_token)


def _open(page: Page, stack, hash_: str = "") -> Page:
    page.goto(stack.dashboard_url + (f"#{hash_}" if hash_ else ""))
    wait_ready(page)
    return page


def _ours(key: dict) -> bool:
    """A key these tests may rename: not the spike key (its budget is another test's) and not the key
    named like HTML (another test looks for that name)."""
    return not key["budget"] and key["name"] != XSS_NAME


def _busiest_unbudgeted_key(stack) -> dict:
    """This month's busiest key that we may rename and that has no budget yet. The month, not today:
    the budget set on it is monthly, and in the first hour of a UTC day no key has used anything yet
    (the stack runs on the real clock)."""
    now = int(time.time())
    month_start = floor_day(now) - (int(day_label(now)[8:]) - 1) * DAY
    report = stack.api_get(
        f"/api/usage?start_time={month_start}&end_time={now}&bucket_width=1d&group_by=api_key_id&top=0"
    )
    keys = {k["key_id"]: k for k in stack.api_get("/api/keys")["data"]}
    for group in report["groups"]:
        key = keys.get(group["group"]["api_key_id"])
        if key and _ours(key) and key["source"] != "mapping" and group["total_tokens"] > 10:
            return {**key, "month_tokens": group["total_tokens"]}
    pytest.fail("no key with usage this month and without a budget")


def _collect_with_alerts() -> None:
    """The next scheduled collection, in process: an incremental run whose alert hook evaluates and
    publishes (to the test's SNS topic)."""
    client = OpenAIAdminClient(os.environ["OPENAI_BASE_URL"], SIM_ADMIN_KEY, sleep=lambda _seconds: None)
    runner = Runner(client, config=CollectorConfig(), prices=PriceTable.load(), alert_hook=run_alerts)
    runner.incremental(int(time.time()))


# -- roles ------------------------------------------------------------------------------------------
def test_a_viewer_gets_the_read_only_page_without_the_admin_module(page, e2e_stack):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    _open(page, e2e_stack)

    expect(page.locator("#admin")).to_be_hidden()
    assert not any("admin.js" in url or "admin.css" in url for url in requested)
    assert any(url.endswith("/api/whoami") for url in requested)
    assert page.problems.all == []  # type: ignore[attr-defined]


def test_changing_to_a_viewer_token_takes_the_admin_controls_away(admin_page, e2e_stack):
    page = _open(admin_page, e2e_stack)
    expect(page.locator("#admin")).to_be_visible()
    expect(page.locator("#admin-key-form")).to_have_count(1)

    page.click("#sign-out")
    page.fill("#token-input", e2e_stack.token)
    page.click("#token-submit")
    wait_ready(page)

    expect(page.locator("#admin")).to_be_hidden()
    expect(page.locator("#admin-body *")).to_have_count(0)


# -- admin: a key, its budget, and the alert the next collection raises ------------------------------
def test_an_admin_names_a_key_sets_a_budget_and_the_next_collection_alerts_on_the_page(
    admin_page, e2e_stack, alerts_topic, sqs_subscriber
):
    key = _busiest_unbudgeted_key(e2e_stack)
    month = day_label(int(time.time()))[:7]
    # Half of what the key used this month: the next evaluation finds it past 100%.
    month_start = floor_day(int(time.time())) - (int(day_label(int(time.time()))[8:]) - 1) * DAY
    used = e2e_stack.api_get(
        f"/api/usage?start_time={month_start}&end_time={int(time.time())}&bucket_width=1d"
        f"&group_by=none&api_key_ids={key['key_id']}"
    )["total"]["total_tokens"]
    budget = str(max(1, used // 2))
    page = _open(admin_page, e2e_stack)
    expect(page.locator("#admin")).to_be_visible()

    page.select_option("#admin-key", key["key_id"])
    page.fill("#admin-name", "Nightly batch (e2e)")
    page.fill("#admin-owner", "Katherine Johnson")
    page.fill("#admin-team", "Flight")
    page.fill("#admin-budget-amount", "-5")
    page.click("#admin-save")
    expect(page.locator("#admin-key-message")).to_contain_text("Budget amount")
    expect(page.locator("#admin-budget-amount")).to_have_attribute("aria-invalid", "true")

    page.fill("#admin-budget-amount", budget)
    page.select_option("#admin-budget-unit", "tokens")
    page.select_option("#admin-budget-period", "monthly")
    page.click("#admin-save")
    expect(page.locator("#admin-key-message")).to_contain_text("Saved Nightly batch (e2e)")
    wait_ready(page)

    stored = next(k for k in e2e_stack.api_get("/api/keys")["data"] if k["key_id"] == key["key_id"])
    assert stored["name"] == "Nightly batch (e2e)"
    assert stored["owner"] == "Katherine Johnson"
    assert stored["team"] == "Flight"
    assert stored["budget"] == {"amount": budget, "unit": "tokens", "period": "monthly"}
    assert stored["source"] == "mapping"

    _collect_with_alerts()
    page.click("#refresh")
    wait_ready(page)

    subject = f"budget:{key['key_id']}"
    firing = page.locator(f"#alerts-banner li[data-alert-id='{month}/{subject}#100']")
    expect(page.locator("#alerts-banner")).to_be_visible()
    expect(firing).to_contain_text("Budget")
    expect(firing).to_contain_text("Nightly batch (e2e)")
    api = e2e_stack.api_get("/api/alerts?kind=key_budget")
    ours = [a for a in api["history"] if a["subject"] == subject]
    assert {a["threshold"] for a in ours} >= {"100"}
    page.select_option("#alert-kind", "key_budget")
    rows = page.locator("#alerts-table tbody tr")
    expect(rows).to_have_count(len(api["history"]))
    expect(page.locator("#alerts-table caption")).to_have_text(
        f"{len(api['history'])} alerts in the last 30 days"
    )
    assert set(page.locator("#alerts-table tbody td[data-label='Kind']").all_inner_texts()) == {"Budget"}
    expect(rows.filter(has_text="Nightly batch (e2e)").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#alerts-banner").screenshot(path=str(SCREENSHOTS / "alerts-banner.png"))
    page.locator("#admin").screenshot(path=str(SCREENSHOTS / "admin.png"))
    mails = sqs_subscriber.drain()
    assert any("Nightly batch (e2e)" in mail["Subject"] for mail in mails)
    # The browser logs the refused save (the 400 the page showed); nothing else went wrong.
    unexpected = [p for p in admin_page.problems.all if "status of 400" not in p]  # type: ignore[attr-defined]
    assert unexpected == []


def test_an_admin_imports_a_mappings_file_then_describes_and_deactivates_a_mapping(admin_page, e2e_stack):
    keys = [k for k in e2e_stack.api_get("/api/keys")["data"] if k["source"] != "mapping" and _ours(k)]
    assert keys, "the fixture leaves some keys without a mapping"
    # Not the key the budget test renames (if it ran first, that one is a mapping by now anyway).
    target = sorted(keys, key=lambda k: (k["source"] != "unmapped", k["usage_30d"]["total_tokens"]))[0][
        "key_id"
    ]
    page = _open(admin_page, e2e_stack)

    page.set_input_files(
        "#admin-import-file",
        files=[{"name": "bad.json", "mimeType": "application/json", "buffer": b'{"not_a_key": "x"}'}],
    )
    page.click("#admin-import")
    expect(page.locator("#admin-import-message")).to_contain_text("nothing imported")

    page.set_input_files(
        "#admin-import-file",
        files=[
            {
                "name": "apiKeyMappings.json",
                "mimeType": "application/json",
                "buffer": json.dumps({target: "Imported from the old tracker"}).encode(),
            }
        ],
    )
    page.click("#admin-import")
    expect(page.locator("#admin-import-message")).to_contain_text("1 added, 0 updated, 0 unchanged")
    wait_ready(page)

    stored = next(k for k in e2e_stack.api_get("/api/keys")["data"] if k["key_id"] == target)
    assert stored["name"] == "Imported from the old tracker"
    expect(page.locator("#admin-key")).to_contain_text("Imported from the old tracker")

    # The imported mapping, described and then deactivated from the same form.
    page.select_option("#admin-key", target)
    page.fill("#admin-description", "retired with the old tracker")
    page.uncheck("#admin-active")
    page.click("#admin-save")
    expect(page.locator("#admin-key-message")).to_contain_text("Saved Imported from the old tracker")
    wait_ready(page)
    stored = next(k for k in e2e_stack.api_get("/api/keys")["data"] if k["key_id"] == target)
    assert stored["active"] is False
    assert stored["description"] == "retired with the old tracker"
    assert stored["name"] == "Imported from the old tracker"
    expect(page.locator("#admin-active")).not_to_be_checked()


def test_an_admin_creates_a_viewer_token_that_works_and_revokes_it(admin_page, e2e_stack):
    page = _open(admin_page, e2e_stack)

    page.click("#admin-token-create")
    expect(page.locator("#admin-token-message")).to_contain_text("Name")
    page.fill("#admin-token-name", "lobby screen")
    page.click("#admin-token-create")
    expect(page.locator("#admin-token-message")).to_contain_text("Created viewer token")
    new_token = page.locator("#admin-new-token-value").input_value()

    assert e2e_stack.api_get("/api/whoami", token=new_token) == {"role": "viewer", "can_edit": False}
    row = page.locator("#admin-tokens tr", has_text="lobby screen")
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke").click()
    row.get_by_role("button", name="Revoke lobby screen?").click()
    expect(page.locator("#admin-token-message")).to_contain_text("Revoked lobby screen")
    expect(page.locator("#admin-tokens tr", has_text="lobby screen")).to_contain_text("revoked")
    with pytest.raises(HTTPError) as refused:
        e2e_stack.api_get("/api/whoami", token=new_token)
    assert refused.value.code == 401


# -- honest state -----------------------------------------------------------------------------------
def test_a_degraded_collection_shows_on_the_page(page, e2e_stack):
    meta = MetaStore()
    before = meta.checkpoint()
    table = aws.dynamodb_table()
    stale = int(time.time()) - 3 * 3600 * 24
    table.update_item(
        Key={"pk": META, "sk": "checkpoint"},
        UpdateExpression="SET last_success_at = :old",
        ExpressionAttributeValues={":old": stale},
    )
    meta.record_failure(run_id="e2e-failed", failed_at=int(time.time()), error="401 admin key rejected")
    try:
        _open(page, e2e_stack)

        banner = page.locator("#health-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Collection")
        expect(banner).to_contain_text("3 days ago")
        expect(page.locator("#alerts-banner li[data-kind='collector_failing']")).to_contain_text(
            "The collector is failing"
        )
        assert "401" not in page.locator("#alerts-banner").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "degraded.png"))
    finally:
        meta.record_success(
            run_id=before.last_run_id or "e2e",
            finished_at=before.last_success_at or int(time.time()),
            usage_as_of=before.usage_as_of or int(time.time()),
            costs_as_of=before.costs_as_of,
            directory_synced_at=before.directory_synced_at,
            cost_grouping=before.cost_grouping,
        )
    page.reload()
    wait_ready(page)
    expect(page.locator("#health-banner")).to_be_hidden()


def test_days_before_the_first_collection_are_marked_not_collected(page, e2e_stack):
    now = int(time.time())
    first = floor_day(now) - (BACKFILL_DAYS - 1) * DAY
    start = day_label(first - 20 * DAY)
    _open(page, e2e_stack, f"period=custom&from={start}&to={day_label(now)}&group=owner&bucket=1d")

    report = e2e_stack.api_get(
        f"/api/usage?start_time={first - 20 * DAY}&end_time={floor_day(now) + DAY}"
        "&bucket_width=1d&group_by=none"
    )
    assert report["coverage"]["collected_from"] == day_label(first)
    assert len(report["coverage"]["uncollected_days"]) == 20
    expect(page.locator("#legend .uncollected-key")).to_contain_text("not collected")
    expect(page.locator("#chart-note")).to_contain_text("20 days before")
    expect(page.locator("#chart-note")).to_contain_text("were never collected")
    box = page.locator("#chart canvas").first.bounding_box()
    page.mouse.move(box["x"] + 90, box["y"] + box["height"] / 2)  # past the y axis: the first days
    expect(page.locator("#chart-readout")).to_contain_text("not collected")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#chart-box").screenshot(path=str(SCREENSHOTS / "uncollected.png"))


def test_an_invalid_range_clears_the_figures_it_no_longer_stands_behind(page, e2e_stack):
    _open(page, e2e_stack, "period=7d&group=owner")
    expect(page.locator("#kpis .kpi").first).to_be_visible()
    assert page.locator("#groups-table tbody tr").count() > 0
    picker_ready(page)
    boxes = page.locator("#compare-list input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-run")
    expect(page.locator("#compare-table table")).to_be_visible()

    page.select_option("#period", "custom")
    wait_ready(page)
    page.fill("#from", day_label(int(time.time())))
    page.fill("#to", day_label(int(time.time()) - 5 * DAY))
    page.locator("#to").dispatch_event("change")

    expect(page.locator("#range-text")).to_have_text("The end date is before the start date.")
    expect(page.locator("#kpis .kpi")).to_have_count(0)
    expect(page.locator("#chart canvas")).to_have_count(0)
    expect(page.locator("#groups-table table")).to_have_count(0)
    expect(page.locator("#models-table table")).to_have_count(0)
    expect(page.locator("#compare-table table")).to_have_count(0)
    expect(page.locator("#export-compare")).to_be_disabled()
    expect(page.locator("#groups-table")).to_contain_text("No figures")
    expect(page.locator("#chart-placeholder")).to_contain_text("The end date is before the start date.")


def test_with_dollars_the_tables_sort_by_dollars(page, e2e_stack):
    _open(page, e2e_stack, "period=7d&group=api_key_id&measure=tokens")
    page.locator("#groups-table th[data-col='requests'] button").click()
    expect(page.locator("#groups-table th[data-col='requests']")).to_have_attribute("aria-sort", "descending")

    page.click("label[for='metric-cost']")

    # The Cost $ column (billed where settled, else estimated: the API's cost_usd) leads the sort.
    expect(page.locator("#groups-table th[data-col='cost_usd']")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#groups-table th[data-col='cost_usd']")).to_have_text("Cost $")
    shown = page.eval_on_selector_all(
        "#groups-table tbody tr",
        "rows => rows.map(r => r.querySelector('.mono')).filter(Boolean).map(m => m.textContent)",
    )
    now = int(time.time())
    report = e2e_stack.api_get(
        f"/api/usage?start_time={floor_day(now) - 6 * DAY}&end_time={now}"
        "&bucket_width=1d&group_by=api_key_id&top=8"
    )
    costs = {g["group"]["api_key_id"]: float(g["cost_usd"]) for g in report["groups"]}
    assert [costs[k] for k in shown] == sorted((costs[k] for k in shown), reverse=True)


def test_on_a_390px_phone_the_tables_stack_and_key_ids_never_wrap(browser, e2e_stack):
    context = new_context(
        browser,
        e2e_stack,
        token=e2e_stack.token,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
    )
    page = context.new_page()
    _open(page, e2e_stack, "period=7d&group=api_key_id&measure=cost")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first_row = page.locator("#groups-table tbody tr").first
    for label in ("Billed $", "Est. $", "Share of $"):
        cell = first_row.locator(f"td[data-label='{label}']")
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
    wrapped = page.eval_on_selector_all(
        "#groups-table .mono",
        "els => els.filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height > "
        "2 * parseFloat(getComputedStyle(e).fontSize) * 1.2).map(e => e.textContent)",
    )
    assert wrapped == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "phone-390.png"), full_page=False)
    page.locator("#groups-table").screenshot(path=str(SCREENSHOTS / "phone-390-table.png"))
    assert (SCREENSHOTS / "phone-390-table.png").stat().st_size > 5_000
    context.close()
