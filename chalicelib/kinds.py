"""The usage kinds the tracker reads and the measures it reports: one declaration each.

A `UsageKind` is one `/organization/usage/<name>` endpoint: what it may be grouped by (openai
3.51.0), the bucket width the collector reads it at and how one of its rows maps to `Usage`
counters (the token mapping of `collector.usage_of_row`, or one per-call counter). A `Measure` is one
`Usage` counter beyond the core metrics (tokens, requests, dollars): its JSON/CSV column, its
dashboard label and CLI header, its unit and, for a per-call item, its price in the price table.

Derived from these tables, never listed again: the reader's groupings (`openai_api.USAGE_GROUPINGS`),
the collector's kind loop and row mapping, the price table's per-call fields and estimates
(`catalog`), the report's measure columns and its `measures` list (`query/report.py`, which the
dashboard builds its per-call columns from), the CSV's measure columns (`query/export.py`) and the
CLI's per-call columns (`cli/reports.py`). Adding a kind: docs/design.md "Adding a usage kind".
Pure data: imports nothing of the tracker but `usage`'s unit constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from chalicelib.usage import BYTE_HOURS_PER_GB_DAY

Unit = Literal["tokens", "count", "gb_days"]

USAGE_GROUPING: tuple[str, ...] = ("api_key_id", "model", "project_id")
# Completions and decisions also split by batch and service tier, so each row is priced at its
# own price; tool kinds group only by what the API allows (openai 3.51.0).
PRICED_GROUPING: tuple[str, ...] = (*USAGE_GROUPING, "batch", "service_tier")


@dataclass(frozen=True)
class ToolPrice:
    """Where a per-call measure's price is: the `tool:*` entry of the price table, its price field,
    and how many units that price is for (web searches: per 1,000 calls)."""

    entry: str
    field: str
    per: Decimal = Decimal(1)


@dataclass(frozen=True)
class Measure:
    """One `Usage` counter beyond the core metrics.

    `column` is its name in the JSON rows and the CSV (the counter's own name unless `scale` turns
    the stored unit into the shown one: byte-hours / 24e9 = GB-days). A per-call measure (`price`
    set) is its own unit, never tokens: the API's bucket rows, the dashboard and the CLI show it."""

    field: str
    label: str
    unit: Unit = "tokens"
    header: str = ""
    column: str = ""
    scale: int = 1
    price: ToolPrice | None = None

    @property
    def name(self) -> str:
        """The JSON and CSV name."""
        return self.column or self.field

    @property
    def per_call(self) -> bool:
        """A per-call item (searches, sessions, storage), priced on its own."""
        return self.price is not None

    def quantity(self, stored: int) -> Decimal:
        """The stored counter in the unit its price is for (exact: Decimal)."""
        return Decimal(stored) / Decimal(self.scale) if self.scale != 1 else Decimal(stored)

    def shown(self, stored: int) -> int | float:
        """The stored counter as the JSON shows it (a scaled unit: a number to 6 decimals)."""
        return round(stored / self.scale, 6) if self.scale != 1 else stored

    def describe(self) -> dict[str, Any]:
        """The entry of the API's `measures` list."""
        return {"id": self.name, "label": self.label, "unit": self.unit}


@dataclass(frozen=True)
class UsageKind:
    """One `/organization/usage/<name>` endpoint.

    `counter` is (Usage field, row field) for a per-call kind, whose rows carry one count; None
    reads the row's tokens, requests, images, characters and seconds (`collector.usage_of_row`).
    `width` is the bucket width the collector reads; `hours` multiplies a row's count (a level the
    API samples per day, held for its 24 hours)."""

    name: str
    group_by: tuple[str, ...] = USAGE_GROUPING
    counter: tuple[str, str] | None = None
    width: str = "1h"
    hours: int = 1

    @property
    def per_call(self) -> bool:
        """Rows count a tool's calls (their model requests are already counted by completions)."""
        return self.counter is not None

    @property
    def live(self) -> bool:
        """Readable at 1m width for the live view (hourly kinds)."""
        return self.width == "1h"


# The order is the collector's reading order and the reader's: keep new kinds at the end.
KINDS: tuple[UsageKind, ...] = (
    UsageKind("completions", PRICED_GROUPING),
    UsageKind("decisions", PRICED_GROUPING),
    UsageKind("embeddings"),
    UsageKind("moderations"),
    UsageKind("images"),
    UsageKind("audio_speeches"),
    UsageKind("audio_transcriptions"),
    UsageKind("web_search_calls", counter=("web_searches", "num_requests")),
    UsageKind("file_search_calls", ("api_key_id", "project_id"), ("file_searches", "num_requests")),
    # Vector storage is a level (bytes held), which the API samples per day: read in 1d buckets, a
    # day's usage_bytes held for its 24 hours (byte-hours), filed under the day's first hour.
    UsageKind("vector_stores", ("project_id",), ("vector_store_byte_hours", "usage_bytes"), "1d", 24),
    UsageKind("code_interpreter_sessions", ("project_id",), ("code_interpreter_sessions", "num_sessions")),
)
KIND_OF: dict[str, UsageKind] = {kind.name: kind for kind in KINDS}

# The measures beyond the core metrics, in column order (the CSV's, the dashboard's, the CLI's):
# token splits that change the price, then per-call items in their own units. Append, never reorder.
MEASURES: tuple[Measure, ...] = (
    Measure("cache_write_30m_tokens", "Cache writes 30m"),
    Measure("cache_write_12h_tokens", "Cache writes 12h"),
    Measure("audio_input_tokens", "Audio in"),
    Measure("audio_output_tokens", "Audio out"),
    Measure("image_input_tokens", "Image in"),
    Measure("image_output_tokens", "Image out"),
    Measure("batch_tokens", "Batch tokens"),
    Measure("flex_tokens", "Flex tokens"),
    Measure("priority_tokens", "Priority tokens"),
    Measure(
        "web_searches",
        "Web searches",
        "count",
        "WEB SEARCHES",
        price=ToolPrice("tool:web_search", "per_1k_calls", Decimal(1000)),
    ),
    Measure(
        "file_searches",
        "File searches",
        "count",
        "FILE SEARCHES",
        price=ToolPrice("tool:file_search", "per_1k_calls", Decimal(1000)),
    ),
    Measure(
        "code_interpreter_sessions",
        "Code sessions",
        "count",
        "SESSIONS",
        price=ToolPrice("tool:code_interpreter", "per_session"),
    ),
    Measure(
        "vector_store_byte_hours",
        "Storage GB-days",
        "gb_days",
        "STORAGE GB-DAYS",
        column="vector_store_gb_days",
        scale=int(BYTE_HOURS_PER_GB_DAY),
        price=ToolPrice("tool:vector_storage", "per_gb_day"),
    ),
)
PER_CALL: tuple[Measure, ...] = tuple(measure for measure in MEASURES if measure.per_call)
# The `measures` list of `/api/usage`: what the dashboard shows as per-call columns.
MEASURE_LIST: tuple[dict[str, Any], ...] = tuple(measure.describe() for measure in PER_CALL)
