"""The collector's pure arithmetic: rows to cells, nulls kept, dollars exact, days assembled."""

from datetime import date
from decimal import Decimal

from chalicelib.collector import (
    CollectorConfig,
    billed_cells,
    cell_of_row,
    each_day_rollup,
    hourly_cells,
    incremental_window,
    usage_of_row,
)
from chalicelib.periods import DAY, HOUR, day_start
from chalicelib.store.rollups import Cell
from chalicelib.usage import Usage

T0 = day_start("2026-11-20")


class PerTokenPrices:
    """One micro-dollar per token for every model but `unknown-model`."""

    def estimate_usd(
        self, model: str, usage: Usage, on: date, *, batch: bool = False, service_tier: str | None = None
    ) -> Decimal | None:
        if model == "unknown-model":
            return None
        return Decimal(usage.total_tokens) / Decimal(1_000_000)


def completions_row(key: str | None, model: str | None, project: str | None, tokens: int) -> dict:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": tokens,
        "output_tokens": tokens // 2,
        "input_cached_tokens": tokens // 4,
        "num_model_requests": 3,
        "api_key_id": key,
        "model": model,
        "project_id": project,
        "a_field_from_the_future": {"nested": True},
    }


def test_usage_of_row_reads_each_kind_and_ignores_unknown_fields():
    assert usage_of_row(completions_row("key_a", "gpt-4o", "proj_1", 100)) == Usage(
        input_tokens=100, output_tokens=50, cached_tokens=25, requests=3
    )
    assert usage_of_row({"images": 4, "num_model_requests": 2}) == Usage(images=4, requests=2)
    assert usage_of_row({"characters": 900, "num_model_requests": 1}) == Usage(characters=900, requests=1)
    assert usage_of_row({"seconds": 61, "num_model_requests": 1}) == Usage(seconds=61, requests=1)


def test_null_grouping_fields_become_unattributed_not_dropped():
    assert cell_of_row(completions_row(None, None, None, 1)) == Cell(
        "unattributed", "unattributed", "unattributed"
    )


def test_hourly_cells_sum_rows_of_the_same_cell_and_price_them():
    buckets = [
        {"start_time": T0, "end_time": T0 + HOUR, "results": [completions_row("key_a", "m", "p", 100)]},
        {"start_time": T0, "end_time": T0 + HOUR, "results": [completions_row("key_a", "m", "p", 10)]},
        {"start_time": T0 + HOUR, "end_time": T0 + 2 * HOUR, "results": []},
    ]
    cells = hourly_cells([("completions", bucket) for bucket in buckets], PerTokenPrices())
    assert list(cells) == [("2026-11-20T00", Cell("key_a", "m", "p"))]
    usage = cells[("2026-11-20T00", Cell("key_a", "m", "p"))]
    assert usage.input_tokens == 110
    assert usage.requests == 6
    assert usage.estimated_usd == Decimal(110 + 55) / Decimal(1_000_000)


def test_a_model_without_price_counts_as_unpriced_never_as_zero_dollars():
    buckets = [
        {"start_time": T0, "end_time": T0 + HOUR, "results": [completions_row("k", "unknown-model", "p", 40)]}
    ]
    cells = hourly_cells([("completions", bucket) for bucket in buckets], PerTokenPrices())
    usage = cells[("2026-11-20T00", Cell("k", "unknown-model", "p"))]
    assert usage.estimated_usd == 0
    assert usage.unpriced_tokens == 60


def test_billed_cells_parse_decimal_strings_exactly_and_take_the_model_from_the_line_item():
    buckets = [
        {
            "start_time": T0,
            "end_time": T0 + DAY,
            "results": [
                {
                    "amount": {"value": "0.000004500000000000000000000000000000000", "currency": "usd"},
                    "line_item": "gpt-4o-mini-2024-07-18, input",
                    "api_key_id": "key_a",
                    "project_id": "proj_1",
                },
                {
                    "amount": {"value": 0.25, "currency": "usd"},
                    "line_item": "gpt-4o-mini-2024-07-18, output",
                    "api_key_id": "key_a",
                    "project_id": "proj_1",
                },
                {
                    "amount": {"value": "0E-6176", "currency": "usd"},
                    "line_item": "web search tool calls",
                    "api_key_id": None,
                    "project_id": "proj_1",
                    "organization_id": "org-x",
                },
            ],
        }
    ]
    billed = billed_cells(buckets)
    assert billed[("2026-11-20", Cell("key_a", "gpt-4o-mini-2024-07-18", "proj_1"))] == Decimal("0.2500045")
    # a line item that is not a model is its own kind of member (chalicelib.money), never a model
    assert billed[("2026-11-20", Cell("unattributed", "item:web search tool calls", "proj_1"))] == 0


