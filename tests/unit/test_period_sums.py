"""chalicelib.store.periods' arithmetic, pure: the column sums equal one addition at a time, and a
period's owner and team totals are the sums of their keys'."""

from __future__ import annotations

import functools
import operator
from decimal import Decimal

from chalicelib.keys.model import KeyIdentity
from chalicelib.store.periods import TOP_SERIES, Period, SettledDays, build_period, shift_period
from chalicelib.usage import ZERO_USAGE, Usage, usage_sum


def _usage(n: int) -> Usage:
    return Usage(
        input_tokens=n * 1000,
        output_tokens=n * 7,
        requests=n,
        estimated_usd=Decimal(n) / Decimal("3.7"),
        billed_usd=Decimal(n * 13) / 10**9,
    )


def test_column_sums_equal_one_addition_at_a_time() -> None:
    parts = [_usage(n) for n in range(1, 40)]
    assert usage_sum(parts) == functools.reduce(operator.add, parts)
    assert usage_sum(parts[:1]) == parts[0]
    assert usage_sum([]) == ZERO_USAGE


def test_a_period_keeps_each_keys_sum_each_days_counts_and_the_top_groups_per_day() -> None:
    identities = {
        "key_a": KeyIdentity(key_id="key_a", name="a", owner="ann", team="red"),
        "key_b": KeyIdentity(key_id="key_b", name="b", owner="ann", team="blue"),
    }
    days = {
        "2026-11-01": {"key_a": _usage(1), "key_b": _usage(5)},
        "2026-11-02": {"key_c": _usage(2)},  # a key nobody named: no owner, no team
        "2026-11-03": {"key_a": _usage(3)},
    }
    settled = SettledDays(days, identities)
    period = build_period(
        7, settled, fingerprint_of_days=b"f", names=b"n", first="2026-11-02", last="2026-11-03"
    )

    assert period.keys == {"key_c": _usage(2), "key_a": _usage(3)}
    assert period.day_counts["2026-11-02"] == {"api_key_id": 1, "owner": 1, "team": 1}
    assert period.day_totals == {"2026-11-02": _usage(2), "2026-11-03": _usage(3)}
    assert period.series["owner"] == {"ann": {"2026-11-03": _usage(3)}, None: {"2026-11-02": _usage(2)}}
    assert settled.counts["2026-11-01"] == {"api_key_id": 2, "owner": 1, "team": 2}


def _whole_and_shifted(
    days: dict[str, dict[str, Usage]],
    old_span: tuple[str, str],
    new_span: tuple[str, str],
    months: tuple[tuple[str, list[str]], tuple[str, list[str]]] = (("", []), ("", [])),
) -> tuple[Period, Period | None]:
    settled = SettledDays(days, {})
    old = build_period(
        7, settled, fingerprint_of_days=b"f", names=b"n", first=old_span[0], last=old_span[1], month=months[0]
    )
    moved = {day: of_day for day, of_day in days.items() if day < new_span[0] or day > old_span[1]}
    shifted = shift_period(
        old,
        SettledDays(moved, {}),
        {},
        fingerprint_of_days=b"g",
        first=new_span[0],
        last=new_span[1],
        month=months[1],
    )
    whole = build_period(
        7, settled, fingerprint_of_days=b"g", names=b"n", first=new_span[0], last=new_span[1], month=months[1]
    )
    return whole, shifted


def test_a_period_shifted_by_a_day_is_the_period_summed_whole() -> None:
    days = {
        "2026-11-01": {"key_gone": _usage(4), "key_a": _usage(1)},  # key_gone: active on the day left only
        "2026-11-02": {"key_a": _usage(2), "key_b": _usage(3)},
        "2026-11-03": {"key_b": _usage(5), "key_new": _usage(9)},  # key_new: the day gained only
    }
    whole, shifted = _whole_and_shifted(days, ("2026-11-01", "2026-11-02"), ("2026-11-02", "2026-11-03"))

    assert shifted == whole
    assert "key_gone" not in shifted.keys
    assert shifted.key_days == {"key_a": 1, "key_b": 2, "key_new": 1}
    assert shifted.keys["key_a"] == _usage(2)


def test_a_shift_keeps_the_groups_near_the_top_and_sums_whole_when_one_climbs_from_further_down() -> None:
    many = {f"key_{n:02d}": _usage(100 - n) for n in range(40)}  # 40 keys: the old period holds 32
    calm = {"2026-11-01": many, "2026-11-02": many, "2026-11-03": {"key_00": _usage(1)}}
    whole, shifted = _whole_and_shifted(calm, ("2026-11-01", "2026-11-02"), ("2026-11-02", "2026-11-03"))
    assert shifted is not None
    assert shifted.keys == whole.keys
    assert list(shifted.series["api_key_id"])[:TOP_SERIES] == list(whole.series["api_key_id"])[:TOP_SERIES]

    # key_39, 40th of the old period (no days held), is first once the new day counts
    climbing = {**calm, "2026-11-03": {"key_39": _usage(10_000)}}
    _, refused = _whole_and_shifted(climbing, ("2026-11-01", "2026-11-02"), ("2026-11-02", "2026-11-03"))
    assert refused is None


def test_a_shift_keeps_the_months_sums_of_monthly_budgets_and_sums_whole_for_one_set_since() -> None:
    days = {
        "2026-11-01": {"key_a": _usage(1), "key_b": _usage(2)},
        "2026-11-02": {"key_a": _usage(3)},
        "2026-11-03": {"key_a": _usage(4), "key_b": _usage(5)},
    }
    spans = ("2026-11-01", "2026-11-02"), ("2026-11-02", "2026-11-03")
    month = ("2026-11-01", ["key_a"])
    whole, shifted = _whole_and_shifted(days, *spans, months=(month, month))
    assert shifted == whole
    assert shifted.month_keys == {"key_a": _usage(3) + _usage(4)}  # the 1st left the window

    budgeted_since = ("2026-11-01", ["key_a", "key_b"])
    _, refused = _whole_and_shifted(days, *spans, months=(month, budgeted_since))
    assert refused is None
