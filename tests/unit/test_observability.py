"""Observability: one logger and metrics, run ids on log lines, and no secret in any log line."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import observability
from chalicelib.observability import (
    REDACTED,
    forget_secrets,
    logger,
    metrics,
    redact,
    register_secret,
    run_context,
)

ADMIN_KEY = "sk-admin-" + "Q7xv2LmN9pR4tZ8wK3bY6cH1dF5gJ0aS_-eU"
PROJECT_KEY = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 7
LEGACY_KEY = "sk-" + "T3BlbkFJ" * 6


class Captured:
    """The logger's output while a test runs, one parsed JSON object per line."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Point the logger's own handler at a buffer (the handler kept the stdout of import time)."""
    handler = logger.registered_handler
    assert hasattr(handler, "setStream")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield Captured(stream)
    finally:
        handler.setStream(previous)
        forget_secrets()


def test_a_flushed_metric_is_one_emf_document_in_the_services_namespace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics.clear_metrics()  # what other tests recorded and did not flush
    capsys.readouterr()
    metrics.add_metric(name="CollectionSucceeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CollectionSucceeded", unit=MetricUnit.Count, value=1)

    metrics.flush_metrics()

    (line,) = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "OpenAIUsageTracker"
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": "CollectionSucceeded", "Unit": "Count"}]
    assert document["service"] == "openai-usage-tracker"
    assert document["CollectionSucceeded"] == [1.0, 1.0]
    assert metrics.metric_set == {}  # the next invocation starts empty


def test_a_key_in_the_message_is_redacted(captured: Captured) -> None:
    logger.info(f"calling OpenAI with {ADMIN_KEY} and {PROJECT_KEY} and {LEGACY_KEY}")
    assert ADMIN_KEY not in captured.text
    assert PROJECT_KEY not in captured.text
    assert LEGACY_KEY not in captured.text
    (record,) = captured.records()
    assert (
        record["message"]
        == f"calling OpenAI with sk-admin-{REDACTED} and sk-proj-{REDACTED} and sk-{REDACTED}"
    )


def test_keys_and_bearer_tokens_in_extra_fields_are_redacted(captured: Captured) -> None:
    logger.info(
        "request",
        extra={
            "headers": {"Authorization": f"Bearer {ADMIN_KEY}", "Accept": "application/json"},
            "nested": [{"key": PROJECT_KEY}],
            "token": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
        },
    )
    assert ADMIN_KEY not in captured.text
    assert PROJECT_KEY not in captured.text
    assert "eyJhbGci" not in captured.text
    (record,) = captured.records()
    assert record["headers"] == {"Authorization": f"Bearer {REDACTED}", "Accept": "application/json"}
    assert record["nested"] == [{"key": f"sk-proj-{REDACTED}"}]
    assert record["token"] == f"Bearer {REDACTED}"


def test_keys_in_appended_keys_and_exceptions_are_redacted(captured: Captured) -> None:
    logger.append_keys(leaky=ADMIN_KEY)
    try:
        try:
            raise RuntimeError(f"401 for key {PROJECT_KEY}")
        except RuntimeError:
            logger.exception("OpenAI refused the key")
    finally:
        logger.remove_keys(["leaky"])
    assert ADMIN_KEY not in captured.text
    assert PROJECT_KEY not in captured.text
    (record,) = captured.records()
    assert record["leaky"] == f"sk-admin-{REDACTED}"
    assert f"sk-proj-{REDACTED}" in record["exception"]


def test_a_registered_secret_of_any_shape_is_redacted(captured: Captured) -> None:
    simulator_key = f"local-admin-{uuid.uuid4().hex}"
    quoted_key = f'we"ird\\key-{uuid.uuid4().hex[:8]}'
    register_secret(simulator_key)
    register_secret(quoted_key)
    logger.info(f"using {simulator_key}", extra={"k": simulator_key, "q": quoted_key})
    assert simulator_key not in captured.text
    assert json.dumps(quoted_key)[1:-1] not in captured.text
    (record,) = captured.records()
    assert record["message"] == f"using {REDACTED}"
    assert record["k"] == REDACTED
    assert record["q"] == REDACTED


def test_short_registered_values_are_ignored_so_words_survive() -> None:
    register_secret("info")
    try:
        assert redact("level info") == "level info"
    finally:
        forget_secrets()


@pytest.mark.parametrize(
    "text",
    [
        "key sk-abc...wxyz from the directory",  # redacted_value as OpenAI lists it
        "api_key_id key_6fA2mQx9Lr0TbN1c",
        "model gpt-4o-mini-2024-07-18",
        "task-abcdefghijklmnopqrstuvwxyz",  # 'sk-' inside a word
        "sk-short",
        "bearer",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_run_context_adds_the_run_id_only_inside_the_block(captured: Captured) -> None:
    with run_context() as run_id:
        logger.info("collected", extra={"rows": 3})
    logger.info("idle")
    with run_context("backfill-2026-01") as named:
        logger.info("resumed")
    inside, outside, resumed = captured.records()
    assert len(run_id) == 32
    assert inside["run_id"] == run_id
    assert inside["rows"] == 3
    assert "run_id" not in outside
    assert named == "backfill-2026-01"
    assert resumed["run_id"] == "backfill-2026-01"


def test_log_lines_are_json_with_utc_timestamps(captured: Captured) -> None:
    logger.info("hello")
    (record,) = captured.records()
    assert record["service"] == "openai-usage-tracker"
    assert record["level"] == "INFO"
    assert record["timestamp"].endswith("+00:00")


def test_records_reaching_other_handlers_are_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    # pytest's caplog, like a CLI's basicConfig, listens on the root logger: our records propagate
    # there unformatted by our serializer, so the logger's own filter must have masked them already.
    with caplog.at_level("INFO", logger=observability.SERVICE):
        logger.info("auth header %s", f"Bearer {ADMIN_KEY}", extra={"key": PROJECT_KEY, "ids": [LEGACY_KEY]})
    (record,) = [r for r in caplog.records if r.name == observability.SERVICE]
    assert record.getMessage() == f"auth header Bearer {REDACTED}"
    assert record.key == f"sk-proj-{REDACTED}"  # type: ignore[attr-defined]
    assert record.ids == [f"sk-{REDACTED}"]  # type: ignore[attr-defined]
    assert ADMIN_KEY not in caplog.text
    assert PROJECT_KEY not in caplog.text


def test_a_clean_message_keeps_its_arguments(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger=observability.SERVICE):
        logger.info("collected %d rows", 42)
    (record,) = [r for r in caplog.records if r.name == observability.SERVICE]
    assert record.args == (42,)
    assert record.getMessage() == "collected 42 rows"