def test_each_day_rollup_sums_hours_and_adds_billed_dollars_per_cell():
    cell = Cell("k", "m", "p")
    hourly = {
        ("2026-11-20T00", cell): Usage(input_tokens=5, requests=1),
        ("2026-11-20T13", cell): Usage(input_tokens=7, requests=2),
        ("2026-11-21T00", cell): Usage(input_tokens=1, requests=1),
    }
    billed = {("2026-11-20", cell): Decimal("1.5"), ("2026-11-20", Cell("k", "tool", "p")): Decimal("0.1")}
    first, second = each_day_rollup(["2026-11-20", "2026-11-21"], hourly, billed)
    assert first.daily[cell] == Usage(input_tokens=12, requests=3, billed_usd=Decimal("1.5"))
    assert first.daily[Cell("k", "tool", "p")] == Usage(billed_usd=Decimal("0.1"))
    # The day's bill is apportioned over its hours (by share, tokens here: nothing is priced), so
    # the hours of every cell sum exactly to the day; the item without usage follows the key's hours.
    assert first.hourly[("2026-11-20T00", cell)].billed_usd == Decimal("0.6")
    assert first.hourly[("2026-11-20T13", cell)].billed_usd == Decimal("0.9")
    assert sum(u.billed_usd for (_, c), u in first.hourly.items() if c.model == "tool") == Decimal("0.1")
    assert len(first.hourly) == 4
    assert second.daily == {cell: Usage(input_tokens=1, requests=1)}


def test_incremental_window_rereads_whole_days_and_catches_up_after_an_outage():
    now = T0 + 10 * HOUR + 17 * 60
    config = CollectorConfig(reread_hours=48, max_catchup_days=31)
    assert incremental_window(now, now - 900, config) == (T0 - 2 * DAY, now)
    assert incremental_window(now, now - 5 * DAY, config) == (T0 - 5 * DAY, now)
    assert incremental_window(now, now - 90 * DAY, config) == (T0 - 31 * DAY, now)
    assert incremental_window(now, None, config) == (T0 - 2 * DAY, now)


# --- openai 3.51.0 token fields, batch/tier rows and per-call kinds --------------------------------


def sdk_completions_row(**fields: object) -> dict:
    """A completions row in the SDK's current shape: input = uncached text/audio/image + cached
    + cache writes; output = text + audio + image."""
    row = {
        "object": "organization.usage.completions.result",
        "input_tokens": 1_000,
        "input_uncached_tokens": 500,
        "input_text_tokens": 300,
        "input_audio_tokens": 120,
        "input_image_tokens": 80,
        "input_cached_tokens": 350,
        "input_cached_text_tokens": 300,
        "input_cached_audio_tokens": 30,
        "input_cached_image_tokens": 20,
        "input_cache_write_tokens": 150,
        "input_cache_write_30m_tokens": 100,
        "input_cache_write_12h_tokens": 50,
        "output_tokens": 400,
        "output_text_tokens": 300,
        "output_audio_tokens": 60,
        "output_image_tokens": 40,
        "num_model_requests": 5,
        "api_key_id": "key_a",
        "model": "gpt-5.1-2025-11-13",
        "project_id": "proj_1",
        "batch": None,
        "service_tier": None,
    }
    row.update(fields)
    return row


def test_usage_of_row_keeps_every_sdk_token_field_and_never_counts_a_token_twice():
    usage = usage_of_row(sdk_completions_row())
    assert usage == Usage(
        input_tokens=1_000,
        output_tokens=400,
        cached_tokens=350,
        cached_audio_tokens=30,
        cached_image_tokens=20,
        cache_write_30m_tokens=100,
        cache_write_12h_tokens=50,
        audio_input_tokens=120,
        image_input_tokens=80,
        audio_output_tokens=60,
        image_output_tokens=40,
        requests=5,
    )
    assert usage.total_tokens == 1_400  # input + output: the parts are inside input, not added


