"""One declaration per usage kind and per measure (chalicelib/kinds.py): everything that lists kinds or
measures follows it, and each declaration is complete (stored, priced, documented, read)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from chalicelib.catalog import PRICE_FIELDS, PriceTable
from chalicelib.cli.reports import tool_cells, tool_headers
from chalicelib.collector import usage_of_row
from chalicelib.kinds import KIND_OF, KINDS, MEASURE_LIST, MEASURES, PER_CALL
from chalicelib.money import Settlement
from chalicelib.openai_api import USAGE_GROUPINGS, USAGE_KINDS
from chalicelib.query.export import header
from chalicelib.query.report import BUCKET_METRICS, Names, Record, build_report
from chalicelib.query.selection import Selection
from chalicelib.query.sources import LIVE_KINDS
from chalicelib.usage import FIELD_NAMES, STORED_NAMES, Usage
from simulator.org import USAGE_GROUP_FIELDS
from simulator.traffic import FIELDS as SIM_FIELDS

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
START = 1_794_614_400  # 2026-11-14T00:00:00Z
ON = date(2026, 11, 14)


def _properties(schema: str) -> set[str]:
    return set(SPEC["components"]["schemas"][schema]["properties"])


def test_each_kind_and_measure_is_declared_once():
    assert len({kind.name for kind in KINDS}) == len(KINDS)
    assert len({measure.field for measure in MEASURES}) == len(MEASURES)
    assert len({measure.name for measure in MEASURES}) == len(MEASURES)


def test_every_measure_is_a_usage_counter_with_a_stored_name():
    for measure in MEASURES:
        assert measure.field in FIELD_NAMES, measure
        assert measure.field in STORED_NAMES, measure


def test_the_reader_asks_for_every_kind_grouped_as_declared_and_as_the_api_allows():
    assert tuple(kind.name for kind in KINDS) == USAGE_KINDS
    assert {kind.name: kind.group_by for kind in KINDS} == USAGE_GROUPINGS
    for kind in KINDS:  # the simulator types each kind's group_by values as openai==3.51.0 does
        assert set(kind.group_by) <= set(USAGE_GROUP_FIELDS[kind.name]), kind.name


def test_every_per_call_kind_counts_one_row_field_into_a_per_call_measure():
    per_call_fields = {measure.field for measure in PER_CALL}
    counted = set()
    for kind in KINDS:
        if kind.counter is None:
            continue
        field, source = kind.counter
        assert field in per_call_fields, kind.name
        assert source in SIM_FIELDS[kind.name], kind.name  # a field the API's rows carry
        usage = usage_of_row({source: 7, "num_model_requests": 5}, kind.name)
        assert usage == Usage(**{field: 7 * kind.hours}), kind.name  # never its model requests
        counted.add(field)
    assert counted == per_call_fields  # every per-call measure is read from some kind


def test_the_live_view_reads_the_hourly_kinds_only():
    assert tuple(kind.name for kind in KINDS if kind.width == "1h") == LIVE_KINDS
    assert KIND_OF["vector_stores"].width == "1d"
    assert "vector_stores" not in LIVE_KINDS


def test_every_per_call_measure_is_priced_by_the_packaged_table_at_its_own_unit():
    table = PriceTable.load("")
    for measure in PER_CALL:
        assert measure.price is not None
        assert measure.price.field in PRICE_FIELDS
        priced_unit = measure.scale * int(measure.price.per)  # the stored count one price is for
        rate = table.estimate_usd("unattributed", Usage(**{measure.field: priced_unit}), ON)
        assert rate is not None, measure.name
        assert rate > 0, measure.name
        twice = table.estimate_usd("gpt-5", Usage(**{measure.field: 2 * priced_unit}), ON)
        assert twice == 2 * rate, measure.name  # whatever model a row names


def test_the_api_spec_documents_every_measure():
    assert {measure.name for measure in MEASURES} <= _properties("Metrics")
    assert {measure.name for measure in PER_CALL} <= _properties("BucketRow")
    assert "measures" in _properties("UsageReport")


def test_the_report_lists_its_per_call_measures_and_carries_them_in_every_row():
    usage = Usage(input_tokens=10, web_searches=3, vector_store_byte_hours=48 * 1_000_000_000)
    selection = Selection(START, START + 86400, "1d", ("api_key_id",), top=0)
    record = Record(bucket=START, day="2026-11-14", usage=usage, key="key_ada", model="gpt-5", project="proj")

    report = build_report(selection, [record], Names(), Settlement(None), data_as_of=None)

    assert report["measures"] == list(MEASURE_LIST)
    assert [measure["id"] for measure in report["measures"]] == list(BUCKET_METRICS[-len(PER_CALL) :])
    row = report["buckets"][0]["results"][0]
    assert row["web_searches"] == 3
    assert row["vector_store_gb_days"] == 2.0
    assert report["total"]["vector_store_gb_days"] == 2.0
    assert {measure["id"] for measure in report["measures"]} <= set(report["groups"][0])


def test_the_csv_and_the_cli_take_their_measure_columns_from_the_declarations():
    selection = Selection(START, START + 86400, "1d", (), top=0)
    assert header(selection)[-len(MEASURES) :] == [measure.name for measure in MEASURES]
    total = {measure.name: 1 for measure in PER_CALL}
    assert tool_headers(total) == [measure.header for measure in PER_CALL]
    assert tool_headers({"web_searches": 0}) == []
    row = {"web_searches": 1234, "vector_store_gb_days": 2.5}
    cells = dict(zip(tool_headers(total), tool_cells(row, total), strict=True))
    assert cells["WEB SEARCHES"] == "1,234"
    assert cells["STORAGE GB-DAYS"] == "2.500"
    assert cells["SESSIONS"] == "0"
