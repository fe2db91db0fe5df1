"""`/api/health` (public): whether the tracker's data can be trusted right now, and why not.

200 only when `ok`: the table answers, a collection has succeeded within STALE_AFTER_MINUTES and the
latest run did not fail. Anything else is 503 with a `reason` code and a one-line `detail`, so that
load balancers, uptime checks and the dashboard all see the same verdict. Reveals no table name, no
error text and nothing about tokens or keys: failures are logged, not returned. Its `limits`
(chalicelib.query.limits) tell the dashboard what the other routes accept, before it signs in.
"""

from __future__ import annotations

from typing import Any

from chalicelib import __version__
from chalicelib.observability import logger
from chalicelib.periods import iso
from chalicelib.query.limits import limits
from chalicelib.settings import Settings, get_settings
from chalicelib.store.meta import Checkpoint, MetaStore

# The openai_api module words every 401/403 this way; health names the cause without the message.
_AUTH_PREFIX = "admin key rejected"

_DETAILS = {
    "dynamodb_unreachable": "the API cannot read its table",
    "never_collected": "no collection has succeeded yet",
    "admin_key_rejected": "the last collection failed: OpenAI rejected the admin key",
    "last_run_failed": "the last collection failed",
    "stale": "the last successful collection is older than the staleness limit",
}


def _reason(reachable: bool, checkpoint: Checkpoint, fresh: bool) -> str | None:
    """The most urgent reason the data cannot be trusted, or None when it can."""
    if not reachable:
        return "dynamodb_unreachable"
    # record_success removes last_error, so a present one means no run has succeeded since it failed.
    if checkpoint.last_error is not None:
        return "admin_key_rejected" if checkpoint.last_error.startswith(_AUTH_PREFIX) else "last_run_failed"
    if checkpoint.last_success_at is None:
        return "never_collected"
    return None if fresh else "stale"


def health(
    now: int, *, settings: Settings | None = None, meta: MetaStore | None = None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 with `ok`, else 503 with `degraded` and the reason."""
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
    reason = _reason(reachable, checkpoint, age is not None and age <= stale_after)
    failed_at = checkpoint.last_error_at if checkpoint.last_error is not None else None
    body = {
        "status": "ok" if reason is None else "degraded",
        "reason": reason,
        "detail": _DETAILS[reason] if reason is not None else None,
        "version": __version__,
        "dynamodb": "reachable" if reachable else "unreachable",
        "last_success_at": iso(last) if last is not None else None,
        "age_seconds": age,
        "stale_after_seconds": stale_after,
        "last_failure_at": iso(failed_at) if failed_at is not None else None,
        "consecutive_failures": checkpoint.consecutive_failures if checkpoint.last_error is not None else 0,
        "limits": limits(settings),
    }
    return (200 if reason is None else 503), body