def test_cache_writes_without_their_retention_split_count_as_30_minute_writes():
    row = sdk_completions_row(input_cache_write_30m_tokens=None, input_cache_write_12h_tokens=None)
    usage = usage_of_row(row)
    assert (usage.cache_write_30m_tokens, usage.cache_write_12h_tokens) == (150, 0)


def test_batch_flex_and_priority_rows_count_their_tokens_in_their_own_measure():
    assert usage_of_row(sdk_completions_row(batch=True)).batch_tokens == 1_400
    assert usage_of_row(sdk_completions_row(service_tier="flex")).flex_tokens == 1_400
    assert usage_of_row(sdk_completions_row(service_tier="priority")).priority_tokens == 1_400
    plain = usage_of_row(sdk_completions_row(batch=False, service_tier="default"))
    assert (plain.batch_tokens, plain.flex_tokens, plain.priority_tokens) == (0, 0, 0)


def test_decisions_rows_count_as_tokens_like_completions():
    row = sdk_completions_row(object="organization.usage.decisions.result")
    assert usage_of_row(row, "decisions") == usage_of_row(sdk_completions_row(), "completions")


def test_per_call_kinds_are_their_own_measures_never_tokens_or_requests():
    web = {"object": "organization.usage.web_searches.result", "num_requests": 7, "num_model_requests": 3}
    files = {"object": "organization.usage.file_searches.result", "num_requests": 4}
    sessions = {"object": "organization.usage.code_interpreter_sessions.result", "num_sessions": 2}
    storage = {"object": "organization.usage.vector_stores.result", "usage_bytes": 5_000_000_000}
    assert usage_of_row(web, "web_search_calls") == Usage(web_searches=7)
    assert usage_of_row(files, "file_search_calls") == Usage(file_searches=4)
    assert usage_of_row(sessions, "code_interpreter_sessions") == Usage(code_interpreter_sessions=2)
    # A day's sample (1d bucket) is held all day: 5 GB x 24 h = 5 GB-days.
    assert usage_of_row(storage, "vector_stores") == Usage(vector_store_byte_hours=120_000_000_000)
    assert usage_of_row(storage, "vector_stores").vector_store_gb_days == 5


class TierAwarePrices:
    """$1 per token at list price, times 0.5 for batch or flex and 2 for priority; $1 a search."""

    def estimate_usd(
        self, model: str, usage: Usage, on: date, *, batch: bool = False, service_tier: str | None = None
    ) -> Decimal | None:
        factor = Decimal("0.5") if batch or service_tier == "flex" else Decimal(1)
        factor *= 2 if service_tier == "priority" else 1
        return Decimal(usage.total_tokens) * factor + usage.web_searches


def test_hourly_cells_price_each_batch_and_tier_row_at_its_own_price_before_summing():
    rows = [
        {"input_tokens": 10, "output_tokens": 0, "model": "m", "batch": False, "service_tier": "default"},
        {"input_tokens": 10, "output_tokens": 0, "model": "m", "batch": True, "service_tier": "default"},
        {"input_tokens": 10, "output_tokens": 0, "model": "m", "batch": False, "service_tier": "flex"},
        {"input_tokens": 10, "output_tokens": 0, "model": "m", "batch": False, "service_tier": "priority"},
    ]
    searches = [{"num_requests": 3, "model": "m"}]
    buckets = [
        ("completions", {"start_time": T0, "results": rows}),
        ("web_search_calls", {"start_time": T0, "results": searches}),
    ]
    usage = hourly_cells(buckets, TierAwarePrices())[
        ("2026-11-20T00", Cell("unattributed", "m", "unattributed"))
    ]
    assert usage.estimated_usd == Decimal(10 + 5 + 5 + 20 + 3)
    assert (usage.input_tokens, usage.batch_tokens, usage.flex_tokens, usage.priority_tokens) == (
        40,
        10,
        10,
        10,
    )
    assert usage.web_searches == 3
