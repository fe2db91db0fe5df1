"""Parsing a usage question: snapping, limits, lists in every spelling, and what each error names."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.query.selection import parse_selection
from chalicelib.query.sources import plan
from chalicelib.validation import BodyTooLarge, integer, json_object, listed, normalize

NOW = 1_795_169_820  # 2026-11-20T10:17:00Z
DAY = 86_400


def _parse(**params):
    return parse_selection(
        {name: value if isinstance(value, list) else [str(value)] for name, value in params.items()}, NOW, 35
    )


def test_a_daily_period_snaps_outward_to_whole_days_and_ends_now_by_default():
    selection = _parse(start_time=NOW - 3 * DAY)

    assert selection.start == NOW - NOW % DAY - 3 * DAY
    assert selection.end == NOW - NOW % DAY + DAY
    assert selection.bucket_width == "1d"
    assert selection.group_by == ()


def test_hourly_and_minute_periods_snap_to_their_width():
    hourly = _parse(start_time=NOW - 5000, end_time=NOW, bucket_width="1h")
    minutes = _parse(start_time=NOW - 3601, end_time=NOW - 1, bucket_width="1m")

    assert (hourly.start % 3600, hourly.end % 3600) == (0, 0)
    assert minutes.start == NOW - 3660
    assert minutes.end == NOW


def test_groupings_keep_their_order_and_drop_repeats():
    selection = _parse(start_time=NOW - DAY, group_by=["team,model", "team"])

    assert selection.group_by == ("team", "model")


def test_none_means_no_grouping():
    assert _parse(start_time=NOW - DAY, group_by="none").group_by == ()


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"start_time": "x"}, "start_time"),
        ({"start_time": NOW, "end_time": NOW - 1}, "end_time"),
        ({"start_time": NOW - 32 * DAY, "bucket_width": "1h"}, "end_time"),
        ({"start_time": NOW - 367 * DAY}, "end_time"),
        ({"start_time": NOW - 7 * 3600, "bucket_width": "1m"}, "end_time"),
        ({"start_time": NOW - 36 * DAY, "end_time": NOW - 35 * DAY, "bucket_width": "1h"}, "start_time"),
        ({"start_time": NOW - DAY, "bucket_width": "1w"}, "bucket_width"),
        ({"start_time": NOW - DAY, "group_by": "user_id"}, "group_by"),
        ({"start_time": NOW - DAY, "group_by": "model,none"}, "group_by"),
        ({"start_time": NOW - DAY, "api_key_ids": "proj_1"}, "api_key_ids"),
        ({"start_time": NOW - DAY, "project_ids": "a#b"}, "project_ids"),
        ({"start_time": NOW - DAY, "colour": "red"}, "colour"),
    ],
)
def test_each_bad_parameter_is_named(params, param):
    with pytest.raises(InvalidInput) as caught:
        _parse(**params)

    assert caught.value.param == param


@pytest.mark.parametrize(
    ("group_by", "filters", "expected"),
    [
        ((), {}, "model"),
        (("api_key_id",), {}, "key"),
        (("owner", "team"), {"teams": ("research",)}, "key"),
        (("pool",), {"models": ("gpt-4o",)}, "model"),
        (("project_id",), {}, "project"),
        (("api_key_id", "model"), {}, "detail"),
        (("model",), {"api_key_ids": ("key_a",)}, "detail"),
        ((), {"project_ids": ("p",)}, "project"),
    ],
)
def test_the_plan_reads_aggregates_when_one_dimension_answers(group_by, filters, expected):
    selection = _parse(start_time=NOW - DAY)
    assert plan(replace(selection, group_by=group_by, **filters)) == expected


def test_lists_accept_commas_repeats_and_brackets_and_keep_unique_values():
    params = normalize({"models[]": ["a,b"], "models": ["b", " c ", ""]}, {"models"}, {"models"})

    assert listed(params, "models") == ("a", "b", "c")


def test_brackets_are_refused_on_single_valued_parameters():
    with pytest.raises(InvalidInput) as caught:
        normalize({"start_time[]": ["1"]}, {"start_time"}, {"models"})

    assert caught.value.param == "start_time[]"


@pytest.mark.parametrize("raw", ["1e3", "0x10", "１２", "+-1", " ", "9" * 25])
def test_integers_are_plain_ascii_digits(raw):
    with pytest.raises(InvalidInput):
        integer({"n": [raw]}, "n")


def test_json_bodies_are_bounded_objects_with_decimal_numbers():
    assert json_object(b'{"amount": 12.5}') == {"amount": Decimal("12.5")}
    with pytest.raises(BodyTooLarge):
        json_object(b"{}" + b" " * 20_000)
    for bad in (b"[]", b"null", b"{", b'{"a": Infinity}', b"\xff"):
        with pytest.raises(InvalidInput):
            json_object(bad)
