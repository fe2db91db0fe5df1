"""API Gateway stage throttling: the request rate in front of the API Lambda, for every route.

Chalice's config has no throttling setting, so `python -m deploy deploy` sets it on the REST API's
stage after `chalice deploy` (`apply`), and `python -m deploy package` puts the same numbers in the
template (`method_settings`, merged into Chalice's `RestAPI`). The numbers are generous for
dashboards (a page view is a handful of requests) and stop a runaway client long before the API
Lambda's concurrency or the table's bill notice; the live 1m path has its own, tighter budgets of
OpenAI calls (chalicelib.query.live).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from deploy.chalice_cmd import deployed_record

RATE_LIMIT = 25  # requests per second, steady, across all callers
BURST_LIMIT = 50  # requests at once


def rest_api_id(project_dir: Path, stage: str) -> str | None:
    """The REST API's id from the deployed record; None when no REST API was deployed."""
    for resource in (deployed_record(project_dir, stage) or {}).get("resources", []):
        if resource.get("resource_type") == "rest_api" and resource.get("rest_api_id"):
            return str(resource["rest_api_id"])
    return None


def apply(apigateway: Any, api_id: str, stage_name: str, out: TextIO = sys.stdout) -> None:
    """Set the stage's default method throttling (every resource and method: `/*/*`)."""
    apigateway.update_stage(
        restApiId=api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(RATE_LIMIT)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(BURST_LIMIT)},
        ],
    )
    print(f"  API stage {stage_name!r} throttled to {RATE_LIMIT} requests/s (burst {BURST_LIMIT})", file=out)


def method_settings() -> list[dict[str, Any]]:
    """The same throttling as SAM `MethodSettings` of the packaged `RestAPI`."""
    return [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": RATE_LIMIT,
            "ThrottlingBurstLimit": BURST_LIMIT,
        }
    ]
