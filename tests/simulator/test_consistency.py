"""The data adds up: 1m, 1h and 1d buckets agree, truth equals raw events, same seed same data."""

from __future__ import annotations

import pytest

from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW, SIM_SPEC
from simulator.traffic import FIELDS, METRICS

from .conftest import sum_usage

DAY = 86400
HOUR = 3600
TODAY = SIM_NOW - SIM_NOW % DAY


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (TODAY - DAY, TODAY),  # a whole settled day
        (TODAY - DAY + 7 * HOUR + 1234, SIM_NOW),  # ragged start, through the unsettled hour
    ],
)
def test_minute_hour_and_day_buckets_of_a_period_add_up_exactly(api, start, end):
    group_by = ("api_key_id", "model", "batch")
    totals = {}
    for width, limit in (("1m", 1440), ("1h", 168), ("1d", 31)):
        params = {
            "start_time": start,
            "end_time": end,
            "bucket_width": width,
            "limit": limit,
            "group_by": list(group_by),
        }
        totals[width] = sum_usage(
            "completions", api.buckets("/organization/usage/completions", params), group_by
        )
    assert totals["1m"] == totals["1h"] == totals["1d"]
    assert totals["1d"]


@pytest.mark.parametrize("kind", list(METRICS))
def test_ground_truth_equals_the_sum_of_raw_events(sim_org, kind):
    start, end = SIM_NOW - 9 * DAY - 555, SIM_NOW
    group_by = ("api_key_id", "model", "project_id")
    expected: dict[tuple, dict[str, int]] = {}
    for event in sim_org.events(kind, start, end):
        key = tuple(getattr(event.cell, name) for name in group_by)
        total = expected.setdefault(key, dict.fromkeys(FIELDS[kind], 0))
        for name, value in event.values.items():  # every counter of the SDK, token detail included
            total[name] += value
    expected = {key: values for key, values in expected.items() if any(values.values())}
    assert expected
    assert sim_org.usage_truth(kind, start, end, group_by, every_field=True) == expected
    base = {key: {name: values[name] for name in METRICS[kind]} for key, values in expected.items()}
    assert sim_org.usage_truth(kind, start, end, group_by) == base  # the default: the kind's METRICS


def test_grouped_truth_sums_to_the_ungrouped_truth(sim_org):
    start = sim_org.origin
    grouped = sim_org.usage_truth("completions", start, SIM_NOW, ("api_key_id", "model", "service_tier"))
    (total,) = sim_org.usage_truth("completions", start, SIM_NOW).values()
    for name in METRICS["completions"]:
        assert sum(values[name] for values in grouped.values()) == total[name]


def test_the_same_seed_gives_the_same_organization_and_another_seed_does_not():
    first, again = SyntheticOrg(SIM_SPEC), SyntheticOrg(SIM_SPEC)
    other = SyntheticOrg(OrgSpec(seed=SIM_SPEC.seed + 1, keys=12, projects=3, users=5, days=30, now=SIM_NOW))
    group_by = ("api_key_id", "model")
    start = SIM_NOW - 5 * DAY
    assert first.usage_truth("completions", start, SIM_NOW, group_by) == again.usage_truth(
        "completions", start, SIM_NOW, group_by
    )
    assert first.costs_truth(start, SIM_NOW, ("line_item",)) == again.costs_truth(
        start, SIM_NOW, ("line_item",)
    )
    assert [k.id for k in first.directory.keys] == [k.id for k in again.directory.keys]
    assert [k.id for k in first.directory.keys] != [k.id for k in other.directory.keys]


def test_history_does_not_depend_on_the_order_of_queries():
    fresh, warmed = SyntheticOrg(SIM_SPEC), SyntheticOrg(SIM_SPEC)
    warmed.usage_truth("completions", warmed.origin, SIM_NOW, ("model",))  # fills every cache
    start, end = SIM_NOW - 3 * DAY + 999, SIM_NOW - DAY
    assert fresh.usage_truth("completions", start, end, ("api_key_id",)) == warmed.usage_truth(
        "completions", start, end, ("api_key_id",)
    )
