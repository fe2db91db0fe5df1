"""The dashboard in a real browser against the real local stack (see conftest.py): what people see
is what the API says, every control works, hostile names stay text, and the page stays small."""

from __future__ import annotations

import calendar
import csv
import gzip
import io
import os
import re
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from simulator.directory import XSS_NAME
from tests.e2e.conftest import BUDGETED_KEY, TIMEOUT_MS, Problems, new_context, picker_ready, wait_ready

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
CENT = Decimal("0.01")
MONEY_COLUMNS = {"Billed $", "Est. $", "Cost $"}
CSV_ONLY = {
    "Key ID",
    "Project",
    "Unpriced tokens",
    "Basis",
}  # the CSV's columns the table shows inside others
STATIC_BUDGET_GZIP_BYTES = 60_000


# -- reading the page -----------------------------------------------------------------------------
def table_cells(page: Page, container: str) -> tuple[list[str], list[list[str]], list[str]]:
    """(header labels, body rows, totals row) of a table as shown; a name cell gives its label only."""
    return page.evaluate(
        """(selector) => {
            const table = document.querySelector(selector + " table");
            const text = (cell) => (cell.querySelector(".label") || cell).textContent.trim();
            const head = [...table.tHead.rows[0].cells].map((c) => c.textContent.trim());
            const body = [...table.tBodies[0].rows].filter((r) => !r.classList.contains("empty-row"))
                .map((r) => [...r.cells].map(text));
            const foot = table.tFoot.rows.length ? [...table.tFoot.rows[0].cells].map(text) : [];
            return [head, body, foot];
        }""",
        container,
    )


def shown_int(text: str) -> int:
    return int(text.replace(",", ""))


