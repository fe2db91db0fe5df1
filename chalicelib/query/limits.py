"""The limits the API enforces, as one JSON object that `/api/health` publishes for the dashboard.

The page reads them instead of copying them: how many keys `/api/compare` takes, how long a period
each bucket width may span, how far back hourly rollups reach, and after how long the data is stale.
Each value is the constant (or setting) the validating code itself uses, so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

from chalicelib.query.selection import MAX_SPAN
from chalicelib.settings import Settings

# How many keys `/api/compare` takes (chalicelib.query.compare validates with these). Declared here,
# not there, so that `/api/health` does not import the whole usage report to publish two numbers.
MIN_KEYS = 2
MAX_KEYS = 20


def limits(settings: Settings) -> dict[str, Any]:
    """`limits` of `/api/health`: compare_keys {min, max}, max_span_seconds per bucket width,
    hourly_retention_days, stale_after_seconds."""
    return {
        "compare_keys": {"min": MIN_KEYS, "max": MAX_KEYS},
        "max_span_seconds": dict(MAX_SPAN),
        "hourly_retention_days": settings.hourly_retention_days,
        "stale_after_seconds": settings.stale_after_minutes * 60,
    }
