"""Whole runs: lease, checkpoint, directory names, unmapped keys, failures, CLI, and no leaked key."""

from __future__ import annotations

import logging
import threading

import pytest

from chalicelib.catalog import PriceTable
from chalicelib.cli.main import main
from chalicelib.collector import CollectorConfig
from chalicelib.errors import OpenAIUnavailable
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.runner import Runner
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW
from simulator.server import SimulatorServer
from tests.functional.collector_helpers import assert_store_matches_truth, make_client

pytestmark = pytest.mark.usefixtures("usage_table")


def make_runner(server: SimulatorServer, **client_kwargs: object) -> Runner:
    return Runner(make_client(server, **client_kwargs), config=CollectorConfig(), prices=PriceTable.load())


def test_an_incremental_run_stores_the_window_names_keys_and_advances_the_checkpoint(sim_server):
    report = make_runner(sim_server).incremental(SIM_NOW)

    assert report.status == "ok"
    assert report.days == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert report.directory_synced
    checkpoint = MetaStore().checkpoint()
    assert checkpoint.usage_as_of == SIM_NOW
    assert checkpoint.last_run_id == report.run_id
    assert checkpoint.directory_synced_at is not None
    identities = DirectoryStore().identities()
    named = [identity for identity in identities.values() if identity.source == "directory"]
    assert len(named) >= 10
    assert_store_matches_truth(sim_server.org, floor_day(SIM_NOW) - 2 * DAY, floor_day(SIM_NOW) + DAY)


def test_a_key_seen_in_usage_but_unknown_to_the_directory_is_recorded_once_as_unmapped(sim_server):
    org = sim_server.org
    deleted = org.directory.deleted_key_id  # its traffic stopped; OpenAI no longer lists it
    runner = make_runner(sim_server)

    backfill = runner.backfill(org.origin, org.origin + 12 * DAY, SIM_NOW)
    again = make_runner(sim_server).backfill(org.origin, org.origin + 12 * DAY, SIM_NOW)

    assert backfill.directory_synced
    assert backfill.new_unmapped == [deleted]
    assert again.new_unmapped == []
    assert [entry.key_id for entry in DirectoryStore().list_unmapped()] == [deleted]
    assert DirectoryStore().identities().get(deleted) is None


def test_a_second_run_over_the_same_data_writes_nothing(sim_server):
    make_runner(sim_server).incremental(SIM_NOW)
    again = make_runner(sim_server).incremental(SIM_NOW)

    assert again.items_written == 0


def test_a_failed_run_keeps_the_last_success_and_records_why(sim_server):
    good = make_runner(sim_server).incremental(SIM_NOW)
    sim_server.error_every = 1

    with pytest.raises(OpenAIUnavailable):
        make_runner(sim_server, max_attempts=2).incremental(SIM_NOW + 900)

    checkpoint = MetaStore().checkpoint()
    assert checkpoint.usage_as_of == SIM_NOW
    assert checkpoint.last_run_id == good.run_id
    assert checkpoint.consecutive_failures == 1
    assert "gave up after 2 attempts" in (checkpoint.last_error or "")


def test_overlapping_runs_do_not_both_collect(sim_server):
    meta = MetaStore()
    assert meta.acquire_lease("someone-else", SIM_NOW, 900)

    report = make_runner(sim_server).incremental(SIM_NOW + 60)

    assert report.status == "skipped"
    assert report.openai_calls == 0
    assert meta.checkpoint().usage_as_of is None


def test_concurrent_runs_converge_to_the_same_numbers(sim_server):
    reports = []

    def run() -> None:
        reports.append(make_runner(sim_server).incremental(SIM_NOW))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {report.status for report in reports} <= {"ok", "skipped"}
    assert any(report.status == "ok" for report in reports)
    assert_store_matches_truth(sim_server.org, floor_day(SIM_NOW) - 2 * DAY, floor_day(SIM_NOW) + DAY)


@pytest.fixture
def live_org_server() -> SimulatorServer:
    """An organization on the real clock, for CLI runs that use the time of day."""
    with SimulatorServer(SyntheticOrg(OrgSpec(seed=5, keys=6, projects=2, users=3, days=10))) as server:
        yield server


def test_cli_backfill_reports_progress_and_stores_the_days(live_org_server, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_BASE_URL", live_org_server.base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-cli-backfill-test-key-0001")
    get_settings.cache_clear()
    org = live_org_server.org
    start = floor_day(org.now) - 3 * DAY

    code = main(["collect", "--start", day_label(start), "--end", day_label(start + 2 * DAY), "--json"])

    captured = capsys.readouterr()
    assert code == 0
    assert "backfilling" in captured.err
    assert '"status": "ok"' in captured.out
    assert_store_matches_truth(org, start, start + 2 * DAY)


def test_cli_collect_with_a_project_key_fails_with_one_clear_line_and_leaks_nothing(
    live_org_server, monkeypatch, capsys, caplog
):
    secret = "sk-proj-ThisMustNeverBeLogged0123456789"
    monkeypatch.setenv("OPENAI_BASE_URL", live_org_server.base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", secret)
    get_settings.cache_clear()
    caplog.set_level(logging.DEBUG)

    code = main(["collect", "--no-alerts"])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip().splitlines()[-1].startswith("error: admin key rejected")
    assert "api.usage.read" in captured.err
    assert live_org_server.total_calls == 1  # no retry storm
    everything = captured.out + captured.err + caplog.text
    assert secret not in everything
    assert MetaStore().checkpoint().last_error is not None


def test_the_admin_key_never_appears_in_any_log_line_of_a_successful_run(sim_server, capsys, caplog):
    secret = "sk-admin-SuccessfulRunSecret0123456789"
    caplog.set_level(logging.DEBUG)
    client = OpenAIAdminClient(sim_server.base_url, secret, sleep=lambda _s: None)
    sim_server.rate_limit_every = 4
    sim_server.retry_after = 0

    Runner(client, config=CollectorConfig(), prices=PriceTable.load()).incremental(SIM_NOW)

    captured = capsys.readouterr()
    assert "collection finished" in captured.out + caplog.text
    assert secret not in captured.out + captured.err + caplog.text
    assert secret not in repr(client)
