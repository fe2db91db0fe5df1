"""Chalice wiring: routes, the schedule and middleware. Each handler makes one call into chalicelib.

Access (chalicelib.auth): `/api/health` is public, GET routes need a viewer token, the others an
admin token; `api_middleware` checks it before any handler runs. Every route is wrapped by `handled`,
which maps exceptions to JSON errors by type (chalicelib.responses). CORS (`CORS`) admits only the
stage's DASHBOARD_ORIGIN; API Gateway's preflight answer is rendered from it at deploy time.

Cold start: importing this file loads only what every request needs (Chalice, the logger, the
middleware: auth, errors, settings, boto3). Each handler imports its own chalicelib.query module when
it is first called, so a container's INIT does not load every route's modules (nor the collector's,
the CLI's or the digest's), and a route's first request loads only its own; later calls find them in
`sys.modules`. tests/functional/test_cold_start.py keeps that import graph honest.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from chalice.app import Chalice, CloudWatchEvent, ConvertToMiddleware, Cron, Rate, Response

from chalicelib import responses
from chalicelib.observability import logger
from chalicelib.query import clock
from chalicelib.responses import (
    CORS,
    api_middleware,
    csv_response,
    handled,
    json_response,
    query_params,
)
from chalicelib.settings import get_settings, schedule_minutes
from chalicelib.validation import json_object

app = Chalice(app_name="openai-usage-tracker")
app.register_middleware(
    ConvertToMiddleware(logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST))
)
app.register_middleware(api_middleware, "http")

# GET routes take no body: a stray Content-Type on one is no reason to refuse it (Chalice would: 415).
NO_BODY = ["*/*"]

# The schedule is a deployed resource, so its rate is read when `chalice deploy`/`chalice package`
# import this file: the deploy script exports the stage's COLLECT_SCHEDULE_MINUTES first.
COLLECT_EVERY_MINUTES = schedule_minutes()


def _params() -> dict[str, list[str]]:
    return query_params(app.current_request)


def _body() -> dict[str, Any]:
    request = app.current_request
    return json_object(request.raw_body if request is not None else None)


@app.route("/api/health", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def health() -> Response:
    """Public: reachable, fresh, version."""
    from chalicelib.query.health import health as health_of  # noqa: PLC0415 - lazy: the module docstring

    status, body = health_of(clock.now())
    return json_response(body, status, {"Cache-Control": "no-store"})


@app.route("/api/usage", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def usage() -> Response:
    """Usage buckets, groups and totals for a period."""
    from chalicelib.query.usage import usage_report  # noqa: PLC0415 - lazy: the module docstring

    report = usage_report(_params(), clock.now(), max_bytes=responses.MAX_RESPONSE_BYTES)
    return json_response(report)


@app.route("/api/pools", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def pools() -> Response:
    """Today's complimentary pools against their caps."""
    from chalicelib.query.pools import pools_today  # noqa: PLC0415 - lazy: the module docstring

    return json_response(pools_today(_params(), clock.now()))


