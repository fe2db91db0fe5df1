"""The usage metrics vector: what one key x model x project spent in one hour or day.

`Usage` is immutable and adds with `+`. It owns its storage codec too: `to_stored` gives a compact
dict of short, stable names with zeros omitted (`{"i": 1200, "o": 340, "e": "0.0004"}`), so adding
a field can never misread an item written before it; `from_stored` reads that form and the older
positional list (`to_list` of the first twelve fields, trailing zeros trimmed) that items written
before the named form still hold.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
BYTE_HOURS_PER_GB_DAY = Decimal(24 * 1_000_000_000)


@dataclass(frozen=True, slots=True)
class Usage:
    """Counters of one rollup cell. Money is Decimal USD; `unpriced_tokens` counts tokens of models
    without a price, whose cost is missing from `estimated_usd` (never counted as $0).

    Token splits follow the SDK (openai 3.51.0): `input_tokens` is all input, so cached and
    cache-write tokens are parts of it, never added to it; the `audio_input_tokens` and
    `image_input_tokens` parts are uncached, the `cached_audio_tokens` and `cached_image_tokens`
    parts of `cached_tokens`. `batch_tokens`, `flex_tokens` and `priority_tokens` are the input +
    output tokens of rows with batch=true / service_tier flex / priority. Tool counters
    (`web_searches`, `file_searches`, `code_interpreter_sessions`, `vector_store_byte_hours`) are
    their own measures, never tokens.
    """

    input_tokens: int = 0  # all input: uncached + cached + cache writes, text + audio + image
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
    cache_write_30m_tokens: int = 0
    cache_write_12h_tokens: int = 0
    cached_audio_tokens: int = 0
    cached_image_tokens: int = 0
    image_input_tokens: int = 0
    image_output_tokens: int = 0
    batch_tokens: int = 0
    flex_tokens: int = 0
    priority_tokens: int = 0
    web_searches: int = 0
    file_searches: int = 0
    code_interpreter_sessions: int = 0
    vector_store_byte_hours: int = 0  # usage_bytes summed over 1h buckets

    @property
    def total_tokens(self) -> int:
        """Input + output tokens: what the complimentary pools count."""
        return self.input_tokens + self.output_tokens

    @property
    def vector_store_gb_days(self) -> Decimal:
        """Vector storage in GB-days (1 GB = 1e9 bytes), the unit OpenAI prices it in."""
        return Decimal(self.vector_store_byte_hours) / BYTE_HOURS_PER_GB_DAY

    def __add__(self, other: Usage) -> Usage:
        return Usage(*map(operator.add, _values(self), _values(other)))

    def __sub__(self, other: Usage) -> Usage:
        return Usage(*map(operator.sub, _values(self), _values(other)))

    def is_zero(self) -> bool:
        """True when every counter is zero."""
        return self == ZERO_USAGE

    def to_stored(self) -> dict[str, int | Decimal]:
        """Compact storage form: short stable names (STORED_NAMES), zero counters omitted."""
        return {short: value for short, value in zip(_SHORT_NAMES, _values(self), strict=True) if value}

    @classmethod
    def from_stored(cls, stored: Any) -> Usage:
        """Inverse of `to_stored`; also reads the legacy positional list. Tolerates DynamoDB's
        Decimal and JSON's decimal strings for every number; unknown names are ignored (a newer
        writer's field an older reader does not know)."""
        if isinstance(stored, list):
            return cls.from_list(stored)
        parsed: dict[str, Any] = {}
        for short, value in stored.items():
            name = _LONG_NAMES.get(short)
            if name is not None:
                parsed[name] = Decimal(value) if name in MONEY_FIELDS else int(value)
        return cls(**parsed)

    @classmethod
    def from_list(cls, values: list[Any]) -> Usage:
        """The legacy positional form: LEGACY_ORDER's fields in order, trailing zeros dropped."""
        parsed: dict[str, Any] = {
            name: Decimal(value) if name in MONEY_FIELDS else int(value)
            for name, value in zip(LEGACY_ORDER, values, strict=False)
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


MONEY_FIELDS = frozenset({"estimated_usd", "billed_usd"})
# The positional order items written before the named form hold: never change it.
LEGACY_ORDER: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "requests",
    "images",
    "characters",
    "seconds",
    "estimated_usd",
    "billed_usd",
    "unpriced_tokens",
)
# Stored names: stable forever (a rename would misread stored items); add new ones, never reuse.
STORED_NAMES: dict[str, str] = {
    "input_tokens": "i",
    "output_tokens": "o",
    "cached_tokens": "c",
    "audio_input_tokens": "ai",
    "audio_output_tokens": "ao",
    "requests": "r",
    "images": "im",
    "characters": "ch",
    "seconds": "s",
    "estimated_usd": "e",
    "billed_usd": "b",
    "unpriced_tokens": "u",
    "cache_write_30m_tokens": "w30",
    "cache_write_12h_tokens": "w12",
    "cached_audio_tokens": "ca",
    "cached_image_tokens": "ci",
    "image_input_tokens": "ii",
    "image_output_tokens": "io",
    "batch_tokens": "bt",
    "flex_tokens": "ft",
    "priority_tokens": "pt",
    "web_searches": "ws",
    "file_searches": "fs",
    "code_interpreter_sessions": "cis",
    "vector_store_byte_hours": "vbh",
}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Usage))
_SHORT_NAMES: tuple[str, ...] = tuple(STORED_NAMES[name] for name in FIELD_NAMES)
_LONG_NAMES: dict[str, str] = {short: name for name, short in STORED_NAMES.items()}


