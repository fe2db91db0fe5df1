"""A long by-key, by-owner or by-team report from its materialized period (chalicelib.store.periods).

A daily report of 7, 30 or 90 days ending today, grouped by key, owner or team alone, without
filters and with a top the period's series cover, is summed from: the period (every key's usage
over the window's settled days, one Query), the `AD#key` items of the days after it (today and the
days not settled yet, usually three) and, for the chart, the period's per-day usage of its top
groups (shown keys outside that top: their per-key series, `sources.vouched_series`), with each
day's "Other" row as the day's total minus the shown groups and its count as the day's active
groups minus the shown ones present. Every figure is the one the days' items give: the
period is used only when the stamps of its days still have its fingerprint (`period_aggregate`),
else the report reads the days (chalicelib.query.sources), as it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from chalicelib.money import Settlement
from chalicelib.periods import day_label, day_start
from chalicelib.query.report import Aggregate, Grouper, GroupKey, Names, Record, Totals, rank_order
from chalicelib.query.selection import Selection
from chalicelib.query.sources import Stamps, vouched_series
from chalicelib.store.periods import GROUPINGS, WINDOWS, Grouping, Period, names_digest, read_period
from chalicelib.store.rollups import Item, RollupStore, fingerprint, label_of, members
from chalicelib.usage import Usage

_digests: list[tuple[Names, bytes]] = []  # the digest of the last names asked (one object a minute)


def _names_digest(names: Names) -> bytes:
    if _digests and _digests[0][0] is names:
        return _digests[0][1]
    digest = names_digest(names.identities)
    _digests[:] = [(names, digest)]
    return digest


def _window(selection: Selection) -> int | None:
    """The window a selection asks, when a period could serve it."""
    if selection.bucket_width != "1d" or len(selection.group_by) != 1:
        return None
    filtered = selection.api_key_ids or selection.models or selection.project_ids or selection.teams
    if filtered or selection.group_by[0] not in GROUPINGS or selection.top < 1:
        return None
    days = (selection.end - selection.start) // 86_400
    return days if days in WINDOWS else None


def _difference(whole: Usage, parts: list[Usage]) -> Usage:
    left = whole
    for part in parts:
        left -= part
    return left


@dataclass(frozen=True)
class VouchedPeriod:
    """A stored period whose days' `AD#key` items still have its fingerprint, and the stamps of the
    range read around it: all of them, those of the period's days, and those after and before them."""

    period: Period
    stamps: list[Item]
    settled: list[Item]
    recent: list[Item]
    before: list[Item]


def vouched_period(
    rollups: RollupStore,
    window: int,
    days: tuple[str, str],
    settlement: Settlement,
    stamps: list[Item] | None = None,
) -> VouchedPeriod | None:
    """The materialized period of `window` when it begins on the window's first day `days[0]`, its
    last day is settled under `settlement` and before `days[1]`, and the stamps of its days
    (`RollupStore.aggregate_stamps` of `days`, unless given: a range that may begin earlier) have
    its fingerprint; else None."""
    first, last = days
    if settlement.live:
        return None
    period = rollups.remembered(("period", window), lambda: read_period(rollups.table, window))
    if period is None or period.first != first or period.last >= last or not settlement.settled(period.last):
        return None
    stamps = rollups.aggregate_stamps("AD", "key", first, last) if stamps is None else stamps
    if stamps is None:
        return None
    settled = [s for s in stamps if first <= label_of(s) <= period.last]
    if fingerprint(settled) != period.fingerprint:
        return None
    recent = [s for s in stamps if label_of(s) > period.last]
    before = [s for s in stamps if label_of(s) < first]
    return VouchedPeriod(period, stamps, settled, recent, before)


