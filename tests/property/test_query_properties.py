"""Properties of the usage report over generated records (pure: no AWS).

- buckets, groups and the total describe the same usage, whatever the grouping;
- reading aggregates of one dimension gives the report reading the detail gives (the query plan is
  an optimisation, never a change of answer);
- a filter keeps exactly the usage of what it names.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.dimensions import BASE_OF, DIMENSIONS
from chalicelib.keys.model import KeyIdentity
from chalicelib.money import Settlement
from chalicelib.periods import DAY, day_label
from chalicelib.query.report import Names, Record, build_report
from chalicelib.query.selection import Selection
from chalicelib.usage import Usage

START = 1_794_614_400  # 2026-11-14T00:00:00Z
DAYS = 4
KEYS = ("key_a1", "key_b2", "key_c3", "unattributed")
MODELS = ("gpt-4o-mini-2024-07-18", "gpt-5", "o1-pro", "unattributed", "mystery-model")
PROJECTS = ("proj_x", "proj_y", "unattributed")
COUNTERS = ("input_tokens", "output_tokens", "cached_tokens", "requests", "total_tokens", "unpriced_tokens")
NAMES = Names(
    identities={
        "key_a1": KeyIdentity(
            "key_a1", "Ada", "ada", "research", "proj_x", None, None, True, "mapping", True
        ),
        "key_b2": KeyIdentity(
            "key_b2", "Bob", None, "platform", "proj_y", None, None, True, "directory", True
        ),
    }
)

usages = st.builds(
    Usage,
    input_tokens=st.integers(0, 10**6),
    output_tokens=st.integers(0, 10**6),
    cached_tokens=st.integers(0, 1000),
    requests=st.integers(0, 100),
    estimated_usd=st.decimals(0, 100, places=6),
    billed_usd=st.decimals(0, 100, places=6),
    unpriced_tokens=st.integers(0, 10),
)
cells = st.tuples(st.sampled_from(KEYS), st.sampled_from(MODELS), st.sampled_from(PROJECTS))
details = st.dictionaries(st.tuples(st.integers(0, DAYS - 1), cells), usages, max_size=30)
groupings = st.lists(st.sampled_from(DIMENSIONS), max_size=3, unique=True).map(tuple)
settlements = st.sampled_from(
    [Settlement(None), Settlement(START + 3 * DAY + 48 * 3600), Settlement(START + 10 * DAY)]
)


def _records(detail: dict) -> list[Record]:
    return [
        Record(START + day * DAY, day_label(START + day * DAY), usage, key, model, project)
        for (day, (key, model, project)), usage in detail.items()
    ]


def _aggregates(records: list[Record], dim: str) -> list[Record]:
    """What the AD#<dim> items hold: one Usage per day and member."""
    summed: dict[tuple[int, str, str], Usage] = defaultdict(Usage)
    for record in records:
        member = {"key": record.key, "model": record.model, "project": record.project}[dim]
        summed[(record.bucket, record.day, member)] += record.usage
    return [Record(bucket, day, usage, **{dim: member}) for (bucket, day, member), usage in summed.items()]


def _selection(group_by: tuple = (), top: int = 10, **filters: tuple) -> Selection:
    return Selection(
        start=START, end=START + DAYS * DAY, bucket_width="1d", group_by=group_by, top=top, **filters
    )


def _sum(rows: list[dict]) -> dict[str, int | Decimal]:
    out: dict[str, int | Decimal] = {name: 0 for name in COUNTERS}
    out["cost_usd"] = Decimal(0)
    for row in rows:
        for name in COUNTERS:
            out[name] += row[name]
        out["cost_usd"] += Decimal(row["cost_usd"])
    return out


def _metrics(metrics: dict) -> dict[str, int | Decimal]:
    return {**{name: metrics[name] for name in COUNTERS}, "cost_usd": Decimal(metrics["cost_usd"])}


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(details, groupings, settlements, st.sampled_from([0, 1, 2, 10]))
def test_buckets_groups_and_total_describe_the_same_usage(detail, group_by, settlement, top):
    report = build_report(_selection(group_by, top), _records(detail), NAMES, settlement, data_as_of=None)

    total = _metrics(report["total"])
    assert _sum(report["groups"]) == total
    assert _sum([row for bucket in report["buckets"] for row in bucket["results"]]) == total
    ungrouped = build_report(_selection(), _records(detail), NAMES, settlement, data_as_of=None)
    assert _metrics(ungrouped["total"]) == total
    if total["total_tokens"]:
        assert abs(sum(row["share_tokens"] for row in report["groups"]) - 1) < 1e-4
    shown = {tuple(row["group"].values()) for row in report["groups"][:top]} if top else None
    for bucket in report["buckets"]:
        rows = [row for row in bucket["results"] if not row.get("other")]
        assert shown is None or all(tuple(row["group"].values()) in shown for row in rows)
        assert len(bucket["results"]) - len(rows) <= (1 if top else 0)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(details, st.sampled_from(DIMENSIONS), settlements)
def test_aggregates_of_one_dimension_answer_as_the_detail_does(detail, dim, settlement):
    selection = _selection((dim,))
    records = _records(detail)

    from_detail = build_report(selection, records, NAMES, settlement, data_as_of=None)
    from_aggregates = build_report(
        selection, _aggregates(records, BASE_OF[dim]), NAMES, settlement, data_as_of=None
    )

    assert from_aggregates == from_detail


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(details, st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
def test_a_key_filter_keeps_exactly_the_usage_of_those_keys(detail, keys):
    records = _records(detail)
    by_key = build_report(_selection(("api_key_id",)), records, NAMES, Settlement(None), data_as_of=None)

    filtered = build_report(
        _selection(api_key_ids=tuple(keys)), records, NAMES, Settlement(None), data_as_of=None
    )

    kept = [row for row in by_key["groups"] if row["group"]["api_key_id"] in keys]
    assert _metrics(filtered["total"]) == _sum(kept)
