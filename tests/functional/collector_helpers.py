"""Shared helpers of the collector tests: build a collector on the simulator, compute ground truth."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from chalicelib.catalog import PriceTable
from chalicelib.collector import Collector, CollectorConfig
from chalicelib.money import member_of_line_item
from chalicelib.openai_api import USAGE_KINDS, OpenAIAdminClient
from chalicelib.periods import DAY, day_label
from chalicelib.store.rollups import Cell, RollupStore
from chalicelib.usage import MONEY_QUANTUM, Usage
from simulator.org import SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY
from simulator.server import SimulatorServer

FIELDS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "input_cached_tokens": "cached_tokens",
    "input_audio_tokens": "audio_input_tokens",
    "output_audio_tokens": "audio_output_tokens",
    "num_model_requests": "requests",
    "images": "images",
    "characters": "characters",
    "seconds": "seconds",
}
COUNTERS = tuple(FIELDS.values())


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


def truth_counters(org: SyntheticOrg, start: int, end: int) -> dict[tuple[str, Cell], dict[str, int]]:
    """Ground truth per (day, cell) of every usage counter, straight from the simulator's ledger."""
    truth: dict[tuple[str, Cell], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for day_ts in range(start, end, DAY):
        for kind in USAGE_KINDS:
            rows = org.usage_truth(kind, day_ts, day_ts + DAY, group_by=("api_key_id", "model", "project_id"))
            for (key, model, project), metrics in rows.items():
                cell = Cell(
                    str(key or "unattributed"), str(model or "unattributed"), str(project or "unattributed")
                )
                target = truth[(day_label(day_ts), cell)]
                for name, value in metrics.items():
                    target[FIELDS[name]] += value
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
            billed[(day_label(day_ts), cell)] += amount
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
