"""The collector lease on DynamoDB Local: sized from the collector Lambda's timeout, renewed while a
run works, a crashed run's lease taken over within the timeout plus a minute, skips that say why."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chalicelib.catalog import PriceTable
from chalicelib.cli.main import main
from chalicelib.collector import CollectorConfig
from chalicelib.periods import iso
from chalicelib.runner import COLLECTOR_TIMEOUT_SECONDS, LEASE_SECONDS, Runner
from chalicelib.settings import get_settings
from chalicelib.store.meta import MetaStore
from simulator.pytest_plugin import SIM_ADMIN_KEY, SIM_NOW
from tests.functional.collector_helpers import make_client

pytestmark = pytest.mark.usefixtures("usage_table")


class FakeClock:
    """Elapsed seconds the runner reads; each read moves on by `step` (a slow run, without sleeps)."""

    def __init__(self, step: float = 0.0) -> None:
        self.value = 0.0
        self.step = step

    def __call__(self) -> float:
        self.value += self.step
        return self.value


def make_runner(server, **kwargs) -> Runner:
    return Runner(make_client(server), config=CollectorConfig(), prices=PriceTable.load(), **kwargs)


def test_the_lease_lasts_the_collector_lambdas_timeout_plus_a_small_margin():
    config = json.loads((Path(__file__).parents[2] / ".chalice" / "config.json").read_text())
    assert config["lambda_functions"]["collect"]["lambda_timeout"] == COLLECTOR_TIMEOUT_SECONDS
    assert COLLECTOR_TIMEOUT_SECONDS < LEASE_SECONDS <= COLLECTOR_TIMEOUT_SECONDS + 60


def test_a_crashed_runs_lease_is_taken_over_within_the_timeout_plus_a_minute(sim_server):
    meta = MetaStore()
    crashed_at = SIM_NOW - 3600
    # what a run that was killed mid-way leaves behind: its lease, never released
    assert meta.acquire_lease("run-crashed", crashed_at, LEASE_SECONDS)

    early = make_runner(sim_server).incremental(crashed_at + 60)
    assert early.status == "skipped"
    assert early.skipped_reason == (
        f"another collection (run-crashed) holds the lease until {iso(crashed_at + LEASE_SECONDS)}"
    )
    assert early.openai_calls == 0
    assert meta.lease() == ("run-crashed", crashed_at + LEASE_SECONDS)

    replaced_at = crashed_at + COLLECTOR_TIMEOUT_SECONDS + 60
    replacement = make_runner(sim_server).incremental(replaced_at)
    assert replacement.status == "ok"
    assert replacement.lease_taken_over_from == "run-crashed"
    assert MetaStore().checkpoint().usage_as_of == replaced_at
    assert meta.lease() is None  # released when it finished


def test_a_long_run_renews_its_lease_so_a_second_run_still_skips(sim_server):
    seen: dict[str, object] = {}

    def during_alerts(now: int, _unmapped: list[str]) -> int:
        # the first run has worked 2 x 400 s: past its first lease, a second run must still skip
        seen["lease"] = MetaStore().lease()
        seen["second"] = make_runner(sim_server).incremental(now + 700)
        return 0

    first = make_runner(sim_server, clock=FakeClock(step=400), alert_hook=during_alerts)
    report = first.incremental(SIM_NOW)

    assert report.status == "ok"
    assert seen["lease"] == (report.run_id, SIM_NOW + 800 + LEASE_SECONDS)
    second = seen["second"]
    assert second.status == "skipped"
    assert report.run_id in second.skipped_reason
    assert MetaStore().checkpoint().last_run_id == report.run_id


def test_cli_collect_says_why_it_skipped_and_until_when(sim_server, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_BASE_URL", sim_server.base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
    get_settings.cache_clear()
    now = int(time.time())
    assert MetaStore().acquire_lease("run-elsewhere", now, LEASE_SECONDS)

    code = main(["collect", "--no-alerts"])

    out = capsys.readouterr().out
    assert code == 0
    assert (
        f"skipped: another collection (run-elsewhere) holds the lease until {iso(now + LEASE_SECONDS)}" in out
    )
    assert sim_server.total_calls == 0
