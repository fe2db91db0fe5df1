"""`/api/health` (public): whether the API can read its table and how old the data is. Reveals no table
name, no error text and nothing about tokens or keys: failures are logged, not returned."""

from __future__ import annotations

from typing import Any

from chalicelib import __version__
from chalicelib.observability import logger
from chalicelib.periods import iso
from chalicelib.settings import Settings, get_settings
from chalicelib.store.meta import Checkpoint, MetaStore


def health(
    now: int, *, settings: Settings | None = None, meta: MetaStore | None = None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 with `ok` or `degraded` (stale or never collected), 503 when DynamoDB
    cannot be read."""
    settings = settings or get_settings()
    stale_after = settings.stale_after_minutes * 60
    try:
        checkpoint = (meta or MetaStore()).checkpoint()
        reachable = True
    except Exception:  # any failure to read is "unreachable"; the details go to the log only
        logger.exception("health: the checkpoint could not be read")
        checkpoint, reachable = Checkpoint(), False
    last = checkpoint.last_success_at
    age = max(now - last, 0) if last is not None else None
    fresh = age is not None and age <= stale_after
    body = {
        "status": "ok" if reachable and fresh else "degraded",
        "version": __version__,
        "dynamodb": "reachable" if reachable else "unreachable",
        "last_success_at": iso(last) if last is not None else None,
        "age_seconds": age,
        "stale_after_seconds": stale_after,
    }
    return (200 if reachable else 503), body
