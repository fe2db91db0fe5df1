"""The alert kinds are declared once: every kind has a name for the page and its own renderer, and a
kind without a renderer fails loudly instead of going out worded as the test message; alerts and
digests go out in one envelope."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import get_args

import pytest

from chalicelib.alerts.kinds import KINDS, LEDGER_KINDS, TEST_KIND, Alert, AlertKind, info_of, kind_titles
from chalicelib.alerts.messages import JSON_PROTOCOLS, RENDERERS, MessageContext, envelope, render
from chalicelib.periods import day_start

NOW = day_start("2026-11-20")
CONTEXT = MessageContext("https://usage.example.com/", "prod", NOW)


def test_every_alert_kind_has_a_renderer_and_a_name():
    kinds = set(get_args(AlertKind))
    assert set(RENDERERS) == kinds
    assert set(KINDS) == kinds
    assert all(info.title for info in KINDS.values())


def test_no_recorded_kind_is_worded_by_the_test_renderer():
    test_renderer = RENDERERS[TEST_KIND]
    assert TEST_KIND not in LEDGER_KINDS
    assert [kind for kind in LEDGER_KINDS if RENDERERS[kind] is test_renderer] == []


def test_a_kind_without_a_renderer_is_an_error_not_a_test_message():
    alert = Alert(
        kind="key_spend_surge",  # type: ignore[arg-type]
        period="2026-11-20",
        subject="surge:key_x",
        threshold="once",
        severity="warning",
    )
    with pytest.raises(KeyError):
        render(alert, CONTEXT)


def test_the_test_message_is_still_the_test_message():
    alert = Alert(kind=TEST_KIND, period="2026-11-20", subject="test", threshold="1", severity="info")
    assert render(alert, CONTEXT).title == "[OpenAI usage] Test alert from the prod stage"


def test_the_page_names_every_recorded_kind_and_knows_which_name_a_key():
    titles = kind_titles()
    assert list(titles) == list(LEDGER_KINDS)
    assert titles["dormant_key"] == "Dormant key woke"
    assert info_of("new_model") is not None
    assert info_of("new_model").key_subject  # type: ignore[union-attr]
    assert info_of("pool_threshold").key_subject is False  # type: ignore[union-attr]
    assert info_of("no_such_kind") is None


def test_an_envelope_serves_every_protocol_and_threads_the_chat():
    message = envelope(
        "digest-week-2026-11-09/digest:org#once",
        "digest/week/organization",
        event="digest",
        title="[OpenAI usage] Weekly digest",
        text="body\n",
        document={"schema": "x", "amount": Decimal("1.50")},
        attributes={"kind": "digest"},
    )

    bodies = json.loads(message.structured)
    assert set(bodies) == {"default", "email", "https", *JSON_PROTOCOLS}
    assert bodies["default"] == bodies["email"] == "body\n"
    assert json.loads(bodies["sqs"]) == {"schema": "x", "amount": "1.50"}
    chat = json.loads(bodies["https"])
    assert chat["metadata"] == {
        "threadId": "digest/week/organization",
        "summary": "[OpenAI usage] Weekly digest",
        "eventType": "digest",
        "additionalContext": {"kind": "digest"},
    }
    assert chat["content"]["description"] == "```\nbody\n```"
    assert message.attributes == {"kind": "digest"}
