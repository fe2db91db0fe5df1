"""The report's arithmetic: settlement, cost basis, flags, labels and the CSV."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.periods import DAY, day_label
from chalicelib.query.export import csv_lines, filename, safe_text
from chalicelib.query.report import SETTLE_HOURS, Names, Record, Settlement, build_report
from chalicelib.query.selection import Selection
from chalicelib.store.directory import KeyIdentity
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


def test_hourly_reports_and_per_project_billing_use_estimates():
    record = Record(
        START, day_label(START), Usage(billed_usd=Decimal(1), estimated_usd=Decimal(2)), "key_ada"
    )
    late = Settlement(START + 10 * DAY)

    hourly = build_report(Selection(START, START + 3600, "1h", ()), [record], NAMES, late, data_as_of=None)
    by_key = _report([record], settlement=Settlement(START + 10 * DAY, billed_by_key=False))
    by_model = _report(
        [record], group_by=("model",), settlement=Settlement(START + 10 * DAY, billed_by_key=False)
    )

    assert (hourly["cost_basis"], hourly["total"]["cost_usd"]) == ("estimated", "2")
    assert (by_key["cost_basis"], by_key["total"]["cost_usd"]) == ("estimated", "2")
    assert by_model["cost_basis"] == "billed_when_settled"


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
    report = build_report(selection, records, NAMES, Settlement(None), data_as_of=None)

    lines = csv_lines(selection, report)

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
