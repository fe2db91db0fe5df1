"""The dashboard's usual requests, and their answers materialized after each collector run
(chalicelib.query.answers).

Materialized: `/api/usage` by key, owner and team for today (hourly), the last 7 and 30 days, this
month and the last 90 days (daily), with the chart's top and the table's first page, exactly as
frontend/js/refresh.js asks them; `/api/keys` as the compare picker asks it (by cost, first page) and
for the keys each by-key page shows (its budgets). Model, pool and project views are small at any
number of keys and are not kept. Other requests (another page, a search, a filter) are computed as
before; so is every request when VIEWS_BUCKET is empty.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ResponseTooLarge
from chalicelib.observability import logger
from chalicelib.periods import DAY, day_label, day_start, floor_day
from chalicelib.query import answers
from chalicelib.query.memo import REPORT_MEMO, VIEW_MEMO
from chalicelib.query.names import NAMES_CACHE
from chalicelib.query.paging import Page
from chalicelib.query.selection import Selection, parse_selection
from chalicelib.query.usage import page_of
from chalicelib.responses import MAX_RESPONSE_BYTES
from chalicelib.settings import Settings
from chalicelib.store.read_once import ReadOnce

if TYPE_CHECKING:
    from chalicelib.query.usage import Stores

CHART_SERIES = 8  # frontend/js/refresh.js CHART_SERIES: the chart's top
TABLE_ROWS = 50  # frontend/js/state.js rows: the table's page
PICKER_KEYS = 25  # frontend/js/compare.js PICKER_KEYS: the compare picker's keys, by cost
GROUPINGS = ("api_key_id", "owner", "team")
DAILY_WINDOWS = (7, 30, 90)  # days ending today; the dashboard's 7d and 30d, and the API's longest
TABLE_PAGE = Page(limit=TABLE_ROWS)
PICKER_PAGE = Page(limit=PICKER_KEYS)


def periods(now: int) -> list[tuple[int, str]]:
    """The (start, bucket width) of each period the dashboard shows, ending now: frontend/js/periods.js."""
    today = floor_day(now)
    found = [(today, "1h"), *((today - (days - 1) * DAY, "1d") for days in DAILY_WINDOWS)]
    month_start = day_start(day_label(now)[:8] + "01")
    days = max(1, -(-(now - month_start) // DAY))  # as periods.js counts them
    month = (month_start, "1h" if days <= 2 else "1d")  # periods.js defaultBucket
    return found if month in found else [*found, month]


def usage_selections(now: int, settings: Settings) -> list[Selection]:
    """The selections of the materialized usage views at `now`."""
    return [
        parse_selection(
            {
                "start_time": [str(start)],
                "end_time": [str(now)],
                "bucket_width": [width],
                "group_by": [grouping],
                "top": [str(CHART_SERIES)],
            },
            now,
            settings.hourly_retention_days,
        )
        for start, width in periods(now)
        for grouping in GROUPINGS
    ]


def usage_requests(now: int, settings: Settings) -> set[str]:
    """The requests (chalicelib.query.answers.usage_request) whose answers are materialized."""
    return {answers.usage_request(selection, TABLE_PAGE) for selection in usage_selections(now, settings)}


def _reading_once(stores: Stores, selections: list[Selection]) -> Stores:
    """`stores` with a rollup store that reads each period, stamp and item once for all the views
    (store.read_once), the daily stamps of the longest period read first so the others are cut
    from them."""
    rollups = ReadOnce(stores.rollups)
    daily = [selection for selection in selections if selection.bucket_width == "1d"]
    if daily:
        first = day_label(min(selection.start for selection in daily))
        rollups.prefetch_stamps("AD", "key", first, day_label(max(s.end for s in daily) - 1))
    return replace(stores, rollups=rollups)


@dataclass
class Materialized:
    """What one materialization did."""

    answers: int = 0
    bytes: int = 0
    skipped: int = 0
    seconds: float = 0.0


def materialize_answers(now: int, stores: Stores, settings: Settings) -> Materialized:
    """Compute and keep the dashboard's answers at `now` (after a run recorded its checkpoint). A
    view too large to send is skipped; with no basis (a table whose names have no generations) or a
    failing bucket nothing is kept: readers compute the views."""
    from chalicelib.query.keys import keys_page_of, list_keys  # noqa: PLC0415 - keys imports the usage module

    done = Materialized()
    store = answers.answer_store(stores, settings)
    if store is None:
        return done
    started = time.perf_counter()
    checkpoint = stores.meta.checkpoint()
    selections = usage_selections(now, settings)
    stores = _reading_once(stores, selections)
    usage_basis = answers.usage_basis(stores, settings, checkpoint)
    keys_basis = answers.keys_basis(now, stores, settings, checkpoint)
    if usage_basis is None or keys_basis is None:  # an older table: names not vouched for unread
        return done
    NAMES_CACHE.clear()  # names read after the generations the bases carry: never older than them
    kept: dict[str, dict[str, Any]] = {}
    shown_keys: list[frozenset[str]] = []
    try:
        for selection in selections:
            try:
                report = page_of(selection, TABLE_PAGE, now, stores, settings, max_bytes=MAX_RESPONSE_BYTES)
            except ResponseTooLarge:
                done.skipped += 1
                continue
            kept[answers.usage_request(selection, TABLE_PAGE)] = report
            if selection.group_by == ("api_key_id",):
                shown_keys.append(frozenset(str(row["group"]["api_key_id"]) for row in report["groups"]))
        entries = list_keys({}, now, stores=stores)["data"]
        for sort, page, wanted in [
            ("cost", PICKER_PAGE, frozenset[str]()),
            *(("name", Page(), ids) for ids in shown_keys),
        ]:
            kept[answers.keys_request(now, sort, page, wanted)] = keys_page_of(entries, sort, page, wanted)
        done.bytes = answers.keep(store, {"usage": usage_basis, "keys": keys_basis}, kept)
        done.answers = len(kept)
    except (ClientError, BotoCoreError) as exc:  # the bucket failing: the views are computed by readers
        logger.warning("answers_not_kept", extra={"error": type(exc).__name__})
    finally:
        # what they were computed from changes with the next run: let a warm collector's memory go
        REPORT_MEMO.clear()
        VIEW_MEMO.clear()
    done.seconds = time.perf_counter() - started
    logger.info("answers_kept", extra={**asdict(done), "seconds": round(done.seconds, 3)})
    return done
