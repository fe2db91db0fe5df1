"""The browser tests' stack, started once per session (per xdist worker): everything real and local.

    e2e_stack   DynamoDB Local + moto (the shared `local_aws`), a fresh usage table, the OpenAI
                simulator on the real clock, a 30-day backfill plus one incremental run by the
                collector (so the checkpoint, the directory and today's hours are there), a viewer
                token, `chalice local` on a free port, and the dashboard (devstack.dashboard) on
                another, which the API's CORS admits (DASHBOARD_ORIGIN)
    browser     Debian's chromium, headless, through Playwright (never `playwright install`)
    page        a fresh context (1280x800, dark) whose console errors, page errors and dialogs are
                recorded: `page.problems` lists them
    api_get     GET an API path with the viewer token, as the test's own client

The simulator runs on the real clock: the page asks for "today" and "the last 7 days" by the
browser's clock, and the data must be there. Only test_operator_dashboard collects again (the next
scheduled run, to raise an alert); the figures of the data's as-of time (pools, forecasts) move with
a collection, not with the clock, so a page and a request of one test agree.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, sync_playwright

from chalicelib import aws, store
from chalicelib.auth import create_token
from chalicelib.catalog import PriceTable
from chalicelib.collector import CollectorConfig
from chalicelib.keys.sync import sync_directory
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.periods import DAY, floor_day
from chalicelib.query import create_key
from chalicelib.runner import Runner
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.tokens import TokenStore
from devstack import LocalStack, ManagedProcess, free_port, http_answers
from devstack.dashboard import DashboardServer
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY
from simulator.server import SimulatorServer
from tests.conftest import unique_name

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BACKFILL_DAYS = 30
TOKEN_KEY = "tracker.viewerToken"
TIMEOUT_MS = 20_000
ORG = OrgSpec(seed=7, keys=12, projects=3, users=5, days=BACKFILL_DAYS + 2)
BUDGETED_KEY = {
    "name": "translation (prod)",
    "owner": "Grace Hopper",
    "team": "Localization",
    "budget": {"amount": "50", "unit": "usd", "period": "monthly"},
}


@dataclass
class E2EStack:
    """Where everything answers, and the token to use."""

    api_url: str
    dashboard_url: str
    token: str
    org: SyntheticOrg
    collected_at: int
    logs: Path

    def api_get(self, path_and_query: str, token: str | None = None) -> Any:
        """GET `path_and_query` (e.g. "/api/usage?...") from the API with the viewer token; parsed JSON."""
        request = urllib.request.Request(
            f"{self.api_url}{path_and_query}",
            headers={"Authorization": f"Bearer {token or self.token}", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


def _chalice() -> str:
    beside = Path(sys.executable).with_name("chalice")
    found = str(beside) if beside.exists() else shutil.which("chalice")
    if not found:
        pytest.fail("the chalice CLI is not installed in this environment")
    return found


def _collect(server: SimulatorServer, now: int) -> None:
    """A 30-day backfill, an incremental run (checkpoint, hours), a directory sync, and a mapping
    that gives the busiest key a team and a monthly dollar budget."""
    client = OpenAIAdminClient(server.base_url, SIM_ADMIN_KEY, sleep=lambda _seconds: None)
    runner = Runner(client, config=CollectorConfig(), prices=PriceTable.load())
    start = floor_day(now) - (BACKFILL_DAYS - 1) * DAY
    runner.backfill(start, floor_day(now) + DAY, now)
    runner.incremental(now)
    sync_directory(client, DirectoryStore(), now)
    create_key({**BUDGETED_KEY, "key_id": server.org.directory.spike_key_id}, now)


@pytest.fixture(scope="session")
def e2e_stack(local_aws: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    with pytest.MonkeyPatch.context() as mp, SimulatorServer(SyntheticOrg(ORG)) as simulator:
        mp.setenv("USAGE_TABLE", unique_name("usage-e2e"))
        mp.setenv("OPENAI_BASE_URL", simulator.base_url)
        mp.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
        mp.setenv("OPEN_READ_ROUTES", "false")
        mp.setenv("STAGE", "local")
        get_settings.cache_clear()
        aws.cache_clear()
        store.ensure_table()
        now = int(time.time())
        _collect(simulator, now)
        token, _stored = create_token(TokenStore(), "viewer", "e2e browser tests", now)

        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        with DashboardServer(api_url) as dashboard:
            api = ManagedProcess(
                "chalice-local",
                [
                    _chalice(),
                    "local",
                    "--stage",
                    "local",
                    "--no-autoreload",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(api_port),
                ],
                ready=lambda: http_answers(f"{api_url}/api/health"),
                env={**os.environ, "DASHBOARD_ORIGIN": dashboard.origin, "PYTHONUNBUFFERED": "1"},
                cwd=ROOT,
                log_path=logs / "chalice-local.log",
                url=api_url,
            )
            api.start()
            try:
                api.wait_ready(time.monotonic() + 60)
                yield E2EStack(api_url, f"{dashboard.url}/", token, simulator.org, now, logs)
            finally:
                api.stop()
    get_settings.cache_clear()
    aws.cache_clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make tools` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@dataclass
class Problems:
    """What went wrong in the page: console errors, uncaught exceptions, dialogs (alert/confirm)."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                self.console.append(f"{message.type}: {message.text} ({message.location.get('url', '')})")

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", on_dialog)

    @property
    def all(self) -> list[str]:
        return [*self.console, *self.errors, *self.dialogs]


