"""The page applies the limits /api/health publishes, not numbers of its own: in a real browser against
the local stack, with the real health answer's `limits` made tighter on the way (Playwright's route
fetches the API's answer and changes only those fields), the page follows the new values."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import picker_ready

pytestmark = pytest.mark.e2e


def tighten(page: Page, change: dict[str, Any]) -> None:
    """Answer /api/health as the API does, with `change` merged into its `limits`."""

    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        for name, value in change.items():
            body["limits"][name] = {**body["limits"][name], **value} if isinstance(value, dict) else value
        route.fulfill(response=response, json=body)

    page.route("**/api/health", handle)


def test_the_api_limits_as_they_are_give_the_pages_usual_choices(page, open_dashboard, e2e_stack):
    limits = e2e_stack.api_get("/api/health")["limits"]
    open_dashboard(page, "period=7d&group=owner&bucket=1h&measure=tokens")

    expect(page.locator("#bucket-1h")).to_be_enabled()
    expect(page.locator("#bucket-1h")).to_be_checked()
    expect(page.locator("#compare-legend")).to_have_text(
        f"Choose {limits['compare_keys']['min']} to {limits['compare_keys']['max']} keys"
    )
    expect(page.locator("#as-of .chip.bad")).to_have_count(0)  # collected minutes ago: not stale
    assert page.problems.all == []


def test_a_shorter_hourly_span_from_the_api_turns_the_page_to_daily_buckets(page, open_dashboard):
    tighten(page, {"max_span_seconds": {"1h": 3 * 86400}})
    asked: list[dict[str, list[str]]] = []
    page.on("request", lambda r: "/api/usage?" in r.url and asked.append(parse_qs(urlsplit(r.url).query)))

    open_dashboard(page, "period=7d&group=owner&bucket=1h&measure=tokens")

    expect(page.locator("#bucket-1h")).to_be_disabled()
    expect(page.locator("#bucket-1d")).to_be_checked()
    assert "bucket=1d" in page.url
    widths = {query["bucket_width"][0] for query in asked if query.get("group_by") == ["owner"]}
    assert widths == {"1d"}  # the page never asked for what the API said it would refuse
    assert page.problems.all == []


def test_the_compare_picker_takes_as_many_keys_as_the_api_says(page, open_dashboard):
    tighten(page, {"compare_keys": {"max": 3}})
    open_dashboard(page)

    expect(page.locator("#compare-legend")).to_have_text("Choose 2 to 3 keys")
    picker_ready(page)
    boxes = page.locator("#compare-list input[type=checkbox]")
    for index in range(4):
        boxes.nth(index).check()
    expect(page.locator("#compare-count")).to_have_text("4 selected: 3 at most")
    expect(page.locator("#compare-run")).to_be_disabled()
    boxes.nth(3).uncheck()
    expect(page.locator("#compare-count")).to_have_text("3 selected")
    expect(page.locator("#compare-run")).to_be_enabled()
    boxes.nth(2).uncheck()
    boxes.nth(1).uncheck()
    expect(page.locator("#compare-run")).to_be_disabled()
    assert page.problems.all == []


def test_the_stale_chip_follows_the_apis_staleness_age(page, open_dashboard):
    tighten(page, {"stale_after_seconds": 1})
    open_dashboard(page)

    expect(page.locator("#as-of")).to_contain_text("Data as of")
    expect(page.locator("#as-of .chip.bad")).to_have_text("stale")
    assert page.problems.all == []
