"""The report's arithmetic: settlement, cost basis, flags, labels and the CSV."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.keys.model import KeyIdentity
from chalicelib.money import SETTLE_HOURS, Settlement
from chalicelib.periods import DAY, day_label
from chalicelib.query.export import csv_lines, filename, safe_text
from chalicelib.query.report import (
    Names,
    Record,
    aggregate,
    build_report,
    other_label,
)
from chalicelib.query.selection import Selection
from chalicelib.usage import Usage

START = 1_794_614_400  # 2026-11-14T00:00:00Z
ADA = KeyIdentity("key_ada", "Ada", "ada", "research", "proj_x", None, None, True, "mapping", True)
NAMES = Names(identities={"key_ada": ADA})


def _record(day: int, key: str = "key_ada", model: str = "gpt-5", **usage) -> Record:
    ts = START + day * DAY
    return Record(ts, day_label(ts), Usage(**usage), key, model, "proj_x")


def _report(records, group_by=("api_key_id",), settlement=None, width="1d"):
    selection = Selection(START, START + 2 * DAY, width, group_by)
    return build_report(selection, records, NAMES, settlement or Settlement(None), data_as_of=START)


def test_a_day_is_settled_once_costs_were_read_48_hours_after_it_ended():
    day = day_label(START)
    end = START + DAY

    assert not Settlement(end + SETTLE_HOURS * 3600 - 1).settled(day)
    assert Settlement(end + SETTLE_HOURS * 3600).settled(day)
    assert not Settlement(None).settled(day)
    assert Settlement(end + SETTLE_HOURS * 3600).settled_before() == end


def test_settled_days_cost_the_billed_amount_and_others_the_estimate():
    records = [
        _record(0, input_tokens=10, billed_usd=Decimal("1.5"), estimated_usd=Decimal("2")),
        _record(1, input_tokens=10, billed_usd=Decimal("0"), estimated_usd=Decimal("3")),
    ]

    report = _report(records, settlement=Settlement(START + DAY + SETTLE_HOURS * 3600))

    assert [bucket["provisional"] for bucket in report["buckets"]] == [False, True]
    assert [bucket["results"][0]["cost_usd"] for bucket in report["buckets"]] == ["1.5", "3"]
    assert report["total"]["cost_usd"] == "4.5"
    assert report["groups"][0]["flags"] == ["provisional"]


def test_hourly_reports_and_per_project_billing_use_the_same_rule_as_daily_ones():
    # Behaviour changed with chalicelib.money: hours carry their share of the day's bill (the
    # collector apportions it), so a settled hour costs its billed share at every width and grouping.
    record = Record(
        START, day_label(START), Usage(billed_usd=Decimal(1), estimated_usd=Decimal(2)), "key_ada"
    )
    late = Settlement(START + 10 * DAY)

    hourly = build_report(Selection(START, START + 3600, "1h", ()), [record], NAMES, late, data_as_of=None)
    by_key = _report([record], settlement=Settlement(START + 10 * DAY, billed_by_key=False))
    live = build_report(
        Selection(START, START + 60, "1m", ()), [record], NAMES, Settlement(None, live=True), data_as_of=None
    )

    assert (hourly["cost_basis"], hourly["total"]["cost_usd"]) == ("billed_when_settled", "1")
    assert (by_key["cost_basis"], by_key["total"]["cost_usd"]) == ("billed_when_settled", "1")
    assert (live["cost_basis"], live["total"]["cost_usd"]) == ("estimated", "2")


def test_flags_name_unpriced_unmapped_and_unattributed_rows():
    records = [
        _record(0, key="key_ghost", unpriced_tokens=5, input_tokens=5),
        _record(0, key="unattributed", input_tokens=1),
    ]

    rows = {row["group"]["api_key_id"]: row for row in _report(records)["groups"]}

    assert rows["key_ghost"]["flags"] == ["provisional", "unpriced", "unmapped"]
    assert rows["unattributed"]["flags"] == ["provisional", "unattributed"]
    assert rows["unattributed"]["label"] == "Unattributed (no API key)"


def test_labels_use_names_and_say_when_a_key_has_no_owner_or_team():
    records = [_record(0, input_tokens=1), _record(0, key="key_other", input_tokens=1)]

    report = _report(records, group_by=("team", "owner", "pool"))

    labels = sorted(row["label"] for row in report["groups"])
    assert labels == ["(no team) · (no owner) · large", "research · ada · large"]


def test_the_csv_has_one_line_per_bucket_and_group_and_a_dated_file_name():
    records = [_record(0, input_tokens=10), _record(1, key="key_other", input_tokens=3)]
    selection = Selection(START, START + 2 * DAY, "1d", ("api_key_id",))
    agg = aggregate(selection, records, NAMES, Settlement(None))

    lines = csv_lines(selection, agg)

    assert lines[0][:6] == [
        "period_start_utc",
        "period_end_utc",
        "api_key_id",
        "key_name",
        "key_owner",
        "key_team",
    ]
    assert [line[:4] for line in lines[1:]] == [
        ["2026-11-14", "2026-11-15", "key_ada", "Ada"],
        ["2026-11-15", "2026-11-16", "key_other", "key_other"],
    ]
    assert filename(selection) == "usage-2026-11-14-2026-11-15.csv"
    assert safe_text("-1+1") == "'-1+1"


def test_buckets_list_the_top_groups_of_the_period_and_one_other_row_summing_the_rest():
    # key_0 is the largest over the period, key_4 the smallest; on day 1 key_4 outspends key_0.
    records = [
        _record(0, key=f"key_{i}", input_tokens=100 - i, estimated_usd=Decimal(10 - i)) for i in range(5)
    ]
    records.append(_record(1, key="key_4", input_tokens=50, estimated_usd=Decimal(50)))
    records.append(_record(1, key="key_3", input_tokens=7, estimated_usd=Decimal("0.5")))
    selection = Selection(START, START + 2 * DAY, "1d", ("api_key_id",), top=2)

    report = build_report(selection, records, NAMES, Settlement(None), data_as_of=None)

    assert [row["group"]["api_key_id"] for row in report["groups"]] == [
        "key_4",
        "key_0",
        "key_1",
        "key_2",
        "key_3",
    ]
    assert report["top"] == 2
    assert report["other_groups"] == 3
    first, second = report["buckets"]
    assert [row["group"]["api_key_id"] for row in first["results"]] == ["key_4", "key_0", None]
    other = first["results"][-1]
    assert other["other"] is True
    assert other["label"] == "Other (3 keys)"
    assert other["other_groups"] == 3
    assert other["input_tokens"] == 99 + 98 + 97
    assert other["cost_usd"] == "24"
    assert [row.get("other", False) for row in second["results"]] == [False, True]
    assert second["results"][1]["label"] == "Other (1 key)"
    assert (
        sum(row["total_tokens"] for b in report["buckets"] for row in b["results"])
        == report["total"]["total_tokens"]
    )
    assert set(first["results"][0]) == {"group", *BUCKET_FIELDS}


BUCKET_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "total_tokens",
    "requests",
    "unpriced_tokens",
    "billed_usd",
    "estimated_usd",
    "cost_usd",
    "web_searches",  # per-call measures (issue 11): their own fields, never tokens
    "file_searches",
    "code_interpreter_sessions",
    "vector_store_gb_days",
)


def test_top_zero_lists_every_group_in_every_bucket_and_no_other_row():
    records = [_record(0, key=f"key_{i}", input_tokens=10 + i) for i in range(12)]
    selection = Selection(START, START + 2 * DAY, "1d", ("api_key_id",), top=0)

    report = build_report(selection, records, NAMES, Settlement(None), data_as_of=None)

    assert len(report["buckets"][0]["results"]) == 12
    assert report["other_groups"] == 0
    assert not any(row.get("other") for row in report["buckets"][0]["results"])


def test_other_labels_name_the_grouping():
    assert other_label(("model",), 2) == "Other (2 models)"
    assert other_label(("api_key_id",), 1_234) == "Other (1,234 keys)"
    assert other_label(("team", "model"), 5) == "Other (5 groups)"