def shown_money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def cents(value: str | Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def same_value(label: str, shown: str, written: str) -> bool:
    """Does a CSV value say what the cell shows? Money to the cent, numbers without separators."""
    if label in MONEY_COLUMNS:
        if "unpriced" in shown:  # docs/money.md: unpriced tokens are never shown as $0.00
            return shown == "unpriced" or cents(written) == shown_money(shown.split(" + ", maxsplit=1)[0])
        return cents(written) == shown_money(shown)
    if re.fullmatch(r"[\d,]+", shown):
        return shown_int(shown) == int(written)
    if shown.endswith("%"):
        return shown[:-1] == written
    if shown == "—":
        return written == ""
    if label == "Notes":
        return shown.split() == " ".join(written.split("; ")).split()
    return shown == written


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def is_usage(group: str):
    return lambda response: "/api/usage?" in response.url and query_of(response.url).get("group_by") == group


# -- tests ----------------------------------------------------------------------------------------
def test_the_page_loads_without_console_errors_and_stays_small(browser, e2e_stack, record_property):
    context = new_context(browser, e2e_stack, token=e2e_stack.token)
    page = context.new_page()
    problems = Problems()
    problems.watch(page)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on(
        "Network.requestWillBeSent",
        lambda event: urls.__setitem__(event["requestId"], event["request"]["url"]),
    )
    cdp.on(
        "Network.loadingFinished",
        lambda event: sizes.__setitem__(event["requestId"], event["encodedDataLength"]),
    )

    page.goto(e2e_stack.dashboard_url)
    wait_ready(page)
    page.wait_for_load_state("networkidle")

    assert problems.all == []
    expect(page.locator(".pool")).to_have_count(2)
    # The stack runs on the real clock: in the first hours of a UTC day (quiet simulated nights)
    # "today" can hold no tokens yet. The chart is drawn exactly when the page's report has some.
    first_report = next(url for url in urls.values() if "/api/usage?" in url)
    if e2e_stack.api_get(path_and_query(first_report))["total"]["total_tokens"] > 0:
        expect(page.locator("#chart canvas").first).to_be_visible()
    else:
        expect(page.locator("#chart-placeholder")).to_contain_text("No usage in this period.")
    assert page.locator("#groups-table tbody tr").count() > 0
    assert page.locator("#models-table tbody tr").count() > 0
    assert page.locator("#compare-list input[type=checkbox]").count() >= 2
    expect(page.locator("#as-of")).to_contain_text("Data as of")

    static = {
        rid: url for rid, url in urls.items() if url.startswith(e2e_stack.dashboard_url) and rid in sizes
    }
    api = {rid: url for rid, url in urls.items() if url.startswith(e2e_stack.api_url) and rid in sizes}
    static_bytes = sum(sizes[rid] for rid in static)
    api_bytes = sum(sizes[rid] for rid in api)
    paths = sorted({urlsplit(url).path.lstrip("/") or "index.html" for url in static.values()})
    files = [FRONTEND / path for path in paths if (FRONTEND / path).is_file()]
    gzipped = sum(len(gzip.compress(file.read_bytes(), 9)) for file in files)
    summary = (
        f"first load: {len(static)} static files {static_bytes / 1000:.1f} kB on the wire uncompressed "
        f"(≈{gzipped / 1000:.1f} kB gzipped, as CloudFront serves them), "
        f"{len(api)} API calls {api_bytes / 1000:.1f} kB, total {(static_bytes + api_bytes) / 1000:.1f} kB"
    )
    print(summary)
    record_property("dashboard_transfer", summary)
    assert gzipped < STATIC_BUDGET_GZIP_BYTES
    context.close()


def test_the_tables_totals_equal_the_apis_for_the_same_period(page, open_dashboard, e2e_stack):
    with page.expect_response(is_usage("owner")) as answered:
        open_dashboard(page, "period=7d&group=owner&bucket=1d")
    report = e2e_stack.api_get(path_and_query(answered.value.url))
    total = report["total"]

    head, rows, foot = table_cells(page, "#groups-table")
    column = {label: i for i, label in enumerate(head)}
    assert foot[0] == "Total"
    assert shown_int(foot[column["Tokens in"]]) == total["input_tokens"]
    assert shown_int(foot[column["Tokens out"]]) == total["output_tokens"]
    assert shown_int(foot[column["Cached in"]]) == total["cached_tokens"]
    assert shown_int(foot[column["Requests"]]) == total["requests"]
    assert shown_money(foot[column["Billed $"]]) == cents(total["billed_usd"])
    assert shown_money(foot[column["Est. $"]]) == cents(total["estimated_usd"])
    assert shown_money(foot[column["Cost $"]]) == cents(total["cost_usd"])  # the KPI's spend, one figure
    assert foot[column["Share of tokens"]] == "100.0%"
    assert len(rows) == len(report["groups"])
    by_label = {group["label"]: group for group in report["groups"]}
    for row in rows:
        group = by_label[row[0]]
        assert shown_int(row[column["Tokens in"]]) == group["input_tokens"]
        assert shown_money(row[column["Billed $"]]) == cents(group["billed_usd"])
    expect(page.locator(".kpi").first).to_contain_text(f"{total['total_tokens']:,}")
    assert total["total_tokens"] > 0


def test_the_per_call_columns_are_the_measures_the_api_lists(page, open_dashboard, e2e_stack):
    # The page has no list of its own: its per-call columns are the report's `measures` (issue 15).
    with page.expect_response(is_usage("api_key_id")) as answered:
        open_dashboard(page, "period=30d&group=api_key_id&bucket=1d")
    report = e2e_stack.api_get(path_and_query(answered.value.url))
    total = report["total"]
    used = [measure for measure in report["measures"] if total.get(measure["id"])]
    assert {measure["unit"] for measure in used} == {"count", "gb_days"}  # the simulated org uses tools

    head, rows, foot = table_cells(page, "#groups-table")
    labels = [measure["label"] for measure in used]
    assert [label for label in head if label in labels] == labels  # in the API's order
    for measure in used:
        cell = foot[head.index(measure["label"])]
        if measure["unit"] == "count":
            assert shown_int(cell) == total[measure["id"]]
        else:  # the footer sums the rows' 6-decimal GB-days and shows 3 decimals
            gap = abs(Decimal(cell) - Decimal(str(total[measure["id"]])))
            assert gap <= Decimal("0.001") * (len(rows) + 1)


def test_the_reconciliation_panel_shows_the_billed_days_of_the_api(page, open_dashboard, e2e_stack):
    open_dashboard(page, "period=30d&group=owner&bucket=1d")
    answer = e2e_stack.api_get("/api/reconciliation")
    assert answer["days"]
    newest = answer["days"][-1]

    first = page.locator("#reconciliation tbody tr").first
    page.locator("#reconciliation").scroll_into_view_if_needed()  # below the fold: it loads when shown
    expect(first).to_contain_text(newest["day"])
    cells = first.locator("td").all_text_contents()
    assert shown_money(cells[1]) == cents(newest["billed_usd"])
    expect(page.locator("#reconciliation tfoot")).to_contain_text(f"{len(answer['days'])} billed days")


def test_a_mapped_key_shows_its_budget_status_and_team(page, open_dashboard, e2e_stack):
    open_dashboard(page, "period=30d&group=api_key_id&bucket=1d")
    key = next(k for k in e2e_stack.api_get("/api/keys")["data"] if k["name"] == BUDGETED_KEY["name"])
    percent = key["budget_status"]["percent"]

    row = page.locator("#groups-table tbody tr", has_text=BUDGETED_KEY["name"])
    expect(
        row.locator("td").nth(page.locator("#groups-table thead th").all_inner_texts().index("Budget") - 1)
    ).to_have_text(f"{percent:.1f}% of $50.00 per month")
    expect(row).to_contain_text("Localization")

    with page.expect_response(is_usage("team")):
        page.select_option("#group", "team")
    wait_ready(page)
    head, rows, _foot = table_cells(page, "#groups-table")
    assert head[0] == "Team"
    assert {row[0] for row in rows} >= {"Localization", "(no team)"}


def test_changing_the_period_and_grouping_updates_the_page(page, open_dashboard):
    open_dashboard(page, "period=today&group=owner")
    expect(page.locator("#bucket-1h")).to_be_checked()
    today_range = page.locator("#range-text").inner_text()

    with page.expect_response(is_usage("owner")) as answered:
        page.select_option("#period", "7d")
    wait_ready(page)
    asked = query_of(answered.value.url)
    assert int(asked["end_time"]) - int(asked["start_time"]) > 6 * 86400
    assert asked["bucket_width"] == "1d"
    expect(page.locator("#bucket-1d")).to_be_checked()
    expect(page.locator("#range-text")).to_contain_text("(7 days)")
    assert page.locator("#range-text").inner_text() != today_range
    assert "period=7d" in page.evaluate("location.hash")

    with page.expect_response(is_usage("api_key_id")):
        page.select_option("#group", "api_key_id")
    wait_ready(page)
    expect(page.locator("#groups-title")).to_have_text("By API key")
    expect(page.locator("#groups-table thead th").first).to_have_text("API key")
    expect(page.locator("#chart-note")).to_contain_text("stacked by API key")

    with page.expect_response(is_usage("model")):
        page.select_option("#group", "model")
    wait_ready(page)
    expect(page.locator("#groups-table thead th").first).to_have_text("Model")

    with page.expect_response(is_usage("model")) as answered:
        page.get_by_text("Hourly", exact=True).click()
    wait_ready(page)
    assert query_of(answered.value.url)["bucket_width"] == "1h"

    page.select_option("#period", "custom")
    wait_ready(page)
    expect(page.locator("#from")).to_be_visible()
    three_days_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))
    with page.expect_response(is_usage("model")) as answered:
        page.fill("#from", three_days_ago)
    wait_ready(page)
    assert int(query_of(answered.value.url)["start_time"]) == calendar.timegm(
        time.strptime(three_days_ago, "%Y-%m-%d")
    )
    assert page.locator("#groups-table tbody tr").count() > 0


