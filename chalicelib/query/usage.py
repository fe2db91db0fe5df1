"""`/api/usage`, `/api/export` and `python -m chalicelib.cli usage`: one code path from parameters to
the report. Reads: the checkpoint (one GetItem; `coverage` one more and a META Query), the records
(`sources.plan`), and names only when the grouping shows them (MAP + DIR, cached per process for a
minute: chalicelib.query.names).

`max_bytes` (the API passes its response limit; the CLI none) refuses a report whose size is
predictable from its row counts before its rows and JSON are built (ResponseTooLarge). With `top`
capping the bucket rows, only `top=0` (every group in every bucket) or very long hourly periods get
near the limit.

`limit`/`offset`/`search` (chalicelib.query.paging) send a page of `groups`, in rank order, with
`group_count` (the groups matching `search`); the page is cut from the whole report (kept in the
report memo, so paging through a view reads no more than a repeat), and `total`, `buckets`, `top`
and `other_groups` stay those of every group."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.catalog import PriceTable
from chalicelib.errors import ResponseTooLarge
from chalicelib.money import Settlement
from chalicelib.query.coverage import coverage
from chalicelib.query.memo import REPORT_MEMO
from chalicelib.query.names import NAMES_CACHE
from chalicelib.query.paging import PAGE_PARAMS, Page, cut, parse_page
from chalicelib.query.period import period_aggregate
from chalicelib.query.report import (
    KEY_DIMENSIONS,
    Aggregate,
    GroupKey,
    Names,
    Record,
    aggregate,
    report_of,
)
from chalicelib.query.selection import LIST_PARAMS, USAGE_PARAMS, Selection, parse_selection
from chalicelib.query.sources import live_records, read_stored, stored_stamps
from chalicelib.settings import Settings, get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import RollupStore, fingerprint
from chalicelib.validation import Params, normalize

if TYPE_CHECKING:
    from chalicelib.openai_api import OpenAIAdminClient

LIVE_TIMEOUT_SECONDS = 8.0  # API Gateway gives up after 29 s; six kinds must fit well inside
LIVE_MAX_ATTEMPTS = 2
LIVE_DEADLINE_SECONDS = 20.0  # all of a live read's calls and waits: an answer before API Gateway's 29 s
NO_NAMES = Names()  # one object, so reports without names are found in the report memo
# Lower bounds of a report's parts as JSON, so a prediction never refuses what would fit.
BUCKET_BYTES = 60
BUCKET_ROW_BYTES = 170
GROUP_ROW_BYTES = 330
# A page is cut from the whole report, built (and kept) in memory: 10,000 keys by key fits with room;
# key x model at thousands of keys is refused, as it was before paging, paged or not.
MAX_PAGED_GROUPS = 25_000


@dataclass(frozen=True)
class Stores:
    """The stores a query reads; `Stores.default()` uses the table of the current settings."""

    rollups: RollupStore
    directory: DirectoryStore
    meta: MetaStore

    @classmethod
    def default(cls) -> Stores:
        """Stores on the configured table."""
        return cls(RollupStore(), DirectoryStore(), MetaStore())


def load_names(selection: Selection, directory: DirectoryStore) -> Names:
    """The names a report shows: none for model/pool groupings; else the cached identities and
    project names (chalicelib.query.names), or, for a report of a few keys (`api_key_ids`, no team
    filter, no project grouping), those keys' names."""
    wants_keys = bool(selection.teams) or any(dim in KEY_DIMENSIONS for dim in selection.group_by)
    if not wants_keys and "project_id" not in selection.group_by:
        return NO_NAMES
    few = selection.api_key_ids and not selection.teams and "project_id" not in selection.group_by
    return NAMES_CACHE.get(directory, frozenset(selection.api_key_ids) if few else None)


def too_large(size: int, max_bytes: int, what: str = "answer", elsewhere: str = "") -> ResponseTooLarge:
    """The error of an answer over `max_bytes` (predicted or measured); `elsewhere` names another way
    to get it whole."""
    return ResponseTooLarge(
        f"the {what} would be at least {size / 1_000_000:.1f} MB, over the {max_bytes / 1_000_000:.1f} MB "
        "a response may carry: use a wider bucket_width, a shorter period, a smaller top, fewer "
        f"groupings or a filter{elsewhere}"
    )


