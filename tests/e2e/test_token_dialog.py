"""The sign-in dialog, which js/auth.js builds when it is first needed: without a token it opens with
its styles, Escape leaves a page that says how to sign in, and signing in from there loads the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Problems, new_context, wait_ready

pytestmark = pytest.mark.e2e


def test_escape_leaves_a_sign_in_button_that_brings_the_dialog_back(browser, e2e_stack):
    context = new_context(browser, e2e_stack, token=None)
    page = context.new_page()
    problems = Problems()
    problems.watch(page)
    page.goto(e2e_stack.dashboard_url)

    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-input")).to_be_focused()
    assert dialog.evaluate("(el) => getComputedStyle(el).width") != "auto"  # auth.css applied
    assert dialog.evaluate("(el) => getComputedStyle(el).borderTopStyle") == "solid"
    page.keyboard.press("Escape")

    expect(dialog).to_be_hidden()
    banner = page.locator("#global-error")
    expect(banner).to_contain_text("Sign in to see usage.")
    expect(page.locator("#as-of")).to_have_text("Not signed in")
    banner.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_visible()
    page.fill("#token-input", e2e_stack.token)
    page.click("#token-submit")

    wait_ready(page)
    expect(page.locator("#as-of")).to_contain_text("Data as of")
    expect(banner).to_be_hidden()
    assert page.locator("#groups-table tbody tr").count() > 0
    assert problems.all == []
    context.close()
