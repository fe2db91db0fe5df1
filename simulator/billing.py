"""What the simulated OpenAI bills: line items and amounts from usage, with its own prices.

Amounts are exact `Decimal` products of price and quantity, so costs equal price x usage to the last
digit. Batch and flex traffic is billed at half price, priority at double. Web search calls become the
non-model line item "web search tool calls". A model without a price (the unknown model, moderation)
still gets its line items, at $0.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.catalog import MILLION, WEB_SEARCH_LINE_ITEM, WEB_SEARCH_PRICE, model_info
from simulator.traffic import WEB_SEARCH_INDEX, Cell

ZERO = Decimal(0)
HALF = Decimal("0.5")
_TIER_FACTOR = {"flex": HALF, "priority": Decimal(2)}


def line_items(cell: Cell, values: tuple[int, ...]) -> list[tuple[str, Decimal]]:
    """(line item, amount) pairs billed for `values` of `cell`; only items with a quantity appear."""
    model = model_info(cell.model)
    name = model.name
    if model.kind == "completions":
        factor = _factor(cell)
        inp, out, _requests, cached, audio_in, audio_out = values[:6]
        items = [
            (f"{name}, input", inp - cached - audio_in, model.input),
            (f"{name}, cached input", cached, model.cached_input or model.input),
            (f"{name}, output", out - audio_out, model.output),
            (f"{name}, audio input", audio_in, model.audio_input),
            (f"{name}, audio output", audio_out, model.audio_output),
        ]
        billed = [(item, _per_million(qty, price) * factor) for item, qty, price in items if qty > 0]
        calls = values[WEB_SEARCH_INDEX]
        if calls:
            billed.append((WEB_SEARCH_LINE_ITEM, WEB_SEARCH_PRICE * calls))
        return billed
    quantity = values[0]
    if not quantity:
        return []
    if model.kind in ("embeddings", "moderations"):
        return [(f"{name}, input", _per_million(quantity, model.input))]
    if model.kind == "images":
        return [(f"{name}, images", _times(quantity, model.unit))]
    if model.kind == "audio_speeches":
        return [(f"{name}, characters", _per_million(quantity, model.unit))]
    return [(f"{name}, seconds", _times(quantity, model.unit))]


def _factor(cell: Cell) -> Decimal:
    factor = HALF if cell.batch else Decimal(1)
    return factor * _TIER_FACTOR.get(cell.service_tier or "", Decimal(1))


def _per_million(quantity: int, price: Decimal | None) -> Decimal:
    return ZERO if price is None else price * quantity / MILLION


def _times(quantity: int, price: Decimal | None) -> Decimal:
    return ZERO if price is None else price * quantity