def predicted_bytes(agg: Aggregate, group_rows: int | None = None) -> int:
    """A lower bound of the report's JSON size, from its row counts (`group_rows`: at most so many
    of `groups` are sent, a page)."""
    top = agg.selection.top
    groups = len(agg.groups) if group_rows is None else min(group_rows, len(agg.groups))
    return len(agg.cells) * BUCKET_BYTES + agg.bucket_rows(top) * BUCKET_ROW_BYTES + groups * GROUP_ROW_BYTES


def _live_client(settings: Settings) -> OpenAIAdminClient:
    # only the 1m path speaks to OpenAI (requests) or needs the key (Secrets Manager)
    from chalicelib.openai_api import OpenAIAdminClient  # noqa: PLC0415
    from chalicelib.secrets import get_admin_key  # noqa: PLC0415

    return OpenAIAdminClient(
        settings.openai_base_url,
        get_admin_key(settings),
        timeout=LIVE_TIMEOUT_SECONDS,
        max_attempts=LIVE_MAX_ATTEMPTS,
        deadline_seconds=LIVE_DEADLINE_SECONDS,
    )


def aggregate_for(
    selection: Selection, now: int, stores: Stores, settings: Settings, *, always: Iterable[GroupKey] = ()
) -> tuple[Aggregate, int | None]:
    """The records of a parsed selection summed (`always`: groups kept even without usage), and the
    time its data is as of."""
    agg, data_as_of, _ = _aggregate_or_memo(selection, now, stores, settings, always=always, memo=False)
    assert agg is not None  # without the memo there is always an aggregate
    return agg, data_as_of


_MemoKey = tuple[Any, ...]


def _aggregate_or_memo(
    selection: Selection,
    now: int,
    stores: Stores,
    settings: Settings,
    *,
    always: Iterable[GroupKey],
    memo: bool,
) -> tuple[Aggregate | None, int | None, tuple[_MemoKey, Names, dict[str, Any] | None] | None]:
    """`aggregate_for`; with `memo`, a stored aggregate read first looks for its finished report in
    REPORT_MEMO (chalicelib.query.memo): then the aggregate is None and the report is returned."""
    always = tuple(always)  # read twice: in the memo key and by aggregate()
    checkpoint = stores.meta.checkpoint()
    records: Iterable[Record] = ()
    data_as_of: int | None = checkpoint.usage_as_of
    settlement = Settlement(checkpoint.costs_as_of, billed_by_key=checkpoint.cost_grouping != "project_id")
    if selection.bucket_width == "1m":
        records = live_records(
            selection,
            now,
            client_factory=lambda: _live_client(settings),
            prices=PriceTable.load(settings.price_overrides),
            base_url=settings.openai_base_url,
        )
        settlement = Settlement(costs_as_of=None, live=True)
        data_as_of = now
    names = load_names(selection, stores.directory)
    kept: tuple[_MemoKey, Names, dict[str, Any] | None] | None = None

    def memo_key(content: bytes) -> _MemoKey:
        return (
            stores.rollups.table.name,
            selection,
            always,
            content,
            checkpoint.costs_as_of,
            checkpoint.cost_grouping,
            checkpoint.usage_as_of,
        )

    if selection.bucket_width != "1m":
        # a repeat is found from the items' stamps (a few bytes each) before the items are read;
        # a selection never kept (a new container) goes straight to the items
        repeat = memo and REPORT_MEMO.knows((stores.rollups.table.name, selection, always))
        stored = stored_stamps(selection, stores.rollups) if repeat else None
        stamped = fingerprint(stored.stamps) if stored is not None else None
        if stamped is not None:
            kept = (memo_key(stamped), names, REPORT_MEMO.get(memo_key(stamped), names))
            if kept[2] is not None:
                return None, data_as_of, kept
        if memo and not always:
            # a long by-key/owner/team view: its materialized period, when one vouches for the days
            from_period = period_aggregate(selection, stores.rollups, names, settlement, known=stored)
            if from_period is not None:
                kept = (memo_key(from_period[1]), names, REPORT_MEMO.get(memo_key(from_period[1]), names))
                return (None if kept[2] is not None else from_period[0]), data_as_of, kept
        read = read_stored(selection, stores.rollups)
        records = read.records
        if memo and read.fingerprint is not None:
            kept = (memo_key(read.fingerprint), names, REPORT_MEMO.get(memo_key(read.fingerprint), names))
            if kept[2] is not None:
                return None, data_as_of, kept
    return aggregate(selection, records, names, settlement, always=always), data_as_of, kept


