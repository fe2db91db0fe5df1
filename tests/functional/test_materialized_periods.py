"""Materialized periods (chalicelib.store.periods, chalicelib.query.period) on DynamoDB Local with the
simulator: a long by-key, by-owner or by-team view summed from its period is the view the days give,
figure for figure; a changed day or a changed team is read from the days until the collector sums
the period again; the collector's run keeps the periods and rewrites nothing when nothing changed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from chalicelib.catalog import PriceTable
from chalicelib.collector import CollectorConfig
from chalicelib.keys.model import Budget, KeyMapping
from chalicelib.money import Settlement
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.query.names import forget_names
from chalicelib.query.period import period_aggregate
from chalicelib.query.report import report_of
from chalicelib.query.selection import Selection
from chalicelib.query.usage import NAMES_CACHE, Stores, aggregate_for, report_for
from chalicelib.runner import Runner
from chalicelib.settings import get_settings
from chalicelib.store import periods
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.periods import WINDOWS, materialize, read_period
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional.api_helpers import fill_from_simulator
from tests.functional.collector_helpers import CountingRollups, make_client

pytestmark = pytest.mark.usefixtures("usage_table")

TODAY = floor_day(SIM_NOW)
SETTLED = Settlement(costs_as_of=SIM_NOW)


def _fill(sim_server: Any, days: int | None = None) -> list[str]:
    """The simulator's 31 days (or its last `days`) collected, three keys mapped to two teams; the
    keys, sorted."""
    fill_from_simulator(sim_server, days=days)
    directory = DirectoryStore()
    keys = sorted(directory.directory().keys)
    for index, team in {0: "research", 1: "research", 2: "platform"}.items():
        directory.put_mapping(
            KeyMapping(key_id=keys[index], name=f"Mapped {index}", team=team, created_at=SIM_NOW)
        )
    return keys


def _materialize() -> int:
    """The collector's step as after a backfill: every window checked against its days."""
    identities = DirectoryStore().identities()
    return materialize(RollupStore(), day_label(SIM_NOW), SETTLED, identities, trust_own_writes=False)


def _selection(grouping: str, window: int, top: int = 8) -> Selection:
    return Selection(
        start=TODAY - (window - 1) * DAY, end=TODAY + DAY, bucket_width="1d", group_by=(grouping,), top=top
    )  # type: ignore[arg-type]


