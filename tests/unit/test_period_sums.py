"""chalicelib.store.periods' arithmetic, pure: the column sums equal one addition at a time, and a
period's owner and team totals are the sums of their keys'."""

from __future__ import annotations

import functools
import operator
from decimal import Decimal

from chalicelib.keys.model import KeyIdentity
from chalicelib.store.periods import SettledDays, build_period
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
