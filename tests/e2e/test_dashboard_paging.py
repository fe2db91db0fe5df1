"""Issue 14 in a real browser: the by-group table shows a page of the API's groups with Previous and
Next, its search and the key picker's are the API's, and every page totals to the report's total."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import wait_ready
from tests.e2e.test_dashboard import cents, path_and_query, query_of, shown_money, table_cells

pytestmark = pytest.mark.e2e

ROWS = 10  # the e2e org has 12 keys (and unattributed traffic): two pages


def _asks(path: str, **wanted: str):
    def match(response) -> bool:
        asked = query_of(response.url)
        return f"{path}?" in response.url and all(asked.get(name) == value for name, value in wanted.items())

    return match


def _labels(page: Page) -> list[str]:
    return [row[0] for row in table_cells(page, "#groups-table")[1]]


def test_the_key_table_pages_through_every_key_of_the_api(page: Page, open_dashboard, e2e_stack):
    with page.expect_response(_asks("/api/usage", group_by="api_key_id")) as answered:
        open_dashboard(page, f"period=30d&group=api_key_id&bucket=1d&rows={ROWS}")
    first_url = path_and_query(answered.value.url)
    assert query_of(first_url)["limit"] == str(ROWS)
    whole = e2e_stack.api_get(first_url.replace(f"limit={ROWS}", "limit=1000"))
    count = whole["group_count"]
    assert count > ROWS
    labels = [row["label"] for row in whole["groups"]]

    pager = page.locator("#groups-pager")
    expect(pager).to_contain_text(f"1–{ROWS} of {count}")
    expect(pager.get_by_role("button", name="Previous")).to_be_disabled()
    first = _labels(page)
    assert sorted(first) == sorted(labels[:ROWS])  # the API's first page (the table sorts it by tokens)

    with page.expect_response(_asks("/api/usage", offset=str(ROWS))):
        pager.get_by_role("button", name="Next").click()
    expect(pager).to_contain_text(f"{ROWS + 1}–{count} of {count}")
    expect(pager.get_by_role("button", name="Next")).to_be_disabled()
    second = _labels(page)
    assert sorted(second) == sorted(labels[ROWS:])
    # the footer is every key's total on every page: the KPI's spend, one figure
    head, _rows, foot = table_cells(page, "#groups-table")
    assert shown_money(foot[head.index("Cost $")]) == cents(whole["total"]["cost_usd"])
    assert foot[head.index("Share of tokens")] == "100.0%"
    expect(page.locator("#legend li")).not_to_have_count(0)  # the chart keeps the period's top series

    with page.expect_response(_asks("/api/usage", offset="0")):
        pager.get_by_role("button", name="Previous").click()
    expect(pager).to_contain_text(f"1–{ROWS} of {count}")
    assert _labels(page) == first
    assert page.problems.all == []


def test_the_table_search_is_the_apis_and_leaves_the_totals_alone(page: Page, open_dashboard, e2e_stack):
    with page.expect_response(_asks("/api/usage", group_by="api_key_id")) as answered:
        open_dashboard(page, "period=30d&group=api_key_id&bucket=1d")
    url = path_and_query(answered.value.url)
    kpis = page.locator("#kpis").inner_text()
    owner = next(row["key"]["owner"] for row in e2e_stack.api_get(url)["groups"] if row["key"]["owner"])
    needle = owner.split()[0].upper()

    with page.expect_response(_asks("/api/usage", search=needle)) as searched:
        page.fill("#filter", needle)
    expect(page.locator("#groups-table caption")).to_contain_text(f"matching “{needle}”")
    answer = e2e_stack.api_get(path_and_query(searched.value.url))

    assert 0 < answer["group_count"] == len(answer["groups"]) < len(e2e_stack.api_get(url)["groups"])
    assert sorted(_labels(page)) == sorted(row["label"] for row in answer["groups"])
    assert all(needle.casefold() in str(row).casefold() for row in answer["groups"])
    assert page.locator("#kpis").inner_text() == kpis  # the search narrows the table, not the figures
    expect(page.locator("#groups-pager")).to_have_count(0)  # one page: no pager loaded

    with page.expect_response(_asks("/api/usage", search="no such key anywhere")):
        page.fill("#filter", "no such key anywhere")
    expect(page.locator("#groups-table tbody")).to_contain_text("No keys matching “no such key anywhere”.")
    assert page.problems.all == []


def test_the_key_picker_asks_the_api_for_the_keys_it_shows(page: Page, open_dashboard, e2e_stack):
    with page.expect_response(_asks("/api/keys", sort="cost")) as answered:
        open_dashboard(page, "period=7d&group=owner")
    listed = e2e_stack.api_get(path_and_query(answered.value.url))
    boxes = page.locator("#compare-list input[type=checkbox]")
    assert [boxes.nth(i).get_attribute("value") for i in range(boxes.count())] == [
        key["key_id"] for key in listed["data"]
    ]
    costs = [float(key["usage_30d"]["cost_usd"]) for key in listed["data"]]
    assert costs == sorted(costs, reverse=True)
    owner = next(key["owner"] for key in listed["data"] if key["owner"])

    with page.expect_response(_asks("/api/keys", search=owner)) as searched:
        page.fill("#compare-filter", owner)
    found = e2e_stack.api_get(path_and_query(searched.value.url))["data"]
    expect(boxes).to_have_count(len(found))
    assert 0 < len(found) < len(listed["data"])
    assert {boxes.nth(i).get_attribute("value") for i in range(len(found))} == {k["key_id"] for k in found}

    with page.expect_response(_asks("/api/keys", search="no such key anywhere")):
        page.fill("#compare-filter", "no such key anywhere")
    expect(page.locator("#compare-list")).to_contain_text("No keys match.")
    wait_ready(page)
    assert page.problems.all == []