def test_csv_export_downloads_what_the_table_shows(page, open_dashboard):
    open_dashboard(page, "period=30d&group=api_key_id&bucket=1d")
    every_row = len(table_cells(page, "#groups-table")[1])
    page.locator("#groups-table").get_by_role("button", name="Tokens out", exact=True).click()
    # most synthetic keys are named purpose-env-n: some rows stay, some go. The API searches (issue 14)
    searched = lambda r: "/api/usage?" in r.url and query_of(r.url).get("search") == "-"  # noqa: E731
    with page.expect_response(searched):
        page.fill("#filter", "-")
    expect(page.locator("#groups-table caption")).to_contain_text("matching “-”")
    head, rows, foot = table_cells(page, "#groups-table")
    assert 0 < len(rows) < every_row

    with page.expect_download() as downloaded:
        page.click("#export-groups")
    download = downloaded.value
    assert re.fullmatch(
        r"usage-by-api_key_id-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename
    )
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    written = list(csv.reader(io.StringIO(text)))

    header, *body = written
    assert [label for label in header if label not in CSV_ONLY] == head
    assert len(body) == len(rows) + 1  # the rows shown, then the totals row
    for shown_row, written_row in zip([*rows, foot], body, strict=True):
        values = dict(zip(header, written_row, strict=True))
        for label, shown in zip(head, shown_row, strict=True):
            assert same_value(label, shown, values[label]), (label, shown, values[label])
    outs = [shown_int(row[head.index("Tokens out")]) for row in rows]
    assert outs == sorted(outs, reverse=True)


