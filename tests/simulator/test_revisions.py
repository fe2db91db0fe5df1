"""Late-arriving usage revises recent buckets upward; costs trail usage and equal price x usage."""

from __future__ import annotations

from decimal import Decimal

from simulator.billing import item_name, line_items
from simulator.catalog import MILLION, WEB_SEARCH_LINE_ITEM, model_info
from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW, SIM_SPEC
from simulator.traffic import METRICS, Cell

from .conftest import sum_costs, sum_usage

DAY = 86400
HOUR = 3600
TODAY = SIM_NOW - SIM_NOW % DAY
USAGE = "/organization/usage/completions"


def minute_totals(api, start, end):
    params = {"start_time": start, "end_time": end, "bucket_width": "1m", "limit": 1440}
    return {
        b["start_time"]: sum_usage("completions", [b], ()).get((), {}) for b in api.buckets(USAGE, params)
    }


def test_recent_buckets_are_revised_upward_when_now_advances(api, sim_org):
    start = SIM_NOW - 3 * HOUR
    before = minute_totals(api, start, SIM_NOW)
    sim_org.advance(45 * 60)
    after = minute_totals(api, start, SIM_NOW)

    for minute, values in before.items():
        for name, value in values.items():
            assert after[minute][name] >= value  # revised, never lowered
    settled = [m for m in before if m + 60 <= SIM_NOW - 60 * 60]
    unsettled = [m for m in before if m >= SIM_NOW - 60 * 60]
    assert all(before[m] == after[m] for m in settled)
    assert any(before[m] != after[m] for m in unsettled)


def test_once_settled_recent_usage_equals_the_raw_events(sim_org):
    start = SIM_NOW - 30 * 60
    sim_org.advance(2 * HOUR)
    raw = sum(e.values["input_tokens"] for e in sim_org.events("completions", start, SIM_NOW))
    (total,) = sim_org.usage_truth("completions", start, SIM_NOW).values()
    assert total["input_tokens"] == raw


def test_advancing_now_reveals_new_buckets(api, sim_org):
    first = api.ok(USAGE, {"start_time": SIM_NOW - HOUR, "bucket_width": "1m"})
    sim_org.advance(10 * 60)
    second = api.ok(USAGE, {"start_time": SIM_NOW - HOUR, "bucket_width": "1m", "limit": 100})
    assert first["data"][-1]["end_time"] == SIM_NOW
    assert second["data"][-1]["end_time"] == SIM_NOW + 10 * 60


def test_costs_reflect_the_usage_visible_cost_lag_hours_earlier():
    lagging = SyntheticOrg(SIM_SPEC)  # cost_lag_hours=6
    spec = SIM_SPEC
    earlier = SyntheticOrg(
        OrgSpec(
            seed=spec.seed,
            keys=spec.keys,
            projects=spec.projects,
            users=spec.users,
            days=spec.days,
            now=SIM_NOW - 6 * HOUR,
            cost_lag_hours=0,
        )
    )
    group_by = ("line_item", "project_id", "api_key_id")
    assert lagging.costs_truth(TODAY, SIM_NOW, group_by) == earlier.costs_truth(TODAY, SIM_NOW, group_by)
    assert lagging.costs_truth(TODAY - DAY, TODAY, group_by) == earlier.costs_truth(
        TODAY - DAY, TODAY, group_by
    )


def test_costs_equal_price_times_usage(api, sim_org):
    day = TODAY - 3 * DAY
    group_by = ("model", "batch", "service_tier")
    usage = sim_org.usage_truth("completions", day, day + DAY, group_by)
    expected: dict[str, Decimal] = {}
    for (model, batch, tier), values in usage.items():
        info = model_info(model)
        factor = (Decimal("0.5") if batch else 1) * {"flex": Decimal("0.5"), "priority": 2}.get(tier, 1)
        parts = {
            "input": (
                values["input_tokens"] - values["input_cached_tokens"] - values["input_audio_tokens"],
                info.input,
            ),
            "cached input": (values["input_cached_tokens"], info.cached_input or info.input),
            "output": (values["output_tokens"] - values["output_audio_tokens"], info.output),
            "audio input": (values["input_audio_tokens"], info.audio_input),
            "audio output": (values["output_audio_tokens"], info.audio_output),
        }
        for part, (quantity, price) in parts.items():
            if quantity:
                item = item_name(info, part)  # ", input" or the newer ", input_tokens" shape
                cost = (price or 0) * quantity / MILLION * factor
                expected[item] = expected.get(item, Decimal(0)) + cost
    for kind, unit_item in (("embeddings", "input"), ("images", "images")):
        for (model,), values in sim_org.usage_truth(kind, day, day + DAY, ("model",)).items():
            info = model_info(model)
            quantity = values[METRICS[kind][0]]
            price = info.input / MILLION if kind == "embeddings" else info.unit
            expected[f"{model}, {unit_item}"] = price * quantity

    billed = sum_costs(
        api.buckets(
            "/organization/costs", {"start_time": day, "end_time": day + DAY, "group_by": "line_item"}
        ),
        ("line_item",),
    )
    assert expected
    for item, cost in expected.items():
        assert billed[(item,)] == cost, item
    assert any(item.startswith("acme-research-1") and value == 0 for (item,), value in billed.items())


def test_web_search_calls_are_billed_per_call():
    # Web searches are their own usage kind now (openai==3.51.0 web_search_calls), billed per search.
    chat = Cell("completions", "key_x", "proj_x", None, "gpt-5-2025-08-07", False, "default", None, None)
    assert dict(line_items(chat, (1_000_000, 0, 30, 0, 0, 0))) == {"gpt-5-2025-08-07, input": Decimal("1.25")}
    search = Cell("web_search_calls", "key_x", "proj_x", None, "gpt-5-2025-08-07", None, None, None, None)
    assert dict(line_items(search, (10, 4))) == {WEB_SEARCH_LINE_ITEM: Decimal("0.10")}
