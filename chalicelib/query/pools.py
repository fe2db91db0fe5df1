"""`/api/pools`: today's complimentary pools, straight from chalicelib.pools (which owns the arithmetic)."""

from __future__ import annotations

from typing import Any

from chalicelib.pools import pool_report
from chalicelib.query.usage import Stores
from chalicelib.settings import Settings, get_settings
from chalicelib.validation import Params, normalize


def pools_today(
    params: Params, now: int, *, stores: Stores | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`GET /api/pools`: the pools of the UTC day of `now` (no parameters)."""
    normalize(params, ())
    stores = stores or Stores.default()
    return pool_report(
        now, settings or get_settings(), stores.rollups, stores.directory, stores.meta
    ).as_dict()