def test_a_key_named_like_html_shows_as_text_and_runs_nothing(page, open_dashboard):
    open_dashboard(page, "period=30d&group=api_key_id&bucket=1d")

    expect(page.locator("#groups-table .label", has_text=XSS_NAME)).to_have_count(1)
    expect(page.locator("#compare-list label", has_text=XSS_NAME)).to_have_count(1)
    assert page.locator("img").count() == 0
    assert page.problems.all == []
    picker_ready(page)
    page.locator("#compare-list input").first.check()
    page.locator("#compare-list label", has_text=XSS_NAME).locator("input").check()
    with page.expect_response(lambda r: "/api/compare?" in r.url):
        page.click("#compare-run")
    expect(page.locator("#compare-table thead th", has_text=XSS_NAME)).to_have_count(1)
    assert page.locator("img").count() == 0
    assert page.problems.dialogs == []


def test_a_wrong_token_brings_the_prompt_back(browser, e2e_stack):
    context = new_context(browser, e2e_stack, token=None)
    page = context.new_page()
    page.goto(e2e_stack.dashboard_url)
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-input")).to_be_focused()

    with page.expect_response(lambda r: r.url.startswith(e2e_stack.api_url) and r.status == 401):
        page.fill("#token-input", "out_this-is-not-a-real-token")
        page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-error")).to_contain_text("not accepted")

    page.fill("#token-input", e2e_stack.token)
    page.get_by_role("button", name="Sign in").click()
    wait_ready(page)
    expect(dialog).to_be_hidden()
    assert page.locator("#groups-table tbody tr").count() > 0
    assert page.evaluate("sessionStorage.getItem('tracker.viewerToken')") == e2e_stack.token

    # A token that stops working later (revoked, another tab signed out) asks again on the next load.
    page.evaluate("sessionStorage.setItem('tracker.viewerToken', 'out_revoked-meanwhile')")
    page.click("#refresh")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-error")).to_contain_text("not accepted")
    context.close()


def test_the_period_control_and_sorting_work_from_the_keyboard(page, open_dashboard):
    open_dashboard(page, "period=today&group=owner")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "period":
            break
    assert page.evaluate("document.activeElement.id") == "period"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"

    with page.expect_response(is_usage("owner")) as answered:
        page.keyboard.press("ArrowDown")
    wait_ready(page)
    assert page.locator("#period").input_value() == "7d"
    assert (
        int(query_of(answered.value.url)["end_time"]) - int(query_of(answered.value.url)["start_time"])
        > 6 * 86400
    )

    header = page.locator("#groups-table th[data-col='requests']")
    header.locator("button").focus()
    page.keyboard.press("Enter")
    expect(header).to_have_attribute("aria-sort", "descending")
    page.keyboard.press("Space")
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(header.locator("button")).to_be_focused()