def _served_and_read(selection: Selection) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report as `/api/usage` builds it (from the period where one serves) and as the days give it."""
    stores, settings = Stores.default(), get_settings()
    served = report_for(selection, SIM_NOW, stores, settings)
    agg, data_as_of = aggregate_for(selection, SIM_NOW, stores, settings)
    return served, report_of(agg, data_as_of=data_as_of)


def _from_period(selection: Selection) -> bool:
    names = NAMES_CACHE.get(DirectoryStore())
    return period_aggregate(selection, RollupStore(), names, SETTLED) is not None


def test_a_long_view_from_its_period_is_the_view_its_days_give(sim_server: Any) -> None:
    _fill(sim_server)
    assert _materialize() > 0
    for grouping in ("api_key_id", "owner", "team"):
        for window in WINDOWS:
            for top in (1, 2, 8):
                selection = _selection(grouping, window, top)
                assert _from_period(selection), (grouping, window, top)
                served, read = _served_and_read(selection)
                assert served == read, (grouping, window, top)
        # folded days were summed as a difference, and were there to sum
        served, _ = _served_and_read(_selection(grouping, 30, 1))
        assert [row for bucket in served["buckets"] for row in bucket["results"] if row.get("other")]
        assert served["total"]["cost_usd"] != "0"


def test_a_rewritten_settled_day_is_read_from_the_days_until_the_period_is_summed_again(
    sim_server: Any,
) -> None:
    _fill(sim_server)
    _materialize()
    selection = _selection("api_key_id", 30, 2)
    before, _ = _served_and_read(selection)
    day = day_label(TODAY - 10 * DAY)
    usage = Usage(
        input_tokens=5_000_000, requests=3, estimated_usd=Decimal("7.5"), billed_usd=Decimal("7.25")
    )
    rewritten = DayRollup(
        day, daily={Cell(key="key_LateComer1", model="gpt-4o-2024-08-06", project="proj_x"): usage}
    )
    RollupStore().replace_day(rewritten, keep_hourly=False, hourly_retention_days=35)

    assert not _from_period(selection)
    served, read = _served_and_read(selection)
    assert served == read
    assert served["total"] != before["total"]
    assert any(row["group"] == {"api_key_id": "key_LateComer1"} for row in served["groups"])

    assert _materialize() > 0
    assert _from_period(selection)
    again, read = _served_and_read(selection)
    assert again == read == served


def test_a_new_team_is_read_from_the_days_until_the_period_is_summed_again(sim_server: Any) -> None:
    keys = _fill(sim_server, days=12)
    _materialize()
    by_team, by_key = _selection("team", 90, 2), _selection("api_key_id", 90, 2)
    DirectoryStore().put_mapping(KeyMapping(key_id=keys[5], name="Moved", team="finance", created_at=SIM_NOW))
    forget_names()

    assert not _from_period(by_team)
    assert _from_period(by_key)  # a key's rows do not depend on its team
    served, read = _served_and_read(by_team)
    assert served == read
    assert any(row["group"] == {"team": "finance"} for row in served["groups"])

    assert _materialize() > 0
    assert _from_period(by_team)
    assert _served_and_read(by_team) == (served, read)


def test_the_collectors_run_sums_the_periods_and_rewrites_nothing_when_nothing_changed(
    sim_server: Any,
) -> None:
    fill_from_simulator(sim_server, days=8)
    runner = Runner(make_client(sim_server), config=CollectorConfig(), prices=PriceTable.load())

    first = runner.incremental(SIM_NOW)
    assert first.status == "ok"
    assert first.period_items_written > 0
    period = read_period(RollupStore().table, 7)
    assert period is not None
    assert period.last == day_label(MetaStore().checkpoint().costs_as_of - 3 * DAY)  # settled 48 h after
    assert period.keys  # every key's settled days, summed

    again = runner.incremental(SIM_NOW + 15 * 60)
    assert again.status == "ok"
    assert again.period_items_written == 0


def test_a_run_after_a_failed_one_checks_every_day_of_the_periods(sim_server: Any) -> None:
    fill_from_simulator(sim_server, days=8)
    runner = Runner(make_client(sim_server), config=CollectorConfig(), prices=PriceTable.load())
    assert runner.incremental(SIM_NOW).period_items_written > 0
    # a run dies after rewriting a settled day of the week (its own writes are not known to the next)
    day = day_label(TODAY - 5 * DAY)
    usage = Usage(input_tokens=9_000, requests=2, estimated_usd=Decimal("0.5"), billed_usd=Decimal("0.5"))
    cell = Cell(key="key_CrashedRun1", model="gpt-4o-2024-08-06", project="proj_x")
    RollupStore().replace_day(
        DayRollup(day, daily={cell: usage}), keep_hourly=False, hourly_retention_days=35
    )
    MetaStore().record_failure(run_id="crashed", failed_at=SIM_NOW + 60, error="killed")
    selection = _selection("api_key_id", 7, 2)
    assert not _from_period(selection)

    after = runner.incremental(SIM_NOW + 15 * 60)
    assert after.status == "ok"
    assert after.period_items_written > 0
    assert _from_period(selection)
    served, read = _served_and_read(selection)
    assert served == read
    assert any(row["group"] == {"api_key_id": cell.key} for row in served["groups"])


def test_shown_keys_outside_the_periods_per_day_top_are_taken_from_their_series(
    sim_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(sim_server, days=12)
    monkeypatch.setattr(periods, "TOP_SERIES", 1)  # the period keeps one key's, one owner's days
    monkeypatch.setattr(periods, "HELD_SERIES", 1)
    _materialize()
    for grouping, served_by_period in (("api_key_id", True), ("owner", False)):
        selection = _selection(grouping, 7, 4)
        assert _from_period(selection) is served_by_period, grouping
        served, read = _served_and_read(selection)
        assert served == read, grouping
        assert len(served["groups"]) > 4


def _periods() -> dict[int, Any]:
    return {window: read_period(RollupStore().table, window) for window in WINDOWS}


def test_the_next_days_periods_are_the_old_ones_shifted_by_a_day_as_summing_them_whole_gives(
    sim_server: Any,
) -> None:
    keys = _fill(sim_server)
    budget = Budget("monthly", "usd", Decimal("50"))
    DirectoryStore().put_mapping(
        KeyMapping(key_id=keys[4], name="Budgeted", budget=budget, created_at=SIM_NOW)
    )
    identities = DirectoryStore().identities()
    yesterday = SIM_NOW - DAY
    materialize(
        RollupStore(), day_label(yesterday), Settlement(yesterday), identities, trust_own_writes=False
    )

    rollups = CountingRollups()
    assert materialize(rollups, day_label(SIM_NOW), SETTLED, identities, trust_own_writes=False) > 0
    assert rollups.range_reads == 0  # the old periods and the two days left and gained, not 90 days
    shifted = _periods()
    assert all(
        period is not None and period.last == day_label(TODAY - 3 * DAY) for period in shifted.values()
    )
    assert shifted[30].month_keys[keys[4]].billed_usd > 0

    table = RollupStore().table
    for item in table.query(KeyConditionExpression=Key("pk").eq(periods.PK))["Items"]:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    _materialize()
    assert _periods() == shifted
    for grouping in ("api_key_id", "owner", "team"):
        assert _from_period(_selection(grouping, 30, 8))


def test_a_repeated_view_whose_days_changed_reads_their_stamps_once(sim_server: Any) -> None:
    _fill(sim_server)
    _materialize()
    rollups = CountingRollups()
    stores, settings = Stores(rollups, DirectoryStore(), MetaStore()), get_settings()
    selection = _selection("api_key_id", 30)
    kept = report_for(selection, SIM_NOW, stores, settings)
    usage = Usage(input_tokens=1_000, requests=1, estimated_usd=Decimal("0.25"))
    today = DayRollup(
        day_label(TODAY), daily={Cell(key="key_Today1", model="gpt-4o-2024-08-06", project="proj_x"): usage}
    )
    RollupStore().replace_day(today, keep_hourly=False, hourly_retention_days=35)

    rollups.stamp_reads = 0
    served = report_for(selection, SIM_NOW, stores, settings)
    assert rollups.stamp_reads == 1  # the memo's look-up, whose stamps the period's check takes
    assert served != kept
    assert served == _served_and_read(selection)[1]
