"""`coverage` in /api/usage: the days before the first collection are named as uncollected, from the
checkpoint's `collected_from`, which the real runner keeps (backfill chunks, the first incremental
window, backfills recorded before the field existed)."""

from __future__ import annotations

from chalicelib import aws
from chalicelib.catalog import PriceTable
from chalicelib.collector import CollectorConfig
from chalicelib.periods import DAY, day_start, floor_day
from chalicelib.runner import Runner
from chalicelib.store.meta import META, MetaStore
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.collector_helpers import make_client

empty_api = api_helpers.empty_api

TODAY = floor_day(SIM_NOW)


def _usage(api, start: str, end: str) -> dict:
    return api.json(
        "/api/usage",
        {"start_time": day_start(start), "end_time": day_start(end), "bucket_width": "1d"},
    )


def test_before_any_collection_every_day_is_uncollected(empty_api):
    coverage = _usage(empty_api, "2026-11-17", "2026-11-20")["coverage"]

    assert coverage == {
        "collected_from": None,
        "collected_through": None,
        "uncollected_days": ["2026-11-17", "2026-11-18", "2026-11-19"],
    }


def test_a_first_incremental_run_covers_its_window_and_not_the_days_before(empty_api, sim_server):
    runner = Runner(make_client(sim_server), config=CollectorConfig(), prices=PriceTable.load())
    runner.incremental(SIM_NOW)

    coverage = _usage(empty_api, "2026-11-15", "2026-11-21")["coverage"]
    first = MetaStore().checkpoint().collected_from

    assert first is not None
    assert day_start(first) <= TODAY
    assert coverage["collected_from"] == first
    assert coverage["collected_through"] == "2026-11-20T10:17:00Z"
    assert coverage["uncollected_days"] == [
        d
        for d in ("2026-11-15", "2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20")
        if d < first
    ]


def test_a_backfill_moves_the_first_collected_day_back_and_later_runs_keep_it(empty_api, sim_server):
    runner = Runner(make_client(sim_server), config=CollectorConfig(), prices=PriceTable.load())
    runner.backfill(TODAY - 3 * DAY, TODAY + DAY, SIM_NOW)
    runner.incremental(SIM_NOW)
    runner.incremental(SIM_NOW + 900)

    coverage = _usage(empty_api, "2026-11-14", "2026-11-21")["coverage"]

    assert coverage["collected_from"] == "2026-11-17"
    assert coverage["uncollected_days"] == ["2026-11-14", "2026-11-15", "2026-11-16"]


def test_backfills_recorded_before_coverage_existed_count_at_the_next_incremental_run(empty_api, sim_server):
    # A stage upgraded from before `collected_from`: its backfill progress item, no field in the checkpoint.
    aws.dynamodb_table().put_item(
        Item={
            "pk": META,
            "sk": "backfill#2026-11-02#2026-11-19",
            "done_through": "2026-11-19",
            "updated_at": 1,
        }
    )
    assert _usage(empty_api, "2026-11-01", "2026-11-04")["coverage"]["collected_from"] is None

    Runner(make_client(sim_server), config=CollectorConfig(), prices=PriceTable.load()).incremental(SIM_NOW)

    coverage = _usage(empty_api, "2026-11-01", "2026-11-04")["coverage"]
    assert coverage["collected_from"] == "2026-11-02"
    assert coverage["uncollected_days"] == ["2026-11-01"]
