"""`/api/keys` from the 30-day materialized period (chalicelib.query.keys on DynamoDB Local with the
simulator): every key's 30-day usage and budget status is the one the window's days give, field for
field, with daily and monthly budgets, on a month's 31st (whose first day lies before the 30 days),
and after a settled day changed (read from the days until the collector sums the period again)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.keys.model import Budget, KeyMapping
from chalicelib.money import Settlement
from chalicelib.periods import DAY, day_label, day_start, floor_day
from chalicelib.query.keys import list_keys
from chalicelib.query.memo import VIEW_MEMO
from chalicelib.query.usage import Stores
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.periods import PK, materialize
from chalicelib.store.rollups import Cell, DayRollup, RollupStore
from chalicelib.usage import Usage
from simulator.pytest_plugin import SIM_NOW
from tests.functional.api_helpers import fill_from_simulator
from tests.functional.collector_helpers import CountingRollups

pytestmark = pytest.mark.usefixtures("usage_table")

MODEL, PROJECT = "gpt-4o-2024-08-06", "proj_x"


def _fill_with_budgets(sim_server: Any) -> list[str]:
    """The simulator's days collected; three keys with a monthly dollar, a daily token and a monthly
    token budget. The keys, sorted."""
    fill_from_simulator(sim_server)
    directory = DirectoryStore()
    keys = sorted(directory.directory().keys)
    budgets = (
        Budget("monthly", "usd", Decimal("25")),
        Budget("daily", "tokens", Decimal("100000")),
        Budget("monthly", "tokens", Decimal("5000000")),
    )
    for index, budget in enumerate(budgets):
        mapping = KeyMapping(key_id=keys[index], name=f"Budgeted {index}", budget=budget, created_at=SIM_NOW)
        directory.put_mapping(mapping)
    return keys


def _materialize(now: int = SIM_NOW) -> None:
    """The collector's step at `now`: the periods of the windows ending that day, with the Costs data
    read then."""
    identities = DirectoryStore().identities()
    materialize(RollupStore(), day_label(now), Settlement(now), identities, trust_own_writes=False)


def _listed(now: int) -> tuple[list[dict[str, Any]], int]:
    """`/api/keys` as a container serves it the first time, and how many ranges of days it read whole."""
    VIEW_MEMO.clear()
    rollups = CountingRollups()
    answer = list_keys({}, now, stores=Stores(rollups, DirectoryStore(), MetaStore()))
    return answer["data"], rollups.range_reads


def _from_days(now: int) -> list[dict[str, Any]]:
    """`/api/keys` as the window's days give it (every stored period removed first)."""
    table = RollupStore().table
    for item in table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": PK})[
        "Items"
    ]:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    data, reads = _listed(now)
    assert reads == 1
    return data


def _budgeted(data: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["key_id"]: entry["budget_status"] for entry in data if entry["budget_status"]}


def test_keys_from_the_period_are_the_keys_the_days_give(sim_server: Any) -> None:
    keys = _fill_with_budgets(sim_server)
    _materialize()

    served, reads = _listed(SIM_NOW)
    assert reads == 0  # the period and the days after it, not the 30 days
    one = keys[2]
    VIEW_MEMO.clear()
    rollups = CountingRollups()
    entry = list_keys({}, SIM_NOW, stores=Stores(rollups, DirectoryStore(), MetaStore()), only=one)["data"]
    assert rollups.range_reads == 0  # one key's entry (after an edit) from the period too
    assert entry == [row for row in served if row["key_id"] == one]
    expected = _from_days(SIM_NOW)
    assert served == expected
    spent = _budgeted(served)
    assert sorted(spent) == keys[:3]
    assert all(Decimal(status["used"]) > 0 for status in spent.values())
    assert sum(Decimal(entry["usage_30d"]["cost_usd"]) for entry in served) > 0


def test_keys_on_a_months_31st_count_its_first_day_in_the_monthly_budgets(sim_server: Any) -> None:
    keys = _fill_with_budgets(sim_server)
    now = day_start("2026-10-31") + 12 * 3600
    first_of_month = DayRollup(
        "2026-10-01",
        daily={
            Cell(key=keys[0], model=MODEL, project=PROJECT): Usage(
                input_tokens=40_000, requests=2, estimated_usd=Decimal("3.5"), billed_usd=Decimal("3.25")
            ),
            Cell(key="key_OnlyOnTheFirst", model=MODEL, project=PROJECT): Usage(
                input_tokens=7, requests=1, estimated_usd=Decimal("0.01"), billed_usd=Decimal("0.01")
            ),
        },
    )
    RollupStore().replace_day(first_of_month, keep_hourly=False, hourly_retention_days=35)
    _materialize(now)

    served, reads = _listed(now)
    assert reads == 0
    assert served == _from_days(now)
    by_key = {entry["key_id"]: entry for entry in served}
    # the 1st is in the month's budget, not in the 30 days (the 2nd to the 31st)
    assert by_key["key_OnlyOnTheFirst"]["usage_30d"]["requests"] == 0
    assert Decimal(by_key[keys[0]]["budget_status"]["used"]) >= Decimal("3.25")


def test_a_changed_settled_day_is_read_from_the_days_until_the_period_is_summed_again(
    sim_server: Any,
) -> None:
    _fill_with_budgets(sim_server)
    _materialize()
    before, _ = _listed(SIM_NOW)
    late = DayRollup(
        day_label(floor_day(SIM_NOW) - 10 * DAY),
        daily={
            Cell(key="key_LateComer1", model=MODEL, project=PROJECT): Usage(
                input_tokens=5_000_000, requests=3, estimated_usd=Decimal("7.5"), billed_usd=Decimal("7.25")
            )
        },
    )
    RollupStore().replace_day(late, keep_hourly=False, hourly_retention_days=35)

    changed, reads = _listed(SIM_NOW)
    assert reads == 1  # the period no longer stands for its days
    assert changed != before
    assert {entry["key_id"]: entry for entry in changed}["key_LateComer1"]["usage_30d"]["cost_usd"] == "7.25"

    _materialize()
    again, reads = _listed(SIM_NOW)
    assert (again, reads) == (changed, 0)


def test_a_monthly_budget_set_since_the_period_was_summed_counts_the_whole_month(sim_server: Any) -> None:
    keys = _fill_with_budgets(sim_server)
    _materialize()
    budget = Budget("monthly", "usd", Decimal("1"))
    DirectoryStore().put_mapping(
        KeyMapping(key_id=keys[5], name="Budgeted later", budget=budget, created_at=SIM_NOW)
    )

    served, _ = _listed(SIM_NOW)  # its month from its series, or from the days
    assert served == _from_days(SIM_NOW)
    assert Decimal(_budgeted(served)[keys[5]]["used"]) > 0