def new_context(browser: Browser, stack: E2EStack, *, token: str | None, **options: Any) -> BrowserContext:
    """A browser context at the dashboard; with `token`, the tab starts signed in (sessionStorage)."""
    settings: dict[str, Any] = {
        "viewport": {"width": 1280, "height": 800},
        "color_scheme": "dark",
        "accept_downloads": True,
        "timezone_id": "UTC",
        "locale": "en-US",
        **options,
    }
    context = browser.new_context(**settings)
    context.set_default_timeout(TIMEOUT_MS)
    if token is not None:
        context.add_init_script(
            f"window.sessionStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(token)});"
        )
    return context


@pytest.fixture
def page(browser: Browser, e2e_stack: E2EStack) -> Iterator[Page]:
    """A signed-in page, not yet navigated; `page.problems` records what went wrong in it."""
    yield from watched_page(browser, e2e_stack, e2e_stack.token)


def watched_page(browser: Browser, e2e_stack: E2EStack, token: str) -> Iterator[Page]:
    """A page signed in with `token`, its problems recorded in `page.problems`; closed after."""
    context = new_context(browser, e2e_stack, token=token)
    page = context.new_page()
    problems = Problems()
    problems.watch(page)
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()


@pytest.fixture
def open_dashboard(e2e_stack: E2EStack) -> Callable[..., Page]:
    """Go to the dashboard (with an optional #hash) and wait until every section has loaded."""

    def go(page: Page, hash_: str = "") -> Page:
        page.goto(e2e_stack.dashboard_url + (f"#{hash_}" if hash_ else ""))
        wait_ready(page)
        return page

    return go


def wait_ready(page: Page) -> None:
    """Wait for the page's own signal: every request of the last refresh answered and rendered."""
    page.wait_for_selector("body[data-state='ready']", timeout=TIMEOUT_MS)


def picker_ready(page: Page) -> None:
    """Scroll to the key picker and wait until the panels above it, which load when first shown
    (reconciliation, forecast), have rendered: their new height would move the picker's boxes
    between Playwright's aim and its click."""
    page.locator("#compare-list").scroll_into_view_if_needed()
    for panel in ("#reconciliation", "#forecast"):
        page.wait_for_selector(f"{panel} > *", timeout=TIMEOUT_MS)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what the transfer-size test measured (passed on from xdist workers as user_properties)."""
    lines = []
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "dashboard_transfer":
                lines.append(str(value))
    if lines:
        terminalreporter.write_sep("-", "dashboard first load")
        for line in lines:
            terminalreporter.write_line(line)
