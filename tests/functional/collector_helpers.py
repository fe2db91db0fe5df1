"""Shared helpers of the collector tests: build a collector on the simulator, compute ground truth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal
from typing import Any

from chalicelib.catalog import PriceTable, quantize_usd
from chalicelib.collector import Collector, CollectorConfig
from chalicelib.money import member_of_line_item
from chalicelib.openai_api import USAGE_KINDS, OpenAIAdminClient
from chalicelib.periods import DAY, day_label
from chalicelib.store.rollups import Cell, Item, RollupStore
from chalicelib.usage import MONEY_QUANTUM, Usage
from simulator.org import SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY
from simulator.server import SimulatorServer

# The SDK's counter names -> Usage fields, per kind family (openai 3.51.0). Derived token fields
# (input_uncached/text, cached text, the cache-write total, output text) are parts already counted.
TOKEN_FIELDS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "input_cached_tokens": "cached_tokens",
    "input_audio_tokens": "audio_input_tokens",
    "output_audio_tokens": "audio_output_tokens",
    "num_model_requests": "requests",
    "input_cache_write_30m_tokens": "cache_write_30m_tokens",
    "input_cache_write_12h_tokens": "cache_write_12h_tokens",
    "input_cached_audio_tokens": "cached_audio_tokens",
    "input_cached_image_tokens": "cached_image_tokens",
    "input_image_tokens": "image_input_tokens",
    "output_image_tokens": "image_output_tokens",
}
PLAIN_FIELDS = {
    "input_tokens": "input_tokens",
    "num_model_requests": "requests",
    "images": "images",
    "characters": "characters",
    "seconds": "seconds",
}
# kind -> (group_by, the SDK's counter -> (Usage field, multiplier))
TRUTH_KINDS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, int]]]] = {
    **{
        kind: (
            ("api_key_id", "model", "project_id", "batch", "service_tier"),
            {name: (field, 1) for name, field in TOKEN_FIELDS.items()},
        )
        for kind in ("completions", "decisions")
    },
    **{
        kind: (
            ("api_key_id", "model", "project_id"),
            {name: (field, 1) for name, field in PLAIN_FIELDS.items()},
        )
        for kind in ("embeddings", "moderations", "images", "audio_speeches", "audio_transcriptions")
    },
    "web_search_calls": (("api_key_id", "model", "project_id"), {"num_requests": ("web_searches", 1)}),
    "file_search_calls": (("api_key_id", "project_id"), {"num_requests": ("file_searches", 1)}),
    "code_interpreter_sessions": (("project_id",), {"num_sessions": ("code_interpreter_sessions", 1)}),
    "vector_stores": (
        ("project_id",),
        {"usage_bytes": ("vector_store_byte_hours", 24)},
    ),  # a day's level x 24 h
}
COUNTERS = tuple(
    f.name for f in fields(Usage) if f.name not in ("estimated_usd", "billed_usd", "unpriced_tokens")
)
TIER_MEASURES = {"flex": "flex_tokens", "priority": "priority_tokens"}
# The tests' data lives around SIM_NOW, in the past, but DynamoDB Local's TTL sweeper expires items on
# the real clock: hourly items kept the deployed 35 days after their hour vanish mid-session once the
# real date passes them (1h reads then lose hours at random). Past hours a test reads back are kept
# this long instead; the API still refuses 1h reads older than HOURLY_RETENTION_DAYS before its clock.
PAST_HOURLY_RETENTION_DAYS = 3650


def past_config() -> CollectorConfig:
    """The collector's defaults, with hourly items kept PAST_HOURLY_RETENTION_DAYS."""
    return CollectorConfig(hourly_retention_days=PAST_HOURLY_RETENTION_DAYS)


def make_client(server: SimulatorServer, **kwargs: object) -> OpenAIAdminClient:
    """A client of the simulator that never really sleeps between retries."""
    return OpenAIAdminClient(server.base_url, SIM_ADMIN_KEY, sleep=lambda _seconds: None, **kwargs)  # type: ignore[arg-type]


def make_collector(
    server: SimulatorServer, config: CollectorConfig | None = None, **kwargs: object
) -> Collector:
    return Collector(
        make_client(server, **kwargs), RollupStore(), PriceTable.load(), config or CollectorConfig()
    )


