"""The `collect` schedule as Lambda runs it: `chalice.test.Client(...).lambda_.invoke("collect", event)`
with EventBridge's scheduled event, on DynamoDB Local, moto and the OpenAI simulator on the real clock.
The whole entry point runs (app.collect, scheduled_collect's run context, the runner, the alerts and
the metrics flush in `finally`): what lands in the table, the run id on every log line of the run and
the EMF document the flush prints are checked."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chalice.test
import pytest
from chalice.local import LambdaContext
from chalice.test import Client

from app import app
from chalicelib.errors import OpenAIDeadlineExceeded
from chalicelib.observability import NAMESPACE, SERVICE, logger, metrics
from chalicelib.periods import DAY, floor_day
from chalicelib.settings import get_settings
from chalicelib.store.meta import MetaStore
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY
from simulator.server import SimulatorServer
from tests.functional.collector_helpers import assert_store_matches_truth

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = json.loads((ROOT / ".chalice" / "config.json").read_text())["lambda_functions"]

pytestmark = pytest.mark.usefixtures("usage_table", "alerts_topic")


@pytest.fixture
def live_org(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorServer]:
    """An organization on the real clock (the schedule collects up to the time of day), named by the
    environment as a deployed stage names OpenAI."""
    with SimulatorServer(SyntheticOrg(OrgSpec(seed=11, keys=5, projects=2, users=3, days=4))) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
        get_settings.cache_clear()
        yield server


@pytest.fixture
def client(tmp_path: Path) -> Client:
    """The test client of app.py with the deployed functions' settings and a stage that sets no
    environment variables (the fixtures set them)."""
    config = {
        "version": "2.0",
        "app_name": "openai-usage-tracker",
        "lambda_functions": DEPLOYED,
        "stages": {"test": {}},
    }
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    return Client(app, stage_name="test", project_dir=str(tmp_path))


@pytest.fixture
def deployed_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chalice's test client hands every function a 3-second LambdaContext whatever its
    `lambda_timeout`: give each the remaining time it has when deployed."""

    def context(function_name: str, memory_size: int) -> LambdaContext:
        seconds = DEPLOYED[function_name]["lambda_timeout"]
        return LambdaContext(function_name, memory_size=memory_size, max_runtime_ms=seconds * 1000)

    monkeypatch.setattr(chalice.test, "LambdaContext", context)


class Output:
    """What the run printed: the logger's JSON lines and the flushed metrics (stdout)."""

    def __init__(self, logs: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
        self._logs, self._capsys = logs, capsys

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._logs.getvalue().splitlines() if line.strip()]

    def emf_documents(self) -> list[dict[str, Any]]:
        lines = self._capsys.readouterr().out.splitlines()
        return [document for document in map(_json_or_none, lines) if document and "_aws" in document]


def _json_or_none(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> Iterator[Output]:
    """The logger's handler pointed at a buffer (it holds the stream of import time); metrics
    recorded by earlier tests dropped, so the flush shows this run's only."""
    handler = logger.registered_handler
    assert hasattr(handler, "setStream")
    logs = io.StringIO()
    previous = handler.setStream(logs)
    metrics.clear_metrics()
    capsys.readouterr()
    try:
        yield Output(logs, capsys)
    finally:
        handler.setStream(previous)


def _scheduled_event(client: Client) -> dict[str, Any]:
    rule = "arn:aws:events:us-east-1:123456789012:rule/openai-usage-tracker-test-collect"
    return client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [rule])


@pytest.mark.usefixtures("deployed_timeouts")
def test_the_collect_schedule_stores_the_window_logs_its_run_id_and_flushes_its_metrics(
    live_org: SimulatorServer, client: Client, output: Output
) -> None:
    started = int(time.time())

    report = client.lambda_.invoke("collect", _scheduled_event(client)).payload

    assert report["status"] == "ok", report
    assert report["items_written"] > 0
    assert live_org.total_calls == report["openai_calls"] > 0
    checkpoint = MetaStore().checkpoint()
    assert checkpoint.last_run_id == report["run_id"]
    assert checkpoint.usage_as_of is not None
    assert checkpoint.usage_as_of >= started
    yesterday = floor_day(checkpoint.usage_as_of) - DAY  # a whole day of the window, as OpenAI has it
    assert_store_matches_truth(live_org.org, yesterday, yesterday + DAY)

    records = output.log_records()
    finished = [record for record in records if record["message"] == "collection finished"]
    assert [record["run"]["run_id"] for record in finished] == [report["run_id"]]
    assert {record.get("run_id") for record in records} == {report["run_id"]}  # the run context's key
    assert {record.get("function_name") for record in records} == {"collect"}  # the Lambda middleware's
    (document,) = output.emf_documents()
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    # a successful run's outcome metric is DataLagSeconds (CollectionSucceeded was dropped: perf14b)
    assert {"DataLagSeconds"} <= {metric["Name"] for metric in directive["Metrics"]}
    assert len(document["DataLagSeconds"]) == 1
    assert "CollectionSucceeded" not in document
    assert sum(document.get("AlertsPublished", [])) == report["alerts_published"]
    assert document["service"] == SERVICE
    assert metrics.metric_set == {}  # flushed, not left for the next invocation


def test_with_chalices_own_three_second_context_the_schedule_fails_before_calling_openai(
    live_org: SimulatorServer, client: Client, output: Output
) -> None:
    # 3 s left is less than the margin the run keeps for its bookkeeping: no call can be afforded.
    with pytest.raises(OpenAIDeadlineExceeded, match="no time left"):
        client.lambda_.invoke("collect", _scheduled_event(client))

    assert live_org.total_calls == 0
    checkpoint = MetaStore().checkpoint()
    assert checkpoint.usage_as_of is None
    assert "no time left" in (checkpoint.last_error or "")
    failed = [record for record in output.log_records() if record["message"] == "collection failed"]
    assert len(failed) == 1
    (document,) = output.emf_documents()
    assert [metric["Name"] for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == [
        "CollectionFailed"
    ]
    assert document["CollectionFailed"] == [1.0]
    assert failed[0]["run_id"] == failed[0]["run"]["run_id"]
