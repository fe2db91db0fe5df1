"""Dashboard queries through `chalice.test.Client`: DynamoDB work and handler time per route. The
routes are the dashboard's actual requests (a chart's `top`, a page of the table, the key picker's
first page, the key info of a by-key page), at every period and grouping issue 14 lists.

Each route is called once with byte counting on (the cold pass: first call of this process for that
route, with the names cache and the answer memos emptied first, so no in-process cache helps it),
then `runs` more times for the timings (bytes off, requests still counted, to see whether a warm
container reads less).
Reads need no token: the bench sets `OPEN_READ_ROUTES=true`, so the viewer-token lookup (one
GetItem, cached per container) is not in the counts. The API's clock (`chalicelib.query.clock.now`)
is pinned to the simulator's clock. Handler time is the wall time of `client.http.get`, which
includes Chalice's local gateway.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode

from bench.instrument import DynamoMeter, S3Meter
from chalicelib import aws
from chalicelib.periods import DAY, floor_day
from chalicelib.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
STAGE = "bench"  # not in .chalice/config.json: the test client adds only the top-level variables
MAX_SECONDS_PER_ROUTE = 15.0  # a slow request gets fewer timed runs (at least MIN_RUNS)
MIN_RUNS = 3


# The dashboard's own requests (frontend/js/refresh.js, compare.js): the chart's `top` series and one
# page of the table (`limit`); the key picker's first page by 30-day spend; by key, the key info of
# the table's page (`key_ids`). Kept in step with the frontend by hand: they are what users meet.
DASHBOARD_TOP = 8  # refresh.js CHART_SERIES
DASHBOARD_ROWS = 50  # state.js state.rows
PICKER_KEYS = 25  # compare.js PICKER_KEYS
GROUPINGS = ("api_key_id", "owner", "team", "model", "pool", "project_id")
PAGE_KEYS_OF = "usage 30 days by api_key_id"  # the by-key table whose page's key info is measured
PICKER_OF = "keys"  # the key picker's first page: the keys a comparison is made of
# What a user compares by default: the top of the picker (largest 30-day spend first), 2 and 8 keys,
# over the page's periods (comparison.js: `api_key_ids`, `start_time`, `end_time`, daily width).
COMPARE_KEYS = (2, 8)
PERIODS = (("today", 1, "1h"), ("7 days", 7, "1d"), ("30 days", 30, "1d"), ("90 days", 90, "1d"))


@dataclass(frozen=True)
class Route:
    """One dashboard request: a name for the table and the path with its query string."""

    name: str
    path: str
    period_days: int | None = None  # for the 30-day targets
    first_load: str | None = None  # which of the dashboard's four first-load requests this is


def routes(now: int) -> list[Route]:
    """The measured requests, periods as the dashboard computes them (whole UTC days up to now)."""
    today = floor_day(now)
    found: list[Route] = []
    page = {"top": DASHBOARD_TOP, "limit": DASHBOARD_ROWS}
    for label, days, width in PERIODS:
        for group in GROUPINGS:
            query = {"start_time": today - (days - 1) * DAY, "end_time": now, "bucket_width": width}
            path = f"/api/usage?{urlencode({**query, 'group_by': group, **page})}"
            if (label, group) == ("today", "owner"):  # the page's default view
                found.append(Route("usage today by owner (dashboard default)", path, 1, "usage_default"))
            else:
                found.append(Route(f"usage {label} by {group}", path, days))
    today_query = {"start_time": today, "end_time": now}
    found += [
        Route("pools", "/api/pools", first_load="pools"),
        Route("keys", f"/api/keys?{urlencode({'sort': 'cost', 'limit': PICKER_KEYS})}", first_load="keys"),
        Route(
            "usage today by model,pool (dashboard models table)",
            f"/api/usage?{urlencode({**today_query, 'bucket_width': '1d', 'group_by': 'model,pool'})}",
            1,
            first_load="usage_models",
        ),
        # refresh.js asks it first on every load (its `limits`); a 503 (degraded) body is an answer too
        Route("health", "/api/health", first_load="health"),
    ]
    # /api/export: the API's and CLI's CSV of a view (the dashboard's Download CSV buttons are
    # client-side, from the table it shows): the default view, and 30 days by key (every key's line)
    default = {**today_query, "bucket_width": "1h", "group_by": "owner"}
    month = {"start_time": today - 29 * DAY, "end_time": now, "bucket_width": "1d", "group_by": "api_key_id"}
    found += [
        Route("export today by owner (default view)", f"/api/export?{urlencode(default)}", 1),
        Route("export 30 days by api_key_id", f"/api/export?{urlencode(month)}", 30),
    ]
    return found


def compare_routes(body: bytes, now: int) -> list[Route]:
    """The comparisons of the picker's top keys (its first page's body), at every period."""
    try:
        ids = [str(row["key_id"]) for row in json.loads(body)["data"]]
    except (ValueError, KeyError, TypeError):
        return []
    today = floor_day(now)
    found: list[Route] = []
    for count in COMPARE_KEYS:
        if len(ids) < count:
            continue
        for label, days, _ in PERIODS:
            start = today - (days - 1) * DAY
            query = {"api_key_ids": ",".join(ids[:count]), "start_time": start, "end_time": now}
            found.append(Route(f"compare {count} keys {label}", f"/api/compare?{urlencode(query)}", days))
    return found


def page_keys_route(body: bytes) -> Route | None:
    """The by-key table's follow-up request: the key info (budgets) of the keys on its page."""
    try:
        groups = json.loads(body)["groups"]
    except (ValueError, KeyError, TypeError):
        return None
    ids = [row["group"]["api_key_id"] for row in groups]
    if not ids:
        return None
    return Route("keys of a by-key page (30 days)", f"/api/keys?{urlencode({'key_ids': ','.join(ids)})}", 30)


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@contextmanager
def pinned_clock(now: int) -> Iterator[None]:
    """The API's notion of now, pinned."""
    with mock.patch("chalicelib.query.clock.now", return_value=now):
        yield