def test_comparing_keys_shows_what_the_api_says(page, open_dashboard, e2e_stack):
    open_dashboard(page, "period=7d&group=owner")
    picker_ready(page)
    boxes = page.locator("#compare-list input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("#compare-count")).to_have_text("2 selected")
    with page.expect_response(lambda r: "/api/compare?" in r.url) as answered:
        page.click("#compare-run")
    expect(page.locator("#compare-table table")).to_be_visible()
    comparison = e2e_stack.api_get(path_and_query(answered.value.url))

    head, rows, _foot = table_cells(page, "#compare-table")
    assert head == ["Measure", *(key["label"] for key in comparison["keys"]), "All selected"]
    tokens = next(row for row in rows if row[0] == "Total tokens")
    assert [shown_int(v) for v in tokens[1:]] == [
        *(key["total_tokens"] for key in comparison["keys"]),
        comparison["total"]["total_tokens"],
    ]
    with page.expect_download() as downloaded:
        page.click("#export-compare")
    assert "Total tokens" in Path(downloaded.value.path()).read_text(encoding="utf-8-sig")


def test_dark_is_the_default_and_light_is_remembered(browser, e2e_stack, page, open_dashboard):
    dark = "rgb(13, 17, 23)"
    light = "rgb(246, 248, 250)"
    open_dashboard(page)
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == dark
    page.click("#theme-toggle")
    expect(page.locator("#theme-toggle")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(background) == light
    page.reload()
    wait_ready(page)
    assert page.evaluate(background) == light

    context = new_context(browser, e2e_stack, token=e2e_stack.token, color_scheme="light")
    system_light = context.new_page()
    system_light.goto(e2e_stack.dashboard_url)
    wait_ready(system_light)
    assert system_light.evaluate(background) == light
    context.close()


def test_on_a_phone_nothing_overflows_sideways(browser, e2e_stack):
    context = new_context(browser, e2e_stack, token=e2e_stack.token, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto(e2e_stack.dashboard_url + "#period=7d&group=api_key_id")
    wait_ready(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.locator("#chart canvas").first).to_be_visible()
    assert page.locator("#chart canvas").first.bounding_box()["width"] <= 375
    context.close()


def test_a_screenshot_of_the_dark_desktop_page(page, open_dashboard, tmp_path):
    """Writes docs/screenshot.png when E2E_SCREENSHOT names a path (the README's picture)."""
    open_dashboard(page, "period=7d&group=owner&bucket=1d&measure=tokens")
    page.wait_for_load_state("networkidle")
    target = Path(os.environ.get("E2E_SCREENSHOT") or tmp_path / "dashboard.png")
    page.screenshot(path=str(target), timeout=TIMEOUT_MS)
    assert target.stat().st_size > 20_000


def test_money_is_exact_to_the_cent_and_csv_defuses_formulas(page, open_dashboard):
    open_dashboard(page)
    result = page.evaluate(
        """async () => {
            const f = await import("/js/format.js");
            const c = await import("/js/csv.js");
            return {
                sum: f.usd(f.dec("0.1") + f.dec("0.2")),
                tiny: f.usd(f.dec("1E-7")),
                half: f.usd(f.dec("0.005")),
                big: f.usd(f.dec("1234567.891")),
                negative: f.usd(f.dec("-2.5")),
                exact: f.decString(f.dec("12.3456789") + f.dec("0.0000001")),
                fields: [c.field("=SUM(A1)"), c.field('a "b", c'), c.field(-3), c.field("@x")],
            };
        }"""
    )
    assert result == {
        "sum": "$0.30",
        "tiny": "$0.00",
        "half": "$0.01",
        "big": "$1,234,567.89",
        "negative": "-$2.50",
        "exact": "12.345679",
        "fields": ["'=SUM(A1)", '"a ""b"", c"', "-3", "'@x"],
    }
