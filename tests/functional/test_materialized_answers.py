"""Answers the collector materializes (chalicelib.query.dashboard_views, chalicelib.query.answers) on
DynamoDB Local, moto's S3 and the simulator: the dashboard's views and key lists are served from
them, byte for byte the answers computed from the items, without reading the items or the names;
an edit, a new day's data or a new checkpoint makes readers compute again until the next run; a
collector run keeps them; a failing bucket costs nothing but the shortcut."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import aws
from chalicelib.catalog import PriceTable
from chalicelib.cli.main import main
from chalicelib.collector import CollectorConfig
from chalicelib.keys.model import KeyMapping
from chalicelib.money import Settlement
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.query import clock, dashboard_views
from chalicelib.query import period as period_module
from chalicelib.query.memo import ANSWER_MEMO, REPORT_MEMO, VIEW_MEMO
from chalicelib.query.names import forget_names
from chalicelib.query.usage import Stores
from chalicelib.runner import Runner, answers_hook
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.periods import materialize
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY, SIM_NOW
from simulator.server import SimulatorServer
from tests.functional.api_helpers import TEAMS, chalice_client, fill_from_simulator, make_tokens
from tests.functional.collector_helpers import make_client, past_config

pytestmark = pytest.mark.usefixtures("usage_table")

ROOT = Path(__file__).resolve().parents[2]
TODAY = floor_day(SIM_NOW)


@pytest.fixture
def filled(sim_server: Any) -> list[str]:
    """The simulator's days collected, three keys mapped, the periods summed; the keys, sorted."""
    fill_from_simulator(sim_server)
    directory = DirectoryStore()
    keys = sorted(directory.directory().keys)
    for index, team in TEAMS.items():
        directory.put_mapping(
            KeyMapping(key_id=keys[index], name=f"Mapped {index}", team=team, created_at=SIM_NOW)
        )
    materialize(
        RollupStore(), day_label(SIM_NOW), Settlement(SIM_NOW), directory.identities(), trust_own_writes=False
    )
    return keys


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often the items of aggregate days and the names were read (wrapping the real stores)."""
    counts: Counter[str] = Counter()

    def counted(cls: type, name: str) -> None:
        real: Callable[..., Any] = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    for name in ("aggregate_items", "stamped_items", "daily_aggregates"):
        counted(RollupStore, name)
    counted(DirectoryStore, "list_mappings")
    return counts


def _dashboard_paths(now: int, key_pages: list[list[str]]) -> list[str]:
    """Every request the dashboard makes for the materialized views, as frontend/js asks them."""
    paths = []
    for start, width in dashboard_views.periods(now):
        for grouping in dashboard_views.GROUPINGS:
            query = {"start_time": start, "end_time": now, "bucket_width": width, "group_by": grouping}
            query |= {"top": dashboard_views.CHART_SERIES, "limit": dashboard_views.TABLE_ROWS}
            paths.append(f"/api/usage?{urlencode(query)}")
    paths.append(f"/api/keys?{urlencode({'sort': 'cost', 'limit': dashboard_views.PICKER_KEYS})}")
    paths += [f"/api/keys?{urlencode({'key_ids': ','.join(ids)})}" for ids in key_pages]
    return paths


class Dashboard:
    """The API as the dashboard meets it, from a container that has cached nothing."""

    def __init__(self, tmp_path: Path) -> None:
        _, self.viewer = make_tokens()
        self.client = chalice_client(tmp_path)

    def get(self, path: str, *, warm: bool = False) -> tuple[str, Any]:
        """The body of `path` and its JSON; from a new container unless `warm` (one that served before)."""
        if not warm:
            forget_names()
            REPORT_MEMO.clear()
            VIEW_MEMO.clear()
            ANSWER_MEMO.clear()
        response = self.client.http.get(path, headers={"Authorization": f"Bearer {self.viewer}"})
        assert response.status_code == 200, response.body
        body = response.body.decode()
        return body, json.loads(body)


@pytest.fixture
def dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Dashboard:
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW + 600)  # ten minutes after the run
    monkeypatch.setenv("DASHBOARD_ORIGIN", "https://dashboard.example.com")
    return Dashboard(tmp_path)


def _computed(monkeypatch: pytest.MonkeyPatch, dashboard: Dashboard, paths: list[str]) -> list[str]:
    """The bodies of `paths` with no bucket configured: computed from the items, as before answers."""
    with monkeypatch.context() as patch:
        patch.setenv("VIEWS_BUCKET", "")
        get_settings.cache_clear()
        bodies = [dashboard.get(path)[0] for path in paths]
    get_settings.cache_clear()
    return bodies


def _key_pages(dashboard: Dashboard, now: int) -> list[list[str]]:
    pages = []
    for path in _dashboard_paths(now, []):
        if "group_by=api_key_id" in path:
            pages.append([row["group"]["api_key_id"] for row in dashboard.get(path)[1]["groups"]])
    return pages


@pytest.mark.usefixtures("views_bucket")
def test_dashboard_views_are_served_from_their_answers_byte_for_byte(
    filled: list[str], dashboard: Dashboard, reads: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = dashboard_views.materialize_answers(SIM_NOW, Stores.default(), get_settings())
    periods = dashboard_views.periods(SIM_NOW)
    key_pages = _key_pages(dashboard, SIM_NOW + 600)
    assert kept.skipped == 0
    distinct_pages = {frozenset(ids) for ids in key_pages}  # two periods may show the same keys
    assert kept.answers == len(periods) * len(dashboard_views.GROUPINGS) + 1 + len(distinct_pages)
    paths = _dashboard_paths(SIM_NOW + 600, key_pages)
    reads.clear()
    served = [dashboard.get(path)[0] for path in paths]
    assert reads == Counter()  # no day's items, no names: each view is its kept answer
    assert served == _computed(monkeypatch, dashboard, paths)
    assert reads["list_mappings"] >= len(paths)  # computing them did read (the counter counts)
    owners = json.loads(served[1])  # today by owner, the default view: the mapped keys' owners shown
    assert (
        owners["total"]["cost_usd"]
        == json.loads(_computed(monkeypatch, dashboard, paths[1:2])[0])["total"]["cost_usd"]
    )


@pytest.mark.usefixtures("views_bucket")
def test_an_answer_whose_basis_moved_is_computed_again(
    filled: list[str], dashboard: Dashboard, reads: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dashboard_views.materialize_answers(SIM_NOW, Stores.default(), get_settings())
    by_key = _dashboard_paths(SIM_NOW + 600, [])[9]  # 90 days by key
    assert "group_by=api_key_id" in by_key
    before, _ = dashboard.get(by_key)  # this container keeps the answer it fetched
    directory = DirectoryStore()
    renamed = KeyMapping(key_id=filled[0], name="Renamed elsewhere", team="research", created_at=SIM_NOW)
    directory.put_mapping(renamed)  # another container's edit: only the generations tell
    reads.clear()
    body, report = dashboard.get(by_key, warm=True)
    assert reads["list_mappings"] == 1
    assert "Renamed elsewhere" in body
    assert "Renamed elsewhere" not in before
    assert body == _computed(monkeypatch, dashboard, [by_key])[0]

    dashboard_views.materialize_answers(SIM_NOW, Stores.default(), get_settings())  # the next run
    reads.clear()
    assert dashboard.get(by_key)[0] == body
    assert reads == Counter()

    revised = Usage(input_tokens=9_000, requests=2, estimated_usd=Decimal("0.5"), billed_usd=Decimal("0.5"))
    cell = Cell(key=filled[1], model="gpt-4o-2024-08-06", project="proj_x")  # yesterday revised
    day = day_label(TODAY - DAY)
    RollupStore().replace_day(
        DayRollup(day, daily={cell: revised}), keep_hourly=False, hourly_retention_days=35
    )
    MetaStore().record_backfill_progress(day, day, day, SIM_NOW + 700)  # as a backfill stores its chunk
    reads.clear()
    changed, _ = dashboard.get(by_key)
    assert reads["list_mappings"] == 1
    assert changed != body
    assert changed == _computed(monkeypatch, dashboard, [by_key])[0]

    dashboard_views.materialize_answers(SIM_NOW, Stores.default(), get_settings())
    MetaStore().record_success(
        run_id="later",
        finished_at=SIM_NOW + 900,
        usage_as_of=SIM_NOW + 900,
        costs_as_of=SIM_NOW + 900,
        directory_synced_at=SIM_NOW,
        cost_grouping="api_key_id",
    )  # a later run that kept no answers (no bucket there): its data is as of later
    reads.clear()
    _later, report = dashboard.get(by_key)
    assert reads["list_mappings"] == 1
    assert report["data_as_of"] != json.loads(changed)["data_as_of"]


def test_a_collector_run_keeps_the_answers_and_a_failing_bucket_only_loses_them(
    filled: list[str],
    sim_server: Any,
    views_bucket: str,
    dashboard: Dashboard,
    reads: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    runner = Runner(make_client(sim_server), config=CollectorConfig(), prices=PriceTable.load())
    runner.answers_hook = answers_hook(runner, settings)
    report = runner.incremental(SIM_NOW)
    assert report.status == "ok"
    assert report.answers_kept > len(dashboard_views.periods(SIM_NOW))
    default_view = _dashboard_paths(SIM_NOW + 600, [])[1]
    reads.clear()
    body, _ = dashboard.get(default_view)
    assert reads == Counter()
    assert body == _computed(monkeypatch, dashboard, [default_view])[0]

    monkeypatch.setenv("VIEWS_BUCKET", "no-such-bucket-here")
    get_settings.cache_clear()
    aws.cache_clear()
    failing = Runner(make_client(sim_server), config=CollectorConfig(), prices=PriceTable.load())
    failing.answers_hook = answers_hook(failing, get_settings())
    report = failing.incremental(SIM_NOW + 900)
    assert report.status == "ok"
    assert report.answers_kept == 0
    assert dashboard.get(default_view)[1]["groups"]  # computed, not refused


def test_the_materialized_requests_are_the_ones_the_frontend_sends() -> None:
    refresh = (ROOT / "frontend/js/refresh.js").read_text()
    state = (ROOT / "frontend/js/state.js").read_text()
    compare = (ROOT / "frontend/js/compare.js").read_text()
    assert f"const CHART_SERIES = {dashboard_views.CHART_SERIES};" in refresh
    assert f"rows: {dashboard_views.TABLE_ROWS}," in state
    assert f"const PICKER_KEYS = {dashboard_views.PICKER_KEYS};" in compare
    assert 'getJson("/api/keys", { key_ids: ids })' in refresh


@pytest.mark.usefixtures("views_bucket")
def test_a_backfill_after_the_run_makes_readers_compute_the_views(
    filled: list[str],
    sim_server: Any,
    dashboard: Dashboard,
    reads: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dashboard_views.materialize_answers(SIM_NOW, Stores.default(), get_settings())
    by_owner = _dashboard_paths(SIM_NOW + 600, [])[4]  # 7 days by owner
    assert "group_by=owner" in by_owner
    before = MetaStore().checkpoint().rewrites
    runner = Runner(make_client(sim_server), config=past_config(), prices=PriceTable.load())
    runner.backfill(TODAY - 2 * DAY, TODAY, SIM_NOW)  # an operator re-collecting two days
    assert MetaStore().checkpoint().rewrites > before
    reads.clear()
    body, _ = dashboard.get(by_owner)
    assert reads["list_mappings"] == 1  # computed: the answer was kept before the backfill's writes
    assert body == _computed(monkeypatch, dashboard, [by_owner])[0]


@pytest.mark.usefixtures("views_bucket")
def test_the_collector_reads_each_period_and_each_range_of_stamps_once_for_all_the_views(
    filled: list[str], reads: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spans: list[tuple[str, ...]] = []
    real_stamps = RollupStore.aggregate_stamps

    def stamps(self: RollupStore, kind: Any, dim: Any, first: str, last: str) -> Any:
        spans.append((kind, dim, first, last))
        return real_stamps(self, kind, dim, first, last)

    periods_read: list[int] = []
    real_period = period_module.read_period

    def period(table: Any, window: int) -> Any:
        periods_read.append(window)
        return real_period(table, window)

    monkeypatch.setattr(RollupStore, "aggregate_stamps", stamps)
    monkeypatch.setattr(period_module, "read_period", period)
    kept = dashboard_views.materialize_answers(SIM_NOW, Stores.default(), get_settings())
    assert kept.answers > len(dashboard_views.periods(SIM_NOW)) * len(dashboard_views.GROUPINGS)
    daily = [span for span in spans if span[0] == "AD"]
    assert len(daily) == 1  # the 90 days' stamps; every other period's cut from them
    assert daily[0][2] == day_label(TODAY - 89 * DAY)
    # read whole, each once for the three groupings: today's hours and this month's days
    assert 1 <= reads["aggregate_items"] <= 2
    assert sorted(periods_read) == sorted(set(periods_read))  # each window's period once
    assert reads["list_mappings"] == 2  # the names once, the key list once (its pages cut from it)


@pytest.mark.usefixtures("alerts_topic", "views_bucket")
def test_the_scheduled_collector_and_the_cli_keep_the_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app import collect as scheduled_handler  # noqa: PLC0415 - the deployed handler itself
    from tests.functional.test_run_failures import SCHEDULED_EVENT, lambda_context  # noqa: PLC0415

    with SimulatorServer(SyntheticOrg(OrgSpec(seed=7, keys=5, projects=2, users=3, days=5))) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
        get_settings.cache_clear()
        report = scheduled_handler(SCHEDULED_EVENT, lambda_context(300_000))
        assert report["status"] == "ok"
        assert report["answers_kept"] >= len(dashboard_views.GROUPINGS) * len(dashboard_views.DAILY_WINDOWS)
        assert main(["collect", "--no-alerts"]) == 0
    assert "kept for the dashboard" in capsys.readouterr().out
