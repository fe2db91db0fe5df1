"""Answers the collector materializes: the dashboard's usual views, computed once after each run and
kept in S3 (chalicelib.store.answers), so that any API container, one that has cached nothing
included, serves them with a few small reads instead of reading and summing every key's items.

An answer is kept with its basis: everything it was computed from that can change without the
request changing. It is served only when the basis, read again, is the same:

    format       ANSWER_FORMAT (raised when an answer's shape or meaning changes)
    settings     a digest of the settings reports read (price overrides, hourly retention)
    checkpoint   the whole checkpoint (chalicelib.store.meta): every run that writes aggregates moves
                 it (a success its `usage_as_of`, a failure its error fields, a backfill chunk its
                 `rewrites`), and it holds the settlement and `data_as_of` of every report
    generations  the directory's and mappings' generations (chalicelib.store.directory_snapshot):
                 every key edit or directory sync moves one, so names are as fresh as a read
    (keys only)  the day (budget periods) and a digest of the unmapped keys as listed

The aggregate items' stamps would tell their content exactly, but a Query of them costs the read
units of the whole items (~250 at 10,000 keys), and every write of them is a run's or a backfill's,
which moves the checkpoint. A run killed in the middle of its writes moves nothing: the answers of
the last run stay served, as of their `data_as_of`, until the next run. So a served answer costs
two GetItems and the object (`/api/keys`: and one small Query of the unmapped keys).

The basis is read before the answer is computed, so an answer can only be older than its basis
claims, never newer: a write racing the collector changes what a reader finds and the reader
computes the view itself, as it did before answers existed. A missing, torn or unreadable answer is
the same: the view is computed. Answers are an optimisation; they never decide a figure.

Which requests are materialized: chalicelib.query.dashboard_views.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.observability import logger
from chalicelib.periods import day_label
from chalicelib.query.memo import ANSWER_MEMO
from chalicelib.query.paging import Page
from chalicelib.query.selection import Selection
from chalicelib.settings import Settings
from chalicelib.store.answers import AnswerStore
from chalicelib.store.meta import Checkpoint

if TYPE_CHECKING:
    from chalicelib.query.usage import Stores

ANSWER_FORMAT = 1
Basis = dict[str, Any]


def answer_store(stores: Stores, settings: Settings) -> AnswerStore | None:
    """The answers of the stores' table, or None when no bucket is configured (VIEWS_BUCKET)."""
    if not settings.views_bucket:
        return None
    return AnswerStore(settings.views_bucket, stores.rollups.table.name)


def _settings_digest(settings: Settings) -> str:
    # the settings a stored report reads (the collector's and the API's environment are the stage's)
    read = (settings.price_overrides, settings.hourly_retention_days)
    return hashlib.sha256(repr(read).encode()).hexdigest()[:16]


def _common(stores: Stores, settings: Settings, checkpoint: Checkpoint) -> Basis | None:
    generations = stores.directory.generations()
    if generations is None:
        return None  # a table written before generations: names are only known by reading them
    return {
        "format": ANSWER_FORMAT,
        "settings": _settings_digest(settings),
        "checkpoint": repr(checkpoint),
        "generations": list(generations),
    }


def usage_request(selection: Selection, page: Page) -> str:
    """The canonical text of a usage report's request (its answer's name)."""
    return repr(("usage", selection, page))


def usage_basis(stores: Stores, settings: Settings, checkpoint: Checkpoint) -> Basis | None:
    """What a usage report of the aggregates is computed from, as stored now; None when names
    cannot be told unchanged without reading them."""
    return _common(stores, settings, checkpoint)


def keys_request(now: int, sort: str, page: Page, key_ids: frozenset[str]) -> str:
    """The canonical text of a `/api/keys` page's request."""
    return repr(("keys", day_label(now), sort, page, tuple(sorted(key_ids))))


def keys_basis(now: int, stores: Stores, settings: Settings, checkpoint: Checkpoint) -> Basis | None:
    """What `/api/keys` is computed from, as stored now (None: names not told by generations)."""
    common = _common(stores, settings, checkpoint)
    if common is None:
        return None
    unmapped = hashlib.sha256(repr(stores.directory.list_unmapped()).encode()).hexdigest()[:16]
    return {
        **common,
        "day": day_label(now),
        "unmapped": unmapped,
    }


def served(
    store: AnswerStore | None, kind: str, request: str, basis: Callable[[], Basis | None]
) -> dict[str, Any] | None:
    """The kept answer to `request` when the bases of its `kind` (`usage`, `keys`) is `basis()`;
    else None (compute it). The document a container fetched is kept in ANSWER_MEMO while its basis
    holds (then a request it does not hold is simply not materialized); a failing bucket is logged
    and treated as empty."""
    if store is None:
        return None
    now_basis = basis()
    if now_basis is None:
        return None
    kept_as = (store.bucket, store.object_key)
    document = ANSWER_MEMO.get(kept_as)
    if document is None or document.get("bases", {}).get(kind) != now_basis:
        try:
            document = store.get()
        except (ClientError, BotoCoreError) as exc:
            logger.warning("answer_unreadable", extra={"error": type(exc).__name__})
            return None
        if document is None or document.get("bases", {}).get(kind) != now_basis:
            return None
        ANSWER_MEMO.put(kept_as, document)
    answer = document.get("answers", {}).get(request)
    return dict(answer) if isinstance(answer, dict) else None


def keep(store: AnswerStore, bases: dict[str, Basis], answers: dict[str, dict[str, Any]]) -> int:
    """Store a run's answers (by request) with the bases of their kinds; the bytes stored."""
    return store.put({"bases": bases, "answers": answers})  # each basis carries ANSWER_FORMAT
