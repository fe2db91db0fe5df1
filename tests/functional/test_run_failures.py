"""Runs that fail fail cleanly: malformed rows and amounts, waits the run has no time for, slow
answers, the Lambda's deadline. Each is recorded in the checkpoint's last error, emits
CollectionFailed and leaves the checkpoint's success fields where they were."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from chalice.local import LambdaContext

from app import collect as scheduled_handler
from chalicelib import runner as runner_module
from chalicelib.catalog import PriceTable
from chalicelib.cli.main import main
from chalicelib.collector import CollectorConfig
from chalicelib.errors import InvalidAmountError, OpenAIDeadlineExceeded, OpenAIMalformedData
from chalicelib.observability import metrics
from chalicelib.runner import COLLECT_MARGIN_SECONDS, Runner
from chalicelib.settings import get_settings
from chalicelib.store.meta import MetaStore
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY, SIM_NOW
from simulator.server import SimulatorServer
from tests.functional.clock_helpers import FakeClock, client_of

pytestmark = pytest.mark.usefixtures("usage_table")


def make_runner(server: SimulatorServer, clock: FakeClock | None = None, **client_kwargs: object) -> Runner:
    client = client_of(server.base_url, clock or FakeClock(), **client_kwargs)
    return Runner(client, config=CollectorConfig(), prices=PriceTable.load())


def null_first_cost_amount(path: str, payload: Any) -> Any:
    if path.endswith("/organization/costs"):
        for bucket in payload["data"]:
            for row in bucket["results"]:
                row["amount"]["value"] = None
                return payload
    return payload


def garble_first_token_count(path: str, payload: Any) -> Any:
    if path.endswith("/organization/usage/completions"):
        for bucket in payload["data"]:
            for row in bucket["results"]:
                row["input_tokens"] = "12k"
                return payload
    return payload


def failures_recorded() -> list[float]:
    return list(metrics.metric_set.get("CollectionFailed", {}).get("Value", []))


def assert_checkpoint_kept(good_run_id: str, error_part: str) -> None:
    checkpoint = MetaStore().checkpoint()
    assert checkpoint.usage_as_of == SIM_NOW
    assert checkpoint.last_run_id == good_run_id
    assert checkpoint.consecutive_failures == 1
    assert error_part in (checkpoint.last_error or "")


def test_a_null_cost_amount_fails_the_run_cleanly_and_keeps_the_checkpoint(sim_server):
    metrics.metric_set.clear()
    good = make_runner(sim_server).incremental(SIM_NOW)
    sim_server.rewrite = null_first_cost_amount

    with pytest.raises(InvalidAmountError) as caught:
        make_runner(sim_server).incremental(SIM_NOW + 900)

    assert isinstance(caught.value, OpenAIMalformedData)
    assert_checkpoint_kept(good.run_id, "amount is not a number")
    assert failures_recorded() == [1.0]


def test_a_non_numeric_token_count_fails_the_run_cleanly_and_keeps_the_checkpoint(sim_server):
    metrics.metric_set.clear()
    good = make_runner(sim_server).incremental(SIM_NOW)
    sim_server.rewrite = garble_first_token_count

    with pytest.raises(OpenAIMalformedData, match="input_tokens"):
        make_runner(sim_server).incremental(SIM_NOW + 900)

    assert_checkpoint_kept(good.run_id, "input_tokens that is not a number")
    assert failures_recorded() == [1.0]


def test_a_rate_limit_asking_more_than_the_cap_fails_the_run_at_once(sim_server):
    good = make_runner(sim_server).incremental(SIM_NOW)
    sim_server.reset_calls()
    sim_server.rate_limit_every = 1
    sim_server.retry_after = 121
    clock = FakeClock()

    with pytest.raises(OpenAIDeadlineExceeded):
        make_runner(sim_server, clock).incremental(SIM_NOW + 900)

    assert clock.slept == []
    assert sim_server.total_calls == 1
    assert_checkpoint_kept(good.run_id, "over the 120 s")


def test_slow_responses_end_the_run_within_its_deadline_with_the_checkpoint_unchanged(sim_server):
    good = make_runner(sim_server).incremental(SIM_NOW)
    sim_server.reset_calls()
    sim_server.delay_seconds = 60
    clock = FakeClock()

    with pytest.raises(OpenAIDeadlineExceeded):
        make_runner(sim_server, clock, timeout=30.0, deadline_seconds=0.8).incremental(SIM_NOW + 900)

    assert sim_server.total_calls == 1  # one attempt cut at the deadline, no retry it had no time for
    assert clock.slept == []
    assert_checkpoint_kept(good.run_id, "deadline")


def test_a_failed_runs_dynamodb_requests_do_not_leak_into_the_next_report(sim_server, monkeypatch):
    make_runner(sim_server).incremental(SIM_NOW)
    # the run after a failure reads every detail item (chalicelib.runner.trusts_digests): compare it
    # with an unchanged run that also reads everything
    with monkeypatch.context() as patched:
        patched.setattr(runner_module, "trusts_digests", lambda checkpoint, report: False)
        unchanged = make_runner(sim_server).incremental(SIM_NOW)
    sim_server.rewrite = null_first_cost_amount
    with pytest.raises(InvalidAmountError):
        make_runner(sim_server).incremental(SIM_NOW)
    sim_server.rewrite = None

    after_failure = make_runner(sim_server).incremental(SIM_NOW)

    assert unchanged.dynamodb_requests > 0
    assert after_failure.dynamodb_requests == unchanged.dynamodb_requests


def test_a_run_failing_after_its_dynamodb_reads_leaks_none_of_them_into_the_next_report(
    sim_server, monkeypatch
):
    # The failure above comes before the run's first counted request; this one after the rollup diff
    # (reads of every partition of the window) and the directory lookups, in the alert step.
    def failing_alerts(now: int, new_unmapped: list[str]) -> int:
        raise RuntimeError("the alert step failed")

    make_runner(sim_server).incremental(SIM_NOW)
    # as above: the run after a failure reads every detail item, so the baseline does too
    with monkeypatch.context() as patched:
        patched.setattr(runner_module, "trusts_digests", lambda checkpoint, report: False)
        unchanged = make_runner(sim_server).incremental(SIM_NOW)
    failing = make_runner(sim_server)
    failing.alert_hook = failing_alerts
    with pytest.raises(RuntimeError, match="the alert step failed"):
        failing.incremental(SIM_NOW)

    after_failure = make_runner(sim_server).incremental(SIM_NOW)

    assert unchanged.dynamodb_requests > 0
    assert after_failure.dynamodb_requests == unchanged.dynamodb_requests


SCHEDULED_EVENT = {  # what EventBridge sends the schedule
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-20T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/collect"],
    "detail": {},
}


def lambda_context(max_runtime_ms: int) -> LambdaContext:
    """Chalice's stand-in for the context Lambda passes a handler, `max_runtime_ms` long."""
    return LambdaContext("openai-usage-tracker-dev-collect", memory_size=512, max_runtime_ms=max_runtime_ms)


