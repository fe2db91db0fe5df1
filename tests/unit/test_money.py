"""chalicelib.money, pure: the cost rule, apportionment, line items, reconciliation, unpriced text."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.money import (
    SETTLE_HOURS,
    Settlement,
    apportion,
    apportion_day,
    cost_of,
    cost_text,
    is_item,
    item_name,
    member_of_line_item,
    reconcile,
)
from chalicelib.periods import DAY, HOUR, day_start
from chalicelib.store.rollups import Cell
from chalicelib.usage import MONEY_QUANTUM, Usage

DAY0 = "2026-11-20"
LATE = Settlement(day_start(DAY0) + DAY + SETTLE_HOURS * HOUR)


def test_a_settled_day_costs_its_bill_and_an_open_day_its_estimate():
    usage = Usage(billed_usd=Decimal("1.5"), estimated_usd=Decimal("2"))
    assert cost_of(usage, LATE.settled(DAY0)) == Decimal("1.5")
    assert cost_of(usage, Settlement(day_start(DAY0) + DAY).settled(DAY0)) == Decimal("2")
    assert not Settlement(None).settled(DAY0)
    assert not Settlement(LATE.costs_as_of, live=True).settled(DAY0)


def test_apportion_splits_by_weight_and_sums_exactly():
    assert apportion(Decimal("1"), [1, 1, 1], Decimal("0.01")) == [
        Decimal("0.34"),
        Decimal("0.33"),
        Decimal("0.33"),
    ]
    assert apportion(Decimal("-0.3"), [1, 2], Decimal("0.1")) == [Decimal("-0.1"), Decimal("-0.2")]
    assert apportion(Decimal("0.5"), [0, 0], Decimal("0.1")) == [Decimal("0.3"), Decimal("0.2")]
    assert apportion(Decimal(1), []) == []


@given(
    st.integers(min_value=-(10**14), max_value=10**14),
    st.lists(st.decimals(min_value=0, max_value=1000, places=6), min_size=1, max_size=40),
)
def test_apportioned_parts_always_sum_to_the_whole(units, weights):
    total = units * MONEY_QUANTUM
    parts = apportion(total, weights)
    assert sum(parts, Decimal(0)) == total
    assert all(part.quantize(MONEY_QUANTUM) == part for part in parts)


def test_a_days_bill_goes_onto_its_hours_by_estimated_share():
    cell = Cell("key_a", "gpt-4o", "proj_1")
    hourly = {
        (f"{DAY0}T01", cell): Usage(input_tokens=10, estimated_usd=Decimal("1")),
        (f"{DAY0}T02", cell): Usage(input_tokens=10, estimated_usd=Decimal("3")),
    }
    item = Cell("key_a", "item:web search tool calls", "proj_1")
    nobody = Cell("key_b", "gpt-4o", "proj_9")
    billed = {cell: Decimal("2"), item: Decimal("0.4"), nobody: Decimal("0.7")}
    parts = apportion_day(DAY0, hourly, billed)
    assert parts[(f"{DAY0}T01", cell)] == Decimal("0.5")
    assert parts[(f"{DAY0}T02", cell)] == Decimal("1.5")
    assert parts[(f"{DAY0}T01", item)] == Decimal("0.1")  # the key and project's hours
    assert parts[(f"{DAY0}T02", item)] == Decimal("0.3")
    assert sum((v for (_, c), v in parts.items() if c == nobody), Decimal(0)) == Decimal("0.7")


def test_a_project_bill_goes_to_the_keys_that_used_the_model():
    a, b = Cell("key_a", "gpt-4o", "proj_1"), Cell("key_b", "gpt-4o", "proj_1")
    hourly = {
        (f"{DAY0}T05", a): Usage(estimated_usd=Decimal(1)),
        (f"{DAY0}T06", b): Usage(estimated_usd=Decimal(3)),
    }
    parts = apportion_day(DAY0, hourly, {Cell("unattributed", "gpt-4o", "proj_1"): Decimal(8)}, by_key=False)
    assert parts == {(f"{DAY0}T05", a): Decimal(2), (f"{DAY0}T06", b): Decimal(6)}


def test_a_bill_without_any_usage_that_day_lands_on_its_first_hour():
    cell = Cell("key_a", "item:vector storage", "proj_1")
    assert apportion_day(DAY0, {}, {cell: Decimal("0.25")}) == {(f"{DAY0}T00", cell): Decimal("0.25")}


def test_line_items_are_models_or_items_of_their_own():
    assert member_of_line_item("gpt-4o-mini-2024-07-18, cached input") == "gpt-4o-mini-2024-07-18"
    assert member_of_line_item("gpt-5, input_tokens") == "gpt-5"
    assert member_of_line_item("web search tool calls") == "item:web search tool calls"
    assert member_of_line_item("Text tokens") == "item:Text tokens"
    assert (
        member_of_line_item("ft:gpt-4o-mini:acme::x1, training") == "item:ft:gpt-4o-mini:acme::x1, training"
    )
    assert member_of_line_item(", output") == ""
    assert is_item("item:file search tool calls")
    assert not is_item("gpt-4o")
    assert not is_item(None)
    assert item_name("item:file search tool calls") == "file search tool calls"


def test_unpriced_tokens_are_shown_as_unpriced_never_as_zero_dollars():
    assert cost_text(Decimal(0), 1200) == "unpriced (1,200 tokens)"
    assert cost_text("3.456", 10) == "$3.46 + unpriced (10 tokens)"
    assert cost_text("0", 0) == "$0.00"


def test_reconciliation_flags_a_day_past_the_threshold_naming_the_models():
    days = {
        DAY0: {
            "gpt-4o": Usage(estimated_usd=Decimal("10"), billed_usd=Decimal("10.1")),
            "item:web search tool calls": Usage(billed_usd=Decimal("2")),
            "acme-1": Usage(unpriced_tokens=50, billed_usd=Decimal("0.5")),
        },
        "2026-11-21": {"gpt-4o": Usage(estimated_usd=Decimal("10"), billed_usd=Decimal("10.2"))},
        "2026-11-25": {"gpt-4o": Usage(estimated_usd=Decimal("1"))},  # not settled yet: not listed
    }
    first, second = reconcile(days, Settlement(day_start("2026-11-22") + DAY + SETTLE_HOURS * HOUR), 5.0)
    assert first["day"] == DAY0
    assert first["billed_usd"] == "12.6"
    assert first["estimated_usd"] == "10"
    assert first["gap_percent"] == -20.63
    assert first["flagged"]
    assert first["explained_by"] == ["web search tool calls", "acme-1"]
    assert first["unpriced_tokens"] == 50
    assert first["models"][0]["kind"] == "item"
    assert not second["flagged"]
    assert second["explained_by"] == []