def counters(usage: Usage) -> dict[str, int]:
    return {name: getattr(usage, name) for name in COUNTERS}


def truth_rows(org: SyntheticOrg, kind: str, start: int, end: int) -> Iterator[tuple[Cell, dict[str, int]]]:
    """One kind's ground truth over [start, end) as (cell, Usage field -> value), from the ledger."""
    group_by, names = TRUTH_KINDS[kind]
    for group, metrics in org.usage_truth(kind, start, end, group_by=group_by, every_field=True).items():
        member = dict(zip(group_by, group, strict=True))
        cell = Cell(
            str(member.get("api_key_id") or "unattributed"),
            str(member.get("model") or "unattributed"),
            str(member.get("project_id") or "unattributed"),
        )
        values: dict[str, int] = defaultdict(int)
        for name, value in metrics.items():
            if name in names:
                field, factor = names[name]
                values[field] += value * factor
        tokens = metrics.get("input_tokens", 0) + metrics.get("output_tokens", 0)
        if member.get("batch") is True:
            values["batch_tokens"] += tokens
        tier_measure = TIER_MEASURES.get(str(member.get("service_tier")))
        if tier_measure:
            values[tier_measure] += tokens
        yield cell, values


def truth_counters(org: SyntheticOrg, start: int, end: int) -> dict[tuple[str, Cell], dict[str, int]]:
    """Ground truth per (day, cell) of every usage measure, straight from the simulator's ledger."""
    truth: dict[tuple[str, Cell], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    assert set(TRUTH_KINDS) == set(USAGE_KINDS)  # a kind the collector reads is checked here too
    for day_ts in range(start, end, DAY):
        for kind in TRUTH_KINDS:
            for cell, values in truth_rows(org, kind, day_ts, day_ts + DAY):
                target = truth[(day_label(day_ts), cell)]
                for field, value in values.items():
                    target[field] += value
    return {key: value for key, value in truth.items() if any(value.values())}


def truth_billed(org: SyntheticOrg, start: int, end: int) -> dict[tuple[str, Cell], Decimal]:
    """Ground truth per (day, cell) of billed dollars, rounded as stored."""
    billed: dict[tuple[str, Cell], Decimal] = defaultdict(Decimal)
    for day_ts in range(start, end, DAY):
        rows = org.costs_truth(day_ts, day_ts + DAY, group_by=("api_key_id", "project_id", "line_item"))
        for (key, project, line_item), amount in rows.items():
            cell = Cell(
                str(key or "unattributed"),
                member_of_line_item(str(line_item)),
                str(project or "unattributed"),
            )
            # Each amount at the tracker's resolution (1e-12 USD, as parse_amount reads it), then summed:
            # long decimals such as vector storage's would otherwise differ by a rounding step.
            billed[(day_label(day_ts), cell)] += quantize_usd(amount)
    return {key: value.quantize(MONEY_QUANTUM) for key, value in billed.items() if value}


def stored_daily(start: int, end: int) -> dict[tuple[str, Cell], Usage]:
    return {
        (day, cell): usage
        for day, cell, usage in RollupStore().daily_detail(day_label(start), day_label(end - 1))
    }


def assert_store_matches_truth(org: SyntheticOrg, start: int, end: int) -> None:
    stored = stored_daily(start, end)
    expected = truth_counters(org, start, end)
    actual = {key: counters(usage) for key, usage in stored.items() if any(counters(usage).values())}
    assert actual == expected
    billed = {
        key: usage.billed_usd.quantize(MONEY_QUANTUM) for key, usage in stored.items() if usage.billed_usd
    }
    assert billed == truth_billed(org, start, end)


class CountingRollups(RollupStore):
    """The rollup store, counting its reads of whole ranges of aggregate days (what a materialized
    period spares) and of their stamps."""

    range_reads = 0
    stamp_reads = 0

    def aggregate_items(self, *args: Any, **kwargs: Any) -> list[Item]:
        self.range_reads += 1
        return super().aggregate_items(*args, **kwargs)

    def aggregate_stamps(self, *args: Any, **kwargs: Any) -> list[Item] | None:
        self.stamp_reads += 1
        return super().aggregate_stamps(*args, **kwargs)