def test_the_scheduled_handler_stops_calling_openai_when_the_lambda_has_no_time_left(live_env):
    too_little = int(COLLECT_MARGIN_SECONDS * 1000)  # everything left is the margin kept for bookkeeping

    with pytest.raises(OpenAIDeadlineExceeded, match="no time left"):
        scheduled_handler(SCHEDULED_EVENT, lambda_context(too_little))

    assert live_env.total_calls == 0
    checkpoint = MetaStore().checkpoint()
    assert checkpoint.usage_as_of is None
    assert "no time left" in (checkpoint.last_error or "")


@pytest.fixture
def live_env(monkeypatch) -> SimulatorServer:
    """An organization on the real clock (the CLI and the schedule use the time of day), named by
    the environment as a deployed stage names OpenAI."""
    with SimulatorServer(SyntheticOrg(OrgSpec(seed=7, keys=5, projects=2, users=3, days=5))) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
        get_settings.cache_clear()
        yield server


@pytest.mark.usefixtures("alerts_topic")
def test_the_scheduled_handler_collects_within_the_lambdas_remaining_time(live_env):

    report = scheduled_handler(SCHEDULED_EVENT, lambda_context(300_000))

    assert report["status"] == "ok"
    assert live_env.total_calls > 0
    assert MetaStore().checkpoint().last_run_id == report["run_id"]


def test_cli_collect_with_a_malformed_amount_exits_1_with_one_line(live_env, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    live_env.rewrite = null_first_cost_amount

    code = main(["collect", "--no-alerts"])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip().splitlines()[-1] == "error: amount is not a number: None"
    assert "Traceback" not in captured.out + captured.err + caplog.text
    assert "amount is not a number" in (MetaStore().checkpoint().last_error or "")


def test_cli_collect_with_a_deadline_too_short_for_a_call_exits_1_before_calling_openai(live_env, capsys):
    code = main(["collect", "--no-alerts", "--deadline", "0.1"])

    captured = capsys.readouterr()
    assert code == 1
    assert (
        captured.err.strip()
        .splitlines()[-1]
        .startswith("error: /organization/costs: no time left")  # the collector reads costs first
    )
    assert live_env.total_calls == 0


@pytest.mark.parametrize("bad", ["soon", "0", "-5", "nan", "inf"])
def test_cli_collect_refuses_a_deadline_that_is_not_a_positive_number(live_env, capsys, bad):
    code = main(["collect", "--deadline", bad])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip().splitlines()[-1].startswith("error: --deadline: must be a positive number")
    assert live_env.total_calls == 0
