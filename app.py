"""Chalice wiring: routes, the schedule and middleware. Each handler makes one call into chalicelib."""

from __future__ import annotations

import os
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate

app = Chalice(app_name="openai-usage-tracker")

# The schedule is a deployed resource, so its rate is read when `chalice deploy`/`chalice package`
# import this file: the deploy script exports the stage's COLLECT_SCHEDULE_MINUTES first.
COLLECT_EVERY_MINUTES = int(os.environ.get("COLLECT_SCHEDULE_MINUTES", "15"))


@app.schedule(Rate(COLLECT_EVERY_MINUTES, unit=Rate.MINUTES), name="collect")
def collect(event: CloudWatchEvent) -> dict[str, Any]:
    """Every few minutes: read OpenAI's usage and costs into the rollups, then evaluate alerts."""
    from chalicelib.runner import scheduled_collect  # noqa: PLC0415 - only this Lambda needs it

    return scheduled_collect().as_dict()