@app.route("/api/keys", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def list_keys() -> Response:
    """Key mappings with 30-day usage and budget status."""
    from chalicelib.query.keys import list_keys as keys_report  # noqa: PLC0415 - lazy: the module docstring

    return json_response(keys_report(_params(), clock.now()))


@app.route("/api/keys", methods=["POST"], cors=CORS)
@handled
def create_key() -> Response:
    """Map a key (admin)."""
    from chalicelib.query.keys import create_key as create  # noqa: PLC0415 - lazy: the module docstring

    return json_response(create(_body(), clock.now()), 201)


@app.route("/api/keys/{key_id}", methods=["PATCH"], cors=CORS)
@handled
def update_key(key_id: str) -> Response:
    """Change a key's mapping (admin)."""
    from chalicelib.query.keys import update_key as update  # noqa: PLC0415 - lazy: the module docstring

    return json_response(update(key_id, _body(), clock.now()))


@app.route("/api/keys/{key_id}", methods=["DELETE"], cors=CORS, content_types=NO_BODY)
@handled
def delete_key(key_id: str) -> Response:
    """Remove a key's mapping; its usage stays (admin)."""
    from chalicelib.query.keys import delete_key as delete  # noqa: PLC0415 - lazy: the module docstring

    return json_response(delete(key_id))


@app.route("/api/compare", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def compare() -> Response:
    """Keys side by side over a period."""
    from chalicelib.query.compare import compare_keys  # noqa: PLC0415 - lazy: the module docstring

    return json_response(compare_keys(_params(), clock.now()))


@app.route("/api/reconciliation", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def reconciliation() -> Response:
    """Per billed day, the estimate against the bill, overall and per model."""
    from chalicelib.query.reconciliation import reconciliation as reconcile  # noqa: PLC0415 - lazy: the module docstring

    return json_response(reconcile(_params(), clock.now()))


@app.route("/api/export", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def export() -> Response:
    """The /api/usage selection as CSV."""
    from chalicelib.query.export import export_csv  # noqa: PLC0415 - lazy: the module docstring

    filename, text = export_csv(_params(), clock.now(), max_bytes=responses.MAX_RESPONSE_BYTES)
    return csv_response(filename, text)


@app.route("/api/alerts", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def alerts() -> Response:
    """What is firing now and the alert history."""
    from chalicelib.query.alerts import alerts_report  # noqa: PLC0415 - lazy: the module docstring

    return json_response(alerts_report(_params(), clock.now()))


@app.route("/api/forecast", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def forecast() -> Response:
    """Month-end spend forecasts with their range, per group and for the organization."""
    from chalicelib.query.forecast import forecast_report  # noqa: PLC0415 - lazy: the module docstring

    return json_response(forecast_report(_params(), clock.now()))


@app.route("/api/hygiene", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def key_hygiene() -> Response:
    """Keys unused, due for rotation, orphaned or unowned, with their 30-day spend."""
    from chalicelib.query.hygiene import hygiene_report  # noqa: PLC0415 - lazy: the module docstring

    return json_response(hygiene_report(_params(), clock.now()))


@app.route("/api/whoami", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def whoami() -> Response:
    """The caller's role (the dashboard shows its admin controls from this)."""
    from chalicelib.query import admin  # noqa: PLC0415 - lazy: the module docstring

    request = app.current_request
    header = request.headers.get("authorization") if request is not None else None
    return json_response(admin.whoami(header, open_reads=get_settings().open_read_routes))


@app.route("/api/tokens", methods=["GET"], cors=CORS, content_types=NO_BODY)
@handled
def list_tokens() -> Response:
    """Every dashboard/API token, never the tokens themselves (admin)."""
    from chalicelib.query import admin  # noqa: PLC0415 - lazy: the module docstring

    return json_response(admin.list_tokens())


@app.route("/api/tokens", methods=["POST"], cors=CORS)
@handled
def create_token() -> Response:
    """Create a viewer token, shown in this answer only (admin)."""
    from chalicelib.query import admin  # noqa: PLC0415 - lazy: the module docstring

    return json_response(admin.create_viewer_token(_body(), clock.now()), 201)


@app.route("/api/tokens/{token_id}", methods=["DELETE"], cors=CORS, content_types=NO_BODY)
@handled
def revoke_token(token_id: str) -> Response:
    """Revoke a token by its id (admin)."""
    from chalicelib.query import admin  # noqa: PLC0415 - lazy: the module docstring

    return json_response(admin.revoke_token(token_id, clock.now()))


@app.route("/api/mappings/import", methods=["POST"], cors=CORS)
@handled
def import_mappings() -> Response:
    """Import a `{"key_...": "Name"}` mappings file (or a full export), all or nothing (admin)."""
    from chalicelib.query import admin  # noqa: PLC0415 - lazy: the module docstring

    return json_response(admin.import_mappings(_body(), clock.now()))


@app.schedule(Rate(COLLECT_EVERY_MINUTES, unit=Rate.MINUTES), name="collect")
def collect(event: CloudWatchEvent) -> dict[str, Any]:
    """Every few minutes: read OpenAI's usage and costs into the rollups, then evaluate alerts; the
    Lambda context's remaining time bounds the calls to OpenAI."""
    from chalicelib.runner import scheduled_collect  # noqa: PLC0415 - only this Lambda needs it

    return asdict(scheduled_collect(context=event.context))


# Daily at 06:00 UTC: the weekly digest goes out on Mondays, the monthly one on the 1st (each caught
# up the next day if missed), once per period through the alert ledger (chalicelib.digest_send).
@app.schedule(Cron(0, 6, "*", "*", "?", "*"), name="digest")
def digest(event: CloudWatchEvent) -> dict[str, Any]:
    """Every day: send the digests that are due and not yet sent."""
    from chalicelib.digest_send import scheduled_digest  # noqa: PLC0415 - only this Lambda needs it

    return scheduled_digest().as_dict()
