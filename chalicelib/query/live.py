"""Live 1m reads, shared and bounded: a viewer can never spend the organization's OpenAI rate limit.

A window (base URL, start, end) is answered once a minute: from this instance's memory
(chalicelib.query.sources.LiveCache), else from the table (chalicelib.store.live: what another
API instance fetched; Lambda instances share no memory), else from OpenAI. Only the last costs
OpenAI calls (one round: a call per usage kind), and only it is counted, per UTC minute, first
against the caller's budget (`Settings.live_rounds_per_token`, the caller being the SHA-256 of its
API token, set by the API middleware through `caller`, chalicelib.query.caller), then against the stage's
(`live_rounds_total`). Over either it raises RateLimited before any call: HTTP 429 for the
caller's own budget, 503 for the stage's, both with Retry-After (seconds to the next minute).
Concurrent misses of one window in one instance wait for a single fetch (a per-window lock).

A refused total still counted the caller's round: a caller retrying in a busy minute spends its
own budget too, which is the point. API Gateway's stage throttling (.chalice/config.json, see
deploy/) bounds the request rate in front of all this.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.errors import RateLimited
from chalicelib.observability import logger
from chalicelib.query.caller import CALLER, caller
from chalicelib.query.report import Record
from chalicelib.settings import get_settings
from chalicelib.store.live import LiveStore
from chalicelib.usage import Usage

if TYPE_CHECKING:
    from chalicelib.query.sources import LiveCache

WINDOW_SECONDS = 60  # how long one window's answer is shared (as LIVE_CACHE_SECONDS)
# Wall time for the minute counters and the shared answers' freshness (tests pin it).
wall_clock: Callable[[], float] = time.time

_USAGE_FIELDS = tuple((f.name, f.type == "Decimal") for f in fields(Usage))
_locks: dict[tuple[str, int, int], threading.Lock] = {}
_locks_guard = threading.Lock()


# -- the shared form of a window's records -------------------------------------------------------
def encode(records: tuple[Record, ...]) -> bytes:
    """Records as compressed JSON, usage by field name (robust to fields added meanwhile)."""
    rows = [
        [
            record.bucket,
            record.day,
            record.key,
            record.model,
            record.project,
            {name: str(value) for name, _ in _USAGE_FIELDS if (value := getattr(record.usage, name))},
        ]
        for record in records
    ]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode("utf-8"), 6)


def decode(data: bytes) -> tuple[Record, ...]:
    """Inverse of `encode`; unknown usage fields are ignored."""
    rows: list[list[Any]] = json.loads(zlib.decompress(data).decode("utf-8"))
    kinds = dict(_USAGE_FIELDS)
    out: list[Record] = []
    for bucket, day, key, model, project, counters in rows:
        parsed: dict[str, Any] = {
            name: Decimal(value) if kinds[name] else int(value)
            for name, value in counters.items()
            if name in kinds
        }
        usage = Usage(**parsed)
        out.append(Record(int(bucket), str(day), usage, key, model, project))
    return tuple(out)


# -- the gate ------------------------------------------------------------------------------------
def _lock_of(key: tuple[str, int, int]) -> threading.Lock:
    with _locks_guard:
        if len(_locks) > 256:  # forget idle locks: windows move on every minute
            for stale in [k for k, lock in _locks.items() if not lock.locked()]:
                del _locks[stale]
        return _locks.setdefault(key, threading.Lock())


def _admit(store: LiveStore, now: float) -> None:
    """Count one OpenAI round for the current caller and for the stage, or raise RateLimited."""
    settings = get_settings()
    minute = int(now) // 60
    retry_after = max(1, 60 - int(now) % 60)
    who = CALLER.get()
    if not store.take(f"token:{who}", minute, settings.live_rounds_per_token):
        logger.info("live read refused: caller over its budget", extra={"caller": who[:12]})
        raise RateLimited(
            f"too many live (1m) reads: at most {settings.live_rounds_per_token} new windows a minute "
            f"per token; retry in {retry_after} s or use bucket_width=1h",
            "token",
            retry_after,
        )
    if not store.take("total", minute, settings.live_rounds_total):
        logger.warning("live read refused: stage over its budget", extra={"caller": who[:12]})
        raise RateLimited(
            f"live (1m) reads are at capacity for everyone this minute; retry in {retry_after} s",
            "total",
            retry_after,
        )


def gated_records(
    cache: LiveCache,
    key: tuple[str, int, int],
    fetch: Callable[[], tuple[Record, ...]],
    *,
    store: LiveStore | None = None,
) -> tuple[Record, ...]:
    """The records of window `key` (base URL, start, end): memory, else the table, else `fetch()`
    (counted against the budgets first)."""
    cached = cache.get(key, time.monotonic())
    if cached is not None:
        return cached
    store = store or LiveStore()
    with _lock_of(key):
        cached = cache.get(key, time.monotonic())  # filled while we waited for the lock
        if cached is not None:
            return cached
        now = wall_clock()
        shared = store.window(*key, int(now))
        age = 0.0
        if shared is not None:
            records = decode(shared[0])
            age = WINDOW_SECONDS - (shared[1] - now)  # kept here only as long as it is fresh there
        else:
            _admit(store, now)
            records = fetch()
            if not store.put_window(*key, encode(records), int(now) + WINDOW_SECONDS):
                logger.info("live window too large to share; kept in this instance only")
        cache.put(key, records, time.monotonic() - max(0.0, age))
        return records


__all__ = ["CALLER", "WINDOW_SECONDS", "caller", "decode", "encode", "gated_records"]
