"""Bucket boundaries: UTC alignment, partial first and current buckets, empty periods, array forms."""

from __future__ import annotations

import pytest

from simulator.pytest_plugin import SIM_NOW

DAY = 86400
HOUR = 3600
USAGE = "/organization/usage/completions"
TODAY = SIM_NOW - SIM_NOW % DAY


def test_a_day_query_starting_mid_day_has_a_partial_first_bucket(api):
    start = TODAY - 3 * DAY + 17 * HOUR + 31 * 60  # 17:31, three days ago
    buckets = api.ok(USAGE, {"start_time": start})["data"]

    assert buckets[0]["start_time"] == start
    assert buckets[0]["end_time"] == TODAY - 2 * DAY
    assert all(b["start_time"] % DAY == 0 for b in buckets[1:])
    assert [b["end_time"] for b in buckets[:-1]] == [b["start_time"] for b in buckets[1:]]


def test_the_current_bucket_ends_at_now(api):
    buckets = api.ok(USAGE, {"start_time": TODAY - 2 * DAY})["data"]

    assert len(buckets) == 3
    assert (buckets[-1]["start_time"], buckets[-1]["end_time"]) == (TODAY, SIM_NOW)


@pytest.mark.parametrize(("width", "size"), [("1h", HOUR), ("1m", 60)])
def test_hour_and_minute_buckets_align_and_end_at_now(api, width, size):
    start = SIM_NOW - 5 * size - 7
    buckets = api.ok(USAGE, {"start_time": start, "bucket_width": width})["data"]

    assert buckets[0]["start_time"] == start
    assert buckets[0]["end_time"] == start - start % size + size
    assert all(b["start_time"] % size == 0 for b in buckets[1:])
    assert buckets[-1]["end_time"] == SIM_NOW


def test_a_future_end_time_is_clamped_to_now(api):
    clamped = api.ok(USAGE, {"start_time": TODAY - DAY, "end_time": SIM_NOW + 5 * DAY})
    default = api.ok(USAGE, {"start_time": TODAY - DAY})
    assert clamped == default
    assert clamped["data"][-1]["end_time"] == SIM_NOW
    assert clamped["has_more"] is False


def test_an_end_time_in_the_past_ends_the_last_bucket(api):
    end = TODAY - DAY + 5 * HOUR
    buckets = api.ok(USAGE, {"start_time": TODAY - 3 * DAY, "end_time": end})["data"]
    assert buckets[-1]["start_time"] == TODAY - DAY
    assert buckets[-1]["end_time"] == end


def test_periods_before_the_data_come_back_as_empty_buckets(api, sim_org):
    start = sim_org.origin - 10 * DAY
    buckets = api.ok(USAGE, {"start_time": start, "limit": 10})["data"]
    assert len(buckets) == 10
    assert all(b["results"] == [] for b in buckets)


def test_quiet_hours_come_back_as_empty_buckets(api, sim_org):
    start = SIM_NOW - 12 * HOUR - SIM_NOW % HOUR
    buckets = api.ok(
        USAGE,
        {
            "start_time": start,
            "bucket_width": "1m",
            "limit": 720,
            "api_key_ids": sim_org.directory.xss_key_id,
        },
    )["data"]
    assert len(buckets) == 720
    assert any(b["results"] == [] for b in buckets)
    assert any(b["results"] for b in buckets)


def test_a_start_at_or_after_now_returns_no_buckets(api):
    page = api.ok(USAGE, {"start_time": SIM_NOW + 60})
    assert page == {"object": "page", "data": [], "has_more": False, "next_page": None}


def test_costs_buckets_are_whole_days_including_today(api):
    buckets = api.ok("/organization/costs", {"start_time": TODAY - 2 * DAY + 13 * HOUR})["data"]
    assert [(b["start_time"], b["end_time"]) for b in buckets] == [
        (TODAY - 2 * DAY, TODAY - DAY),
        (TODAY - DAY, TODAY),
        (TODAY, TODAY + DAY),
    ]


GROUP_FORMS = [
    [("group_by", "model"), ("group_by", "api_key_id")],
    [("group_by[]", "model"), ("group_by[]", "api_key_id")],
    [("group_by", "model,api_key_id")],
]


@pytest.mark.parametrize("form", GROUP_FORMS)
def test_arrays_are_accepted_repeated_bracketed_and_comma_joined(api, form):
    base = [("start_time", TODAY - 2 * DAY)]
    reference = api.ok(USAGE, [*base, *GROUP_FORMS[0]])
    answer = api.ok(USAGE, [*base, *form])
    assert answer == reference
    assert any(r["model"] and r["api_key_id"] for b in answer["data"] for r in b["results"])


def test_filter_arrays_are_accepted_in_every_form(api, sim_org):
    project_ids = [p.id for p in sim_org.projects()][:2]
    base = [("start_time", TODAY - 2 * DAY), ("group_by", "project_id")]
    forms = [
        [("project_ids", pid) for pid in project_ids],
        [("project_ids[]", pid) for pid in project_ids],
        [("project_ids", ",".join(project_ids))],
    ]
    answers = [api.ok(USAGE, [*base, *form]) for form in forms]
    assert answers[0] == answers[1] == answers[2]
    seen = {r["project_id"] for b in answers[0]["data"] for r in b["results"]}
    assert seen == set(project_ids)
