"""`/api/reconciliation` and the CLI's `reconcile`: how good the estimate is, per billed day.

For each settled day of the period, the estimate (price table) against OpenAI's bill, overall and per
model or line item, with the gap in percent (chalicelib.money.reconcile owns the arithmetic); a day
whose gap passes the stage setting `RECONCILE_GAP_PERCENT` (default 5) is flagged, naming the models
that explain it. Reads the daily model aggregates (one Query) and the checkpoint.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.money import Settlement, gap_percent, reconcile
from chalicelib.periods import DAY, day_label, floor_day, iso
from chalicelib.query.usage import Stores
from chalicelib.settings import Settings, get_settings
from chalicelib.validation import Params, integer, normalize

RECONCILE_PARAMS = ("start_time", "end_time")
DEFAULT_DAYS = 30
MAX_DAYS = 366


def period(params: Params, now: int) -> tuple[int, int]:
    """[start, end) in whole UTC days; default the last DEFAULT_DAYS days, today included."""
    params = normalize(params, RECONCILE_PARAMS)
    today_end = floor_day(now) + DAY
    start = integer(params, "start_time")
    end = integer(params, "end_time")
    start = floor_day(start) if start is not None else today_end - DEFAULT_DAYS * DAY
    end = end if end is not None else today_end
    end = floor_day(end) + (DAY if end % DAY else 0)
    if end <= start:
        raise InvalidInput("end_time", f"must be after start_time ({start}), got {end}")
    if end - start > MAX_DAYS * DAY:
        raise InvalidInput("end_time", f"at most {MAX_DAYS} days from start_time")
    return start, end


def reconciliation(
    params: Params, now: int, *, stores: Stores | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """`GET /api/reconciliation`: the billed days of the period, estimate against bill."""
    settings = settings or get_settings()
    stores = stores or Stores.default()
    start, end = period(params, now)
    checkpoint = stores.meta.checkpoint()
    settlement = Settlement(checkpoint.costs_as_of)
    days = stores.rollups.daily_aggregates("model", day_label(start), day_label(end - 1))
    threshold = settings.reconcile_gap_percent
    rows = reconcile(days, settlement, threshold)
    estimated = sum((Decimal(row["estimated_usd"]) for row in rows), Decimal(0))
    billed = sum((Decimal(row["billed_usd"]) for row in rows), Decimal(0))
    before = settlement.settled_before()
    return {
        "object": "reconciliation",
        "start_time": start,
        "end_time": end,
        "settled_before": iso(before) if before is not None else None,
        "threshold_percent": threshold,
        "days": rows,
        "flagged_days": [row["day"] for row in rows if row["flagged"]],
        "total": {
            "estimated_usd": format(estimated.normalize() if estimated else Decimal(0), "f"),
            "billed_usd": format(billed.normalize() if billed else Decimal(0), "f"),
            "gap_usd": format((estimated - billed).normalize() if estimated - billed else Decimal(0), "f"),
            "gap_percent": gap_percent(estimated, billed),
        },
    }
