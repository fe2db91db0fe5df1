"""chalicelib.digest on hand-built cells and chalicelib.alerts.digest_messages' one publish: e-mail text, the
Chatbot custom notification, the JSON document, and a subject SNS accepts."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from chalicelib.alerts.digest_messages import render
from chalicelib.alerts.messages import MessageContext
from chalicelib.digest import DigestInputs, build_digest, last_complete, previous_of
from chalicelib.keys.model import KeyIdentity
from chalicelib.money import Settlement
from chalicelib.periods import DAY, day_start
from chalicelib.store.rollups import Cell
from chalicelib.usage import Usage

NOW = day_start("2026-11-16") + 6 * 3600  # a Monday


def _identity(key_id: str, team: str | None) -> KeyIdentity:
    return KeyIdentity(key_id, f"Key {key_id[-1]}", "Ada", team, "proj_a", None, None, True, "mapping", True)


def _inputs() -> DigestInputs:
    period = last_complete("week", NOW)

    def cell(day: str, key: str, model: str, tokens: int, billed: str) -> tuple[str, Cell, Usage]:
        return day, Cell(key, model, "proj_a"), Usage(input_tokens=tokens, billed_usd=Decimal(billed))

    return DigestInputs(
        now=NOW,
        period=period,
        previous=previous_of(period),
        cells=[
            cell("2026-11-03", "key_a", "gpt-4o-2024-08-06", 1000, "1.50"),
            cell("2026-11-04", "key_b", "gpt-4o-2024-08-06", 1000, "4.00"),
            cell("2026-11-10", "key_a", "gpt-4o-2024-08-06", 3000, "6.00"),
            cell("2026-11-11", "key_b", "gpt-4o-2024-08-06", 500, "1.00"),
            cell("2026-11-12", "key_x", "mystery-model-9", 700, "0.70"),
            cell("2026-11-16", "key_a", "gpt-4o-2024-08-06", 9999, "99"),  # after the week: not counted
        ],
        settlement=Settlement(costs_as_of=NOW + 3 * DAY),
        identities={"key_a": _identity("key_a", "research"), "key_b": _identity("key_b", None)},
        budgets=[
            {
                "key_id": "key_a",
                "budget": {"amount": "5", "unit": "usd", "period": "monthly"},
                "budget_status": {
                    "used": "6",
                    "limit": "5",
                    "percent": 120.0,
                    "period_start": "2026-11-01T00:00:00Z",
                },
            },
            {
                "key_id": "key_b",
                "budget": {"amount": "100000", "unit": "tokens", "period": "monthly"},
                "budget_status": {
                    "used": "1500",
                    "limit": "100000",
                    "percent": 1.5,
                    "period_start": "2026-11-01T00:00:00Z",
                },
            },
        ],
        hygiene=[],
        caps={"large": 250_000, "mini": 2_500_000},
    )


def test_the_digest_sums_the_week_against_the_week_before() -> None:
    digest = build_digest(_inputs())

    assert digest["spend"]["cost_usd"] == "7.7"
    assert digest["spend"]["previous_cost_usd"] == "5.5"
    assert digest["spend"]["change_percent"] == 40.0
    assert digest["spend"]["total_tokens"] == 4200
    assert [(r["key_id"], r["change_usd"]) for r in digest["movers_up"]] == [
        ("key_a", "4.5"),
        ("key_x", "0.7"),
    ]
    assert [(r["key_id"], r["change_usd"]) for r in digest["movers_down"]] == [("key_b", "-3")]
    assert digest["unmapped_keys"] == [{"key_id": "key_x", "cost_usd": "0.7", "total_tokens": 700}]
    assert digest["unclassified_models"] == [{"model": "mystery-model-9", "tokens": 700}]
    assert [(r["key_id"], r["percent"]) for r in digest["budgets_at_risk"]] == [("key_a", 120.0)]
    assert digest["counts"] == {
        "budgets_at_risk": 1,
        "unmapped_keys": 1,
        "unclassified_models": 1,
        "pools_exhausted": 0,
    }
    team = build_digest(_inputs(), "research")
    assert (team["spend"]["cost_usd"], team["spend"]["previous_cost_usd"]) == ("6", "1.5")


def test_one_publish_carries_text_chatbot_and_json() -> None:
    digest = build_digest(_inputs())
    message = render(
        digest, "digest-week-2026-11-09/digest:org#once", MessageContext("https://u.example", "test", NOW)
    )

    bodies = json.loads(message.structured)
    assert message.title == "[OpenAI usage] Weekly digest 2026-W46, organization: $7.70 (+40.0%)"
    assert len(message.title) <= 99
    assert message.title.isascii()
    assert bodies["email"] == bodies["default"]
    assert "Spend   $7.70 against $5.50 in 2026-W45 (+40.0%)" in bodies["email"]
    assert "  Key a (key_a): $6.00 (was $1.50, +$4.50)" in bodies["email"]
    assert "  Key a (key_a): 120.0% of its monthly budget ($6.00 / $5.00)" in bodies["email"]
    chat = json.loads(bodies["https"])
    assert (chat["version"], chat["source"], chat["id"]) == (
        "1.0",
        "custom",
        "digest-week-2026-11-09/digest:org#once",
    )
    assert chat["content"]["title"] == message.title
    document = json.loads(bodies["sqs"])
    assert document["schema"] == "openai-usage-tracker.digest/1"
    assert document["digest"] == digest
    assert message.attributes == {"kind": "digest", "severity": "info", "alert_id": document["digest_id"]}


def test_long_lists_are_cut_and_say_how_many_more() -> None:
    inputs = _inputs()
    strays = [
        ("2026-11-10", Cell(f"key_s{i:02d}", "gpt-4o-2024-08-06", "p"), Usage(input_tokens=i + 1))
        for i in range(25)
    ]
    digest = build_digest(replace(inputs, cells=[*inputs.cells, *strays]))

    assert len(digest["unmapped_keys"]) == 20
    assert digest["counts"]["unmapped_keys"] == 26
    message = render(digest, "d", MessageContext("", "test", NOW))
    assert "  ... and 6 more" in json.loads(message.structured)["email"]
