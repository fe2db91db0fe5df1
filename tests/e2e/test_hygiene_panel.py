"""The key hygiene panel in a real browser against the local stack: opened, it shows the keys
/api/hygiene lists, in its order (biggest 30-day spender first), with their findings and dollars,
names shown as text."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")
FINDING_TEXT = {
    "unused": "Unused",
    "rotation_due": "Rotation due",
    "owner_departed": "Owner left",
    "service_account_gone": "Service account gone",
    "unowned": "No owner",
}


def test_the_hygiene_panel_lists_the_apis_findings_with_their_30_day_spend(page, open_dashboard, e2e_stack):
    open_dashboard(page)
    answer = e2e_stack.api_get("/api/hygiene")
    expect(page.locator("#hygiene-table tbody tr")).to_have_count(0)  # loaded only once opened
    page.locator("#hygiene summary").click()
    assert answer["data"], "the simulator's directory has keys to rotate and a deleted key nobody owns"

    rows = page.locator("#hygiene-table tbody tr")
    expect(rows).to_have_count(len(answer["data"]))
    expect(page.locator("#hygiene-meta")).to_contain_text(
        f"no use for {answer['thresholds']['unused_days']} days"
    )
    expect(page.locator("#hygiene-table caption")).to_contain_text(
        f"{len(answer['data'])} {'key needs' if len(answer['data']) == 1 else 'keys need'} attention"
    )
    head = [text.strip() for text in page.locator("#hygiene-table thead th").all_text_contents()]
    cost_column, findings_column = head.index("Cost $ 30d"), head.index("Findings")
    for index, entry in enumerate(answer["data"]):
        row = rows.nth(index)
        expect(row.locator(".label")).to_have_text(entry["name"])  # as text: an HTML name stays text
        cells = row.locator("th, td")
        shown = cells.nth(cost_column).text_content() or ""
        expected = Decimal(entry["spend_30d"]["cost_usd"]).quantize(CENT, rounding=ROUND_HALF_UP)
        assert Decimal(shown.replace("$", "").replace(",", "")) == expected
        chips = cells.nth(findings_column).locator("[data-finding]")
        assert chips.evaluate_all("(els) => els.map((e) => e.dataset.finding)") == entry["findings"]
        assert chips.all_text_contents() == [FINDING_TEXT[code] for code in entry["findings"]]
    unowned = [e for e in answer["data"] if "unowned" in e["findings"]]
    assert [e["key_id"] for e in unowned] == [e2e_stack.org.directory.deleted_key_id]
    assert page.problems.all == []