_values: Callable[[Usage], tuple[Any, ...]] = operator.attrgetter(*FIELD_NAMES)


ZERO_USAGE = Usage()


def usage_sum(parts: list[Usage]) -> Usage:
    """The sum of many Usages, column by column (one C-level `sum` per counter instead of one
    Usage built per addition: a 90-day period at 10,000 keys sums ~900,000 of them). Exact."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return ZERO_USAGE
    columns: list[Any] = [sum(column) for column in zip(*map(_values, parts), strict=True)]
    return Usage(*columns)


def sum_usage(items: Any) -> Usage:
    """Sum an iterable of Usage."""
    total = ZERO_USAGE
    for item in items:
        total = total + item
    return total


MONEY_QUANTUM = Decimal("1e-10")


_FIELD_INDEX: dict[str, int] = {name: index for index, name in enumerate(FIELD_NAMES)}


def with_fields(usage: Usage, **changes: Any) -> Usage:
    """`dataclasses.replace(usage, **changes)`, positionally: the collector makes ~450,000 of these a
    run at 10,000 keys, where `replace`'s per-field checks cost ~10 s of CPU."""
    values = list(_values(usage))
    for name, value in changes.items():
        values[_FIELD_INDEX[name]] = value
    return Usage(*values)


def _canonical_money(value: Decimal) -> Decimal:
    if value is ZERO:  # the default, already canonical: most counters' dollars of a row
        return ZERO
    return value.quantize(MONEY_QUANTUM).normalize() + ZERO


def canonical(usage: Usage) -> Usage:
    """The form a Usage is stored in: money rounded to 1e-10 USD, so that values read back compare
    equal to values recomputed from OpenAI (DynamoDB keeps 38 significant digits)."""
    estimated, billed = usage.estimated_usd, usage.billed_usd
    if estimated is ZERO and billed is ZERO:
        return usage
    rounded, settled = _canonical_money(estimated), _canonical_money(billed)
    if str(rounded) == str(estimated) and str(settled) == str(billed):
        return usage  # already stored-form (the same digits, not just an equal value): no copy
    return with_fields(usage, estimated_usd=rounded, billed_usd=settled)
