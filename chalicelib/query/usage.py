"""`/api/usage`, `/api/export` and `python -m chalicelib.cli usage`: one code path from parameters to
the report. Reads: the checkpoint (one GetItem), the records (`sources.plan`), and names only when
the grouping shows them (MAP + DIR for keys, owners and teams; DIR alone for projects)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.catalog import PriceTable
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.query.report import KEY_DIMENSIONS, GroupKey, Names, Settlement, build_report
from chalicelib.query.selection import Selection, parse_selection
from chalicelib.query.sources import live_records, stored_records
from chalicelib.settings import Settings, get_settings
from chalicelib.store.directory import DirectoryStore, build_identities
from chalicelib.store.meta import MetaStore
from chalicelib.store.rollups import RollupStore
from chalicelib.validation import Params

LIVE_TIMEOUT_SECONDS = 8.0  # API Gateway gives up after 29 s; six kinds must fit well inside
LIVE_MAX_ATTEMPTS = 2


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
    """The names a report shows: none for model/pool groupings."""
    wants_keys = bool(selection.teams) or any(dim in KEY_DIMENSIONS for dim in selection.group_by)
    if wants_keys:
        synced = directory.directory()
        return Names(build_identities(directory.list_mappings(), synced), synced.projects)
    if "project_id" in selection.group_by:
        return Names(projects=directory.directory().projects)
    return Names()


def _live_client(settings: Settings) -> OpenAIAdminClient:
    from chalicelib.secrets import get_admin_key  # noqa: PLC0415 - only the 1m path needs the key

    return OpenAIAdminClient(
        settings.openai_base_url,
        get_admin_key(settings),
        timeout=LIVE_TIMEOUT_SECONDS,
        max_attempts=LIVE_MAX_ATTEMPTS,
    )


def report_for(
    selection: Selection,
    now: int,
    stores: Stores,
    settings: Settings,
    *,
    always: Iterable[GroupKey] = (),
) -> dict[str, Any]:
    """The report of a parsed selection (`always`: groups listed even without usage)."""
    checkpoint = stores.meta.checkpoint()
    if selection.bucket_width == "1m":
        records = live_records(
            selection,
            now,
            client_factory=lambda: _live_client(settings),
            prices=PriceTable.load(settings.price_overrides),
            base_url=settings.openai_base_url,
        )
        settlement = Settlement(costs_as_of=None, live=True)
        data_as_of: int | None = now
    else:
        records = tuple(stored_records(selection, stores.rollups))
        settlement = Settlement(
            checkpoint.costs_as_of, billed_by_key=checkpoint.cost_grouping != "project_id"
        )
        data_as_of = checkpoint.usage_as_of
    names = load_names(selection, stores.directory)
    return build_report(selection, records, names, settlement, data_as_of=data_as_of, always=always)


def usage_report(
    params: Params, now: int, *, stores: Stores | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`GET /api/usage`: parse the query string, answer from DynamoDB (or OpenAI for 1m)."""
    settings = settings or get_settings()
    selection = parse_selection(params, now, settings.hourly_retention_days)
    return report_for(selection, now, stores or Stores.default(), settings)