def report_for(
    selection: Selection,
    now: int,
    stores: Stores,
    settings: Settings,
    *,
    always: Iterable[GroupKey] = (),
    max_bytes: int | None = None,
    group_rows: int | None = None,
) -> dict[str, Any]:
    """The report of a parsed selection (`always`: groups listed even without usage); refused with
    ResponseTooLarge before it is built when it surely exceeds `max_bytes` (with at most
    `group_rows` of its groups sent)."""
    agg, data_as_of, kept = _aggregate_or_memo(selection, now, stores, settings, always=always, memo=True)
    if kept is not None and kept[2] is not None:
        # kept after passing max_bytes' prediction (for a page, maybe: then the rendered answer is
        # measured, chalicelib.responses)
        return kept[2]
    assert agg is not None
    if max_bytes is not None:
        size = predicted_bytes(agg, group_rows)
        if size > max_bytes:
            raise too_large(size, max_bytes)
        if group_rows is not None and len(agg.groups) > MAX_PAGED_GROUPS:
            raise ResponseTooLarge(
                f"the report has {len(agg.groups):,} groups, over the {MAX_PAGED_GROUPS:,} a page is cut "
                "from: use fewer groupings or a filter"
            )
    report = report_of(agg, data_as_of=data_as_of)
    if kept is not None:
        REPORT_MEMO.put(kept[0], kept[1], report)
    return report


def usage_report(
    params: Params,
    now: int,
    *,
    stores: Stores | None = None,
    settings: Settings | None = None,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """`GET /api/usage`: parse the query string, answer from DynamoDB (or OpenAI for 1m); with
    `limit`/`offset`/`search`, a page of its groups (`paged`)."""
    settings = settings or get_settings()
    params = normalize(params, (*USAGE_PARAMS, *PAGE_PARAMS), LIST_PARAMS)
    page = parse_page(params)
    selection = parse_selection(
        {name: values for name, values in params.items() if name not in PAGE_PARAMS},
        now,
        settings.hourly_retention_days,
    )
    stores = stores or Stores.default()
    report = served_usage(selection, page, stores, settings, now)
    if report is None:
        report = page_of(selection, page, now, stores, settings, max_bytes=max_bytes)
    report["coverage"] = coverage(selection.start, selection.end, stores.meta)
    return report


def page_of(
    selection: Selection,
    page: Page,
    now: int,
    stores: Stores,
    settings: Settings,
    *,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """The report of `selection` (`report_for`), cut to `page` when one is asked; no coverage."""
    report = report_for(
        selection, now, stores, settings, max_bytes=max_bytes, group_rows=page.limit if page.asked else None
    )
    return paged(report, page) if page.asked else report


def served_usage(
    selection: Selection, page: Page, stores: Stores, settings: Settings, now: int
) -> dict[str, Any] | None:
    """The report the collector materialized for this request (chalicelib.query.answers), when it
    is one of the dashboard's views and still true; else None."""
    from chalicelib.query import answers, dashboard_views  # noqa: PLC0415 - they import this module

    request = answers.usage_request(selection, page)
    if not settings.views_bucket or request not in dashboard_views.usage_requests(now, settings):
        return None
    return answers.served(
        answers.answer_store(stores, settings),
        "usage",
        request,
        lambda: answers.usage_basis(stores, settings, stores.meta.checkpoint()),
    )


def row_texts(row: dict[str, Any]) -> list[str | None]:
    """What a group row shows, for `search`: its label, each dimension's label and id, and a key's
    name, owner, team and project."""
    texts: list[str | None] = [
        row.get("label"),
        *row.get("labels", {}).values(),
        *row.get("group", {}).values(),
    ]
    key = row.get("key")
    if key:
        texts.extend(key.get(name) for name in ("name", "owner", "team", "project_id", "project_name"))
    return texts


def paged(report: dict[str, Any], page: Page) -> dict[str, Any]:
    """A copy of `report` whose `groups` is the page (the rest, totals included, unchanged), with
    `group_count` and the page asked for."""
    rows, count = cut(report["groups"], page, row_texts)
    return {**report, "groups": rows, **page.fields("group_count", count)}
