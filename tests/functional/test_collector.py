"""The collector against the OpenAI simulator and DynamoDB Local: exact, idempotent, fault-tolerant."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from chalicelib.collector import CollectorConfig
from chalicelib.errors import OpenAIAuthError, OpenAIUnavailable
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.periods import DAY, HOUR, day_label, floor_day
from chalicelib.store.rollups import RollupStore
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW
from simulator.server import SimulatorServer
from tests.functional.collector_helpers import (
    COUNTERS,
    assert_store_matches_truth,
    counters,
    make_client,
    make_collector,
    stored_daily,
    truth_counters,
)

pytestmark = pytest.mark.usefixtures("usage_table")


def _sixty_days(seed: int) -> Iterator[SimulatorServer]:
    org = SyntheticOrg(OrgSpec(seed=seed, keys=8, projects=3, users=4, days=60, now=SIM_NOW))
    with SimulatorServer(org) as server:
        yield server


@pytest.fixture
def sixty_day_server() -> Iterator[SimulatorServer]:
    yield from _sixty_days(seed=11)


def test_a_sixty_day_backfill_over_many_pages_equals_the_ground_truth(sixty_day_server):
    org = sixty_day_server.org
    start = floor_day(SIM_NOW) - 59 * DAY
    collector = make_collector(sixty_day_server, page_limits={"1h": 24})

    result = collector.backfill(start, floor_day(SIM_NOW) + DAY, SIM_NOW)

    assert sixty_day_server.calls["/organization/usage/completions"] >= 60  # one page per day
    assert result.days[0] == "2026-09-22"
    assert result.days[-1] == "2026-11-20"
    assert_store_matches_truth(org, start, floor_day(SIM_NOW) + DAY)


@pytest.fixture
def every_kind_server() -> Iterator[SimulatorServer]:
    """A small 60-day organization whose traffic has every kind and every token split."""
    yield from _sixty_days(seed=12)


def test_a_sixty_day_backfill_of_every_kind_equals_the_ground_truth_for_every_measure(every_kind_server):
    org = every_kind_server.org
    start = floor_day(SIM_NOW) - 59 * DAY
    end = floor_day(SIM_NOW) + DAY
    truth = truth_counters(org, start, end)
    # The organization uses every kind and every measure, so each comparison below can fail.
    unused = [name for name in COUNTERS if not any(cell[name] for cell in truth.values())]
    assert unused == []

    make_collector(every_kind_server).backfill(start, end, SIM_NOW)

    stored = stored_daily(start, end)
    assert {key: counters(usage) for key, usage in stored.items() if any(counters(usage).values())} == truth
    # One page per kind and costs per 7-day chunk: 12 calls a chunk (9 chunks for 60 days).
    assert every_kind_server.total_calls == 12 * 9
    # Per-call items are priced at their own prices ($2.50 per 1k file searches, $0.03 a session,
    # $0.10 a GB-day), not at a model's: cells of the project-level tools hold only them.
    tool_cells = [
        usage
        for (_, cell), usage in stored.items()
        if cell.model == "unattributed" and usage.total_tokens == 0
    ]
    assert any(usage.file_searches for usage in tool_cells)
    assert any(usage.code_interpreter_sessions for usage in tool_cells)
    assert any(usage.vector_store_byte_hours for usage in tool_cells)
    for usage in tool_cells:
        expected = (
            Decimal("0.0025") * usage.file_searches
            + Decimal("0.03") * usage.code_interpreter_sessions
            + Decimal("0.10") * usage.vector_store_gb_days
        )
        assert abs(usage.estimated_usd - expected) < Decimal("1e-9")  # stored at 1e-10 USD
        assert usage.unpriced_tokens == 0


def test_a_second_run_over_unchanged_data_writes_nothing(sim_server):
    collector = make_collector(sim_server)
    start = floor_day(SIM_NOW) - 2 * DAY

    first = collector.collect_window(start, SIM_NOW, SIM_NOW)
    second = collector.collect_window(start, SIM_NOW, SIM_NOW)

    assert first.items_written > 0
    assert second.items_written == 0


def test_late_revisions_are_picked_up_and_overwrite_rather_than_add(sim_server):
    org = sim_server.org
    collector = make_collector(sim_server)
    start = floor_day(SIM_NOW) - 2 * DAY
    collector.collect_window(start, SIM_NOW, SIM_NOW)
    before = stored_daily(start, SIM_NOW)

    org.now = SIM_NOW + 45 * 60  # recent minutes settle, the current hour grows
    revised = collector.collect_window(start, org.now, org.now)

    assert revised.items_written > 0
    assert stored_daily(start, org.now) != before
    assert_store_matches_truth(org, start, floor_day(SIM_NOW) + DAY)


def test_rate_limits_server_errors_and_timeouts_change_nothing_in_the_result(sim_server):
    org = sim_server.org
    start = floor_day(SIM_NOW) - 2 * DAY
    sim_server.rate_limit_every = 3
    sim_server.retry_after = 0
    sim_server.error_every = 5
    collector = make_collector(sim_server)

    collector.collect_window(start, SIM_NOW, SIM_NOW)

    assert collector._client.stats.retries > 0
    assert_store_matches_truth(org, start, floor_day(SIM_NOW) + DAY)


def test_slow_responses_time_out_and_are_retried(sim_server):
    sim_server.delay_seconds = 0.5
    sim_server.slow_every = 2  # the server's 2nd, 4th, ... calls are slow
    client = make_client(sim_server, timeout=0.2)

    first = client.get("/organization/projects")
    second = client.get("/organization/projects")  # call 2 times out, call 3 answers

    assert first == second
    assert client.stats.calls == 3
    assert client.stats.retries == 1


def test_a_failure_that_outlasts_every_retry_is_reported_not_swallowed(sim_server):
    sim_server.error_every = 1
    client = make_client(sim_server, max_attempts=3)

    with pytest.raises(OpenAIUnavailable, match="gave up after 3 attempts"):
        client.get("/organization/projects")
    assert client.stats.calls == 3


def test_a_project_key_is_refused_once_with_one_clear_line(sim_server):
    client = OpenAIAdminClient(sim_server.base_url, "sk-proj-abcdefghijklmnop", sleep=lambda _s: None)

    with pytest.raises(OpenAIAuthError) as caught:
        list(client.usage_buckets("completions", SIM_NOW - HOUR, SIM_NOW))

    assert str(caught.value).startswith("admin key rejected")
    assert "api.usage.read" in str(caught.value)
    assert "sk-proj-abcdefghijklmnop" not in str(caught.value)
    assert client.stats.calls == 1


def test_an_interrupted_backfill_resumes_where_it_stopped(sixty_day_server):
    org = sixty_day_server.org
    start = floor_day(SIM_NOW) - 27 * DAY
    end = floor_day(SIM_NOW) + DAY
    done: list[str] = []
    sixty_day_server.error_every = None
    collector = make_collector(sixty_day_server, max_attempts=1)

    def fail_after_two_chunks(chunk):
        done.append(chunk.days[-1])
        if len(done) == 2:
            sixty_day_server.error_every = 1  # OpenAI goes down mid-backfill

    with pytest.raises(OpenAIUnavailable):
        collector.backfill(start, end, SIM_NOW, on_chunk=fail_after_two_chunks)
    sixty_day_server.error_every = None
    sixty_day_server.reset_calls()

    resumed = make_collector(sixty_day_server).backfill(start, end, SIM_NOW, done_through=done[-1])

    assert resumed.days[0] == "2026-11-07"  # the first day after the two stored chunks
    assert sixty_day_server.calls["/organization/usage/completions"] == 2  # only what was left
    assert_store_matches_truth(org, start, end)


def test_unattributed_traffic_and_unknown_models_are_kept(sim_server):
    collector = make_collector(sim_server)
    start = sim_server.org.origin  # the whole history: the unknown model is used now and then
    collector.backfill(start, SIM_NOW, SIM_NOW)

    stored = stored_daily(start, SIM_NOW)
    keys = {cell.key for _, cell in stored}
    unpriced = [usage for (_, cell), usage in stored.items() if usage.unpriced_tokens]
    assert "unattributed" in keys
    assert unpriced, "the simulator's unknown model must be flagged as unpriced"
    assert all(usage.unpriced_tokens == usage.total_tokens for usage in unpriced)
    assert any(
        cell.model == "acme-research-1-2026-09-01"
        for (_, cell), usage in stored.items()
        if usage.unpriced_tokens
    )
    by_key = RollupStore().daily_aggregates("key", "2026-11-18", "2026-11-20")
    assert "unattributed" in by_key["2026-11-19"]


def test_costs_fall_back_to_project_grouping_when_key_grouping_is_refused(sim_server, sim_org):
    sim_server.costs_refuse_api_key_grouping = True
    collector = make_collector(sim_server)
    start = floor_day(SIM_NOW) - 2 * DAY

    result = collector.collect_window(start, SIM_NOW, SIM_NOW)

    assert result.cost_grouping == "project_id"
    billed = [
        usage.billed_usd for (_, cell), usage in stored_daily(start, SIM_NOW).items() if usage.billed_usd
    ]
    assert billed
    # Behaviour changed with chalicelib.money: a project's bill is apportioned to the keys that used
    # each model in it (by estimated share), so by-key views are billed too; per project and day the
    # stored dollars are exactly what OpenAI billed.
    stored = stored_daily(start, SIM_NOW)
    keys_with_money = {cell.key for (_, cell), usage in stored.items() if usage.billed_usd}
    assert len(keys_with_money - {"unattributed"}) > 1
    per_project: dict[tuple[str, str], Decimal] = {}
    for (day, cell), usage in stored.items():
        per_project[(day, cell.project)] = per_project.get((day, cell.project), Decimal(0)) + usage.billed_usd
    for day_ts in range(start, floor_day(SIM_NOW) + DAY, DAY):
        truth = sim_org.costs_truth(day_ts, day_ts + DAY, group_by=("project_id",))
        for (project,), amount in truth.items():
            stored_amount = per_project.get((day_label(day_ts), str(project or "unattributed")), Decimal(0))
            assert abs(stored_amount - amount) < Decimal("1e-8")


def test_hourly_items_beyond_retention_are_not_written():
    # Dated on the real clock, not at SIM_NOW: the hours kept expire three days after they end, which
    # is then still ahead, so DynamoDB Local's real-clock TTL sweeper cannot take them before the read.
    now = int(time.time())
    today = floor_day(now)
    org = SyntheticOrg(OrgSpec(seed=11, keys=8, projects=3, users=4, days=12, now=now))
    with SimulatorServer(org) as server:
        collector = make_collector(server, config=CollectorConfig(hourly_retention_days=3))
        collector.backfill(today - 10 * DAY, today + DAY, now)

    store = RollupStore()
    assert list(store.hourly_detail(day_label(today - 8 * DAY))) == []
    assert list(store.hourly_detail(day_label(today - DAY)))