def measure_queries(now: int, runs: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Every route once counted, then `runs` timed; the environment must point at the table.
    Also returns the bodies of the dashboard's first-load requests, by `Route.first_load`."""
    from chalice.test import Client  # noqa: PLC0415 - the bench's other parts need no Chalice

    import app as app_module  # noqa: PLC0415 - imported with the bench's environment in place

    get_settings.cache_clear()
    aws.cache_clear()
    meter = DynamoMeter(measure_bytes=True)
    meter.attach(aws.dynamodb_table().meta.client)
    meter.attach(aws.dynamodb_client())
    s3 = S3Meter()  # the materialized answers (chalicelib.store.answers) a route reads
    s3.attach(aws.s3_client())
    results: list[dict[str, Any]] = []
    bodies: dict[str, bytes] = {}
    with pinned_clock(now), Client(app_module.app, stage_name=STAGE, project_dir=str(ROOT)) as client:
        for route in routes(now):
            result, body = _measure_route(client, (meter, s3), route, runs)
            results.append(result)
            if route.first_load:
                bodies[route.first_load] = body
            follow: list[Route] = []
            if result["status"] == 200 and route.name == PAGE_KEYS_OF:
                follow += [r for r in [page_keys_route(body)] if r is not None]
            if result["status"] == 200 and route.name == PICKER_OF:
                follow += compare_routes(body, now)
            for extra in follow:
                results.append(_measure_route(client, (meter, s3), extra, runs)[0])
    return {"now": now, "runs": runs, "routes": results}, bodies


def _get(client: Any, path: str) -> tuple[int, bytes, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.http.get(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    body = response.body or b""
    return response.status_code, body if isinstance(body, bytes) else str(body).encode(), wall, cpu


def _measure_route(
    client: Any, meters: tuple[DynamoMeter, S3Meter], route: Route, runs: int
) -> tuple[dict[str, Any], bytes]:
    from chalicelib.query.export import EXPORT_MEMO  # noqa: PLC0415 - imported with the app
    from chalicelib.query.memo import ANSWER_MEMO, REPORT_MEMO, VIEW_MEMO  # noqa: PLC0415
    from chalicelib.query.names import forget_names  # noqa: PLC0415

    forget_names()  # a container that has cached nothing: no names, no answers of earlier routes
    for memo in (REPORT_MEMO, VIEW_MEMO, EXPORT_MEMO, ANSWER_MEMO):
        memo.clear()
    meter, s3 = meters
    meter.measure_bytes = True
    before, s3_before = meter.snapshot(), s3.snapshot()
    status, body, cold_wall, cold_cpu = _get(client, route.path)
    cold, s3_cold = meter.snapshot().minus(before), s3.snapshot().minus(s3_before)
    meter.measure_bytes = False
    walls: list[float] = []
    cpus: list[float] = []
    warm: Mapping[str, Any] = {}
    started = time.perf_counter()
    while len(walls) < runs and (
        len(walls) < MIN_RUNS or time.perf_counter() - started < MAX_SECONDS_PER_ROUTE
    ):
        before = meter.snapshot()
        status_n, _, wall, cpu = _get(client, route.path)
        warm = meter.snapshot().minus(before).as_dict()
        status = status if status != 200 else status_n
        walls.append(wall)
        cpus.append(cpu)
    result = {
        "name": route.name,
        "path": route.path,
        "period_days": route.period_days,
        "first_load": route.first_load,
        "status": status,
        "error": None if status == 200 else body[:300].decode("utf-8", "replace"),
        "response_bytes": len(body),
        "dynamodb": cold.as_dict(),
        "dynamodb_warm": dict(warm),
        "s3": s3_cold.as_dict(),
        "cold_ms": round(cold_wall * 1000, 1),
        "cold_cpu_ms": round(cold_cpu * 1000, 1),
        "runs": len(walls),
        "p50_ms": round(percentile(walls, 0.5) * 1000, 1),
        "p95_ms": round(percentile(walls, 0.95) * 1000, 1),
        "cpu_p50_ms": round(statistics.median(cpus) * 1000, 1),
    }
    return result, body
