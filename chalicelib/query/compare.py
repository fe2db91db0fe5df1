"""`/api/compare`: chosen keys side by side over a period (tokens, cost, requests, share), in the order
asked, keys without usage included. The same report as `/api/usage?group_by=api_key_id&api_key_ids=...`
at daily width, so the numbers always agree with it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.query.limits import MAX_KEYS, MIN_KEYS
from chalicelib.query.selection import parse_selection
from chalicelib.query.usage import Stores, report_for
from chalicelib.settings import Settings, get_settings
from chalicelib.validation import Params

COMPARE_PARAMS = ("api_key_ids", "start_time", "end_time")


def compare_keys(
    params: Params, now: int, *, stores: Stores | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`GET /api/compare`: `{"keys": [Row], "total": Metrics}` plus the period it covers."""
    settings = settings or get_settings()
    selection = parse_selection(params, now, settings.hourly_retention_days, allowed=COMPARE_PARAMS)
    if not MIN_KEYS <= len(selection.api_key_ids) <= MAX_KEYS:
        raise InvalidInput("api_key_ids", f"give between {MIN_KEYS} and {MAX_KEYS} different key ids")
    selection = replace(selection, group_by=("api_key_id",))
    report = report_for(
        selection,
        now,
        stores or Stores.default(),
        settings,
        always=[(key_id,) for key_id in selection.api_key_ids],
    )
    by_key = {row["group"]["api_key_id"]: row for row in report["groups"]}
    return {
        "object": "comparison",
        "start_time": report["start_time"],
        "end_time": report["end_time"],
        "data_as_of": report["data_as_of"],
        "settled_before": report["settled_before"],
        "cost_basis": report["cost_basis"],
        "keys": [by_key[key_id] for key_id in selection.api_key_ids],
        "total": report["total"],
    }
