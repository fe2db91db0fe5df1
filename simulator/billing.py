"""What the simulated OpenAI bills: line items, amounts and quantities from usage, with its own prices.

Amounts are exact `Decimal` products of price and quantity, so costs equal price x usage to the last
digit. Batch and flex traffic is billed at half price, priority at double. Chat models bill
`"<model>, input"` (uncached text and image input plus cache writes), `", cached input"`, `", output"`,
`", audio input"`, `", audio output"`; models with `token_items` use the newer live shape
`"<model>, input_tokens"`, `", cached_input_tokens"`, `", output_tokens"`, ... . The Decisions API
bills all its tokens as `"Text tokens"`. The tools are non-model items: "web search tool calls",
"file search tool calls", "code interpreter sessions" and "vector store storage". A model without a
price (the unknown model, moderation) still gets its line items, at $0.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.catalog import (
    DECISIONS_LINE_ITEM,
    GIBIBYTE,
    MILLION,
    SIM_KIND,
    VECTOR_STORAGE_LINE_ITEM,
    VECTOR_STORAGE_PRICE,
    SimModel,
    model_info,
)
from simulator.traffic import Cell

ZERO = Decimal(0)
HALF = Decimal("0.5")
_TIER_FACTOR = {"flex": HALF, "priority": Decimal(2)}
# (line item, amount, quantity, quantity_unit); the unit is None where no single unit of the SDK's
# CostQuantityUnit applies (tool calls, sessions), as the SDK documents.
Billed = tuple[str, Decimal, Decimal, str | None]
_PARTS = ("input", "cached input", "output", "audio input", "audio output")
_TOKEN_PARTS = dict(
    zip(
        _PARTS,
        ("input_tokens", "cached_input_tokens", "output_tokens", "audio_input_tokens", "audio_output_tokens"),
        strict=True,
    )
)


def line_items(cell: Cell, values: tuple[int, ...]) -> list[tuple[str, Decimal]]:
    """(line item, amount) pairs billed for `values` of `cell`; only items with a quantity appear."""
    return [(item, amount) for item, amount, _quantity, _unit in billed(cell, values)]


def item_name(model: SimModel, part: str) -> str:
    """The line item of one token part (`input`, `cached input`, ...) of a chat model."""
    return f"{model.name}, {_TOKEN_PARTS[part] if model.token_items else part}"


def billed(cell: Cell, values: tuple[int, ...]) -> list[Billed]:
    """Every line item billed for `values` (in FIELDS order) of `cell`, with its quantity."""
    kind = cell.kind
    tool = SIM_KIND[kind]
    if tool.line_item is not None and tool.price is not None:  # a tool: per call or session
        return _per_call(tool.line_item, values[0], tool.price)
    if kind == "vector_stores":
        stored = values[0]
        if not stored:
            return []
        day_gib = Decimal(stored) / GIBIBYTE  # a daily sample: bytes stored all day
        return [(VECTOR_STORAGE_LINE_ITEM, day_gib * VECTOR_STORAGE_PRICE, day_gib * 24, "gibibyte_hours")]
    model = model_info(cell.model or "")
    if kind in ("completions", "decisions"):
        return _tokens(cell, model, values)
    quantity = values[0]
    if not quantity:
        return []
    name = model.name
    if kind in ("embeddings", "moderations"):
        return [(f"{name}, input", _per_million(quantity, model.input), Decimal(quantity), "tokens")]
    if kind == "images":
        return [(f"{name}, images", _times(quantity, model.unit), Decimal(quantity), "images")]
    if kind == "audio_speeches":
        return [(f"{name}, characters", _per_million(quantity, model.unit), Decimal(quantity), "characters")]
    return [(f"{name}, seconds", _times(quantity, model.unit), Decimal(quantity), "duration_seconds")]


def _tokens(cell: Cell, model: SimModel, values: tuple[int, ...]) -> list[Billed]:
    factor = _factor(cell)
    inp, out, _requests, cached, audio_in, audio_out = values[:6]
    parts = (
        ("input", inp - cached - audio_in, model.input),  # text + image uncached, and cache writes
        ("cached input", cached, model.cached_input or model.input),
        ("output", out - audio_out, model.output),
        ("audio input", audio_in, model.audio_input),
        ("audio output", audio_out, model.audio_output),
    )
    if cell.kind == "decisions":
        amount = sum((_per_million(qty, price) for _part, qty, price in parts), ZERO) * factor
        return [(DECISIONS_LINE_ITEM, amount, Decimal(inp + out), "tokens")] if inp + out else []
    return [
        (item_name(model, part), _per_million(qty, price) * factor, Decimal(qty), "tokens")
        for part, qty, price in parts
        if qty > 0
    ]


def _per_call(item: str, calls: int, price: Decimal) -> list[Billed]:
    return [(item, price * calls, Decimal(calls), None)] if calls else []


def _factor(cell: Cell) -> Decimal:
    factor = HALF if cell.batch else Decimal(1)
    return factor * _TIER_FACTOR.get(cell.service_tier or "", Decimal(1))


def _per_million(quantity: int, price: Decimal | None) -> Decimal:
    return ZERO if price is None else price * quantity / MILLION


def _times(quantity: int, price: Decimal | None) -> Decimal:
    return ZERO if price is None else price * quantity
