"""The usage metrics vector: what one key x model x project spent in one hour or day.

`Usage` is immutable and adds with `+`. It is stored in DynamoDB as a compact list of numbers
(`to_list`/`from_list`, trailing zeros trimmed) so that aggregate items stay small.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Usage:
    """Counters of one rollup cell. Money is Decimal USD; `unpriced_tokens` counts tokens of models
    without a price, whose cost is missing from `estimated_usd` (never counted as $0)."""

    input_tokens: int = 0  # all input, cached included (as OpenAI reports it)
    output_tokens: int = 0
    cached_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    requests: int = 0
    images: int = 0
    characters: int = 0
    seconds: int = 0
    estimated_usd: Decimal = ZERO
    billed_usd: Decimal = ZERO
    unpriced_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input + output tokens: what the complimentary pools count."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def is_zero(self) -> bool:
        """True when every counter is zero."""
        return self == ZERO_USAGE

    def to_list(self) -> list[int | Decimal]:
        """Compact storage form: the counters in field order, trailing zeros dropped."""
        values: list[int | Decimal] = [getattr(self, f.name) for f in fields(self)]
        while values and not values[-1]:
            values.pop()
        return values

    @classmethod
    def from_list(cls, values: list[Any]) -> Usage:
        """Inverse of `to_list`; tolerates DynamoDB's Decimal for every number."""
        parsed: dict[str, Any] = {
            name: Decimal(value) if is_money else int(value)
            for (name, is_money), value in zip(_FIELD_KINDS, values, strict=False)
        }
        return cls(**parsed)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: integers as numbers, dollars as strings with full precision."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = format(value, "f") if isinstance(value, Decimal) else value
        out["total_tokens"] = self.total_tokens
        return out


ZERO_USAGE = Usage()
_FIELD_KINDS: tuple[tuple[str, bool], ...] = tuple((f.name, f.type == "Decimal") for f in fields(Usage))


def sum_usage(items: Any) -> Usage:
    """Sum an iterable of Usage."""
    total = ZERO_USAGE
    for item in items:
        total = total + item
    return total


MONEY_QUANTUM = Decimal("1e-10")


def canonical(usage: Usage) -> Usage:
    """The form a Usage is stored in: money rounded to 1e-10 USD, so that values read back compare
    equal to values recomputed from OpenAI (DynamoDB keeps 38 significant digits)."""
    return replace(
        usage,
        estimated_usd=usage.estimated_usd.quantize(MONEY_QUANTUM).normalize() + ZERO,
        billed_usd=usage.billed_usd.quantize(MONEY_QUANTUM).normalize() + ZERO,
    )
