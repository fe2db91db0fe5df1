"""The month-end forecast panel in a real browser against the real local stack (tests/e2e/conftest.py):
it shows what GET /api/forecast says, to the cent, with the budgeted key beside its monthly budget."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import BUDGETED_KEY

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")


def money(value: str) -> str:
    return f"${Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):,}"


def test_the_forecast_panel_shows_the_apis_forecasts_beside_the_budgets(page, open_dashboard, e2e_stack):
    open_dashboard(page)
    page.locator("#forecast").scroll_into_view_if_needed()  # below the fold: it loads when shown
    answer = e2e_stack.api_get("/api/forecast?group_by=api_key_id&top=10")
    assert answer["groups"]

    total = answer["total"]
    meta = page.locator("#forecast-meta")
    day_of = f"day {answer['day_of_month']} of {answer['days_in_month']}"
    expect(meta).to_contain_text(f"{answer['month']}, {day_of}")
    expect(meta.locator(".forecast-total")).to_have_text(money(total["forecast_usd"]))
    expect(meta).to_contain_text(f"range {money(total['low_usd'])} – {money(total['high_usd'])}")

    rows = page.locator("#forecast tbody tr")
    expect(rows).to_have_count(len(answer["groups"]))
    for index, group in enumerate(answer["groups"]):
        cells = rows.nth(index).locator("th, td").all_text_contents()
        assert cells[0] == group["label"]
        assert cells[1:4] == [
            money(group["month_to_date_usd"]),
            money(group["forecast_usd"]),
            f"{money(group['low_usd'])} – {money(group['high_usd'])}",
        ]
    foot = page.locator("#forecast tfoot tr").locator("th, td").all_text_contents()
    assert foot[:3] == ["Organization", money(total["month_to_date_usd"]), money(total["forecast_usd"])]

    # the mapped key with the $50 monthly budget is the organization's busiest (conftest.py)
    [budgeted] = [g for g in answer["groups"] if g["label"] == BUDGETED_KEY["name"]]
    assert budgeted["budget_usd"] == "50"
    row = page.locator("#forecast tbody tr", has_text=BUDGETED_KEY["name"])
    expect(row.locator("td").nth(3)).to_contain_text(f"$50.00 ({round(budgeted['forecast_percent'])}%)")
    if budgeted["over_budget"]:
        expect(row.locator(".chip")).to_have_text("over budget")
    elif budgeted["on_track_to_exceed"]:
        day = date.fromisoformat(budgeted["on_track_to_exceed"])
        expect(row.locator(".chip")).to_have_text(f"exceeds {day.day} {day.strftime('%b')}")
    else:
        expect(row.locator("td").nth(3)).to_contain_text("within budget")
    assert page.problems.all == []  # type: ignore[attr-defined]


def test_a_key_named_like_html_stays_text_in_the_forecast(page, open_dashboard, e2e_stack):
    open_dashboard(page)
    page.locator("#forecast").scroll_into_view_if_needed()  # below the fold: it loads when shown
    answer = e2e_stack.api_get("/api/forecast?group_by=api_key_id&top=10")
    expect(page.locator("#forecast tbody th")).to_have_count(len(answer["groups"]))
    labels = page.locator("#forecast tbody th").all_text_contents()
    assert labels == [group["label"] for group in answer["groups"]]
    assert page.locator("#forecast img").count() == 0
    assert page.problems.all == []  # type: ignore[attr-defined]