def period_aggregate(
    selection: Selection,
    rollups: RollupStore,
    names: Names,
    settlement: Settlement,
    *,
    known: Stamps | None = None,
) -> tuple[Aggregate, bytes] | None:
    """The aggregate of `selection` from its materialized period and the `fingerprint` of the
    `AD#key` items it stands for (the report memo's content key, as a read of the items gives it);
    None when no valid period serves it. `known`: stamps already read (the memo's look-up), taken
    when they are the `AD#key` items of the selection's days."""
    window = _window(selection)
    if window is None:
        return None
    grouping = cast(Grouping, selection.group_by[0])
    days = (day_label(selection.start), day_label(selection.end - 1))
    stamps = known.stamps if known is not None and known.span == ("AD", "key", *days) else None
    vouched = vouched_period(rollups, window, days, settlement, stamps)
    if vouched is None:
        return None
    if grouping != "api_key_id" and vouched.period.names_digest != _names_digest(names):
        return None
    recent = rollups.stamped_items(vouched.recent)

    def keys_series(keys: list[str | None]) -> dict[str | None, dict[str, Usage]] | None:
        # shown keys outside the period's per-day top: their series, or the days they are not in
        return settled_days_of(rollups, [str(key) for key in keys], vouched.settled)

    agg = _aggregate(
        selection,
        period=vouched.period,
        grouping=grouping,
        recent=recent,
        names=names,
        settlement=settlement,
        keys_series=keys_series,
    )
    return (agg, fingerprint(vouched.stamps)) if agg is not None else None


MAX_WHOLE_DAYS = 7
"""Settled days read whole for shown keys their series do not vouch for; more: read the days."""


def settled_days_of(
    rollups: RollupStore, keys: list[str], stamps: list[Item]
) -> dict[str | None, dict[str, Usage]] | None:
    """A few keys' usage on each settled day of `stamps` they were active, from their series
    (`sources.vouched_series`) and, for days the series do not vouch for, the days' items."""
    vouched = vouched_series(keys, stamps, rollups)
    if vouched is None:
        return None
    found, unvouched = vouched
    if len({label_of(stamp) for stamp in unvouched}) > MAX_WHOLE_DAYS:
        return None
    for item in rollups.stamped_items(unvouched) if unvouched else []:
        day = label_of(item)
        for key, usage in members(item).items():
            if key in found:
                known = found[key].get(day)
                found[key][day] = known + usage if known is not None else usage
    return {key: of_key for key, of_key in found.items()}


def _aggregate(
    selection: Selection,
    *,
    period: Period,
    grouping: Grouping,
    recent: list[Item],
    names: Names,
    settlement: Settlement,
    keys_series: Callable[[list[str | None]], dict[str | None, dict[str, Usage]] | None],
) -> Aggregate | None:
    grouper = Grouper(selection, names, settlement)
    parts: dict[GroupKey, list[Totals]] = {}
    settled_groups: set[GroupKey] = set()
    for key, usage in period.keys.items():
        group, cost, mask = grouper.classify(Record(0, period.last, usage, key=key))
        parts.setdefault(group, []).append(Totals.of_usage(usage, cost, mask))
        settled_groups.add(group)
    cells: dict[int, dict[GroupKey, Totals]] = {start: {} for start in selection.bucket_starts()}
    for item in recent:
        day = label_of(item)
        bucket = cells.get(day_start(day))
        if bucket is None:
            continue
        for key, usage in members(item).items():
            group, cost, mask = grouper.classify(Record(day_start(day), day, usage, key=key))
            totals = bucket.get(group)
            if totals is None:
                bucket[group] = Totals.of_usage(usage, cost, mask)
            else:
                totals.merge(Totals.of_usage(usage, cost, mask))
    for bucket in cells.values():
        for group, totals in bucket.items():
            parts.setdefault(group, []).append(totals)
    groups = {group: Totals.sum_of(of_group) for group, of_group in parts.items()}
    total = Totals.sum_of(list(groups.values()))
    ranked = [group for group, _ in sorted(groups.items(), key=rank_order)]
    top = selection.top
    shown = ranked[:top] if len(ranked) > top else ranked
    series = period.series[grouping]
    missing = [group[0] for group in shown if group in settled_groups and group[0] not in series]
    if missing:
        if grouping != "api_key_id" or (from_keys := keys_series(missing)) is None:
            return None  # a shown group's settled days are not kept per day: read the days
        series = {**series, **from_keys}
    folded: dict[int, tuple[int, Totals]] = {}
    for day, day_total in period.day_totals.items():
        start = day_start(day)
        if start not in cells:
            continue
        present = [(group, series[group[0]][day]) for group in shown if day in series.get(group[0], {})]
        count = period.day_counts[day][grouping] - len(present)
        for group, usage in present:
            cells[start][group] = Totals.of_usage(usage, usage.billed_usd, 0)
        if count:
            if len(shown) == len(ranked):
                return None  # every group is shown, yet the day had others: not this period's days
            other = _difference(day_total, [usage for _, usage in present])
            folded[start] = (count, Totals.of_usage(other, other.billed_usd, 0))
    return Aggregate(selection, names, settlement, grouper.basis(), cells, groups, ranked, total, folded)
