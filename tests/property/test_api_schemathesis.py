"""Schemathesis against the running API on loopback: generated requests to every route (valid and
invalid by the spec) find no 5xx and no response outside openapi.yaml.

The API is Chalice's own local HTTP handler (what `chalice local` serves) on a free loopback port, in
this process, on DynamoDB Local filled by the collector from the OpenAI simulator (the last 7 days).
Bounded and deterministic: `MAX_EXAMPLES` per operation and mode, derandomized, no example database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalDevServer
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import app
from chalicelib import auth, aws, store
from chalicelib.query import clock
from chalicelib.query.sources import LIVE_CACHE
from chalicelib.settings import get_settings
from simulator.org import SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY, SIM_NOW, SIM_SPEC
from simulator.server import SimulatorServer
from tests.conftest import unique_name
from tests.functional.api_helpers import DASHBOARD, fill_from_simulator, make_tokens

MAX_EXAMPLES = 75
SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
    with_security_parameters=False,
)


class EveryMethodHandler(ChaliceRequestHandler):
    """Chalice's local handler, also for the methods http.server would answer 501 itself: schemathesis
    probes undeclared methods, and the answer under test is the app's (405), not the harness's."""

    do_TRACE = do_QUERY = do_CONNECT = ChaliceRequestHandler._generic_handle


DATA_START = SIM_NOW - SIM_NOW % 86400 - 6 * 86400  # the first filled day
SPANS = {"1m": 6 * 3600, "1h": 2 * 86400, "1d": 8 * 86400}


@schema.hook
def map_query(_context: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """Move four in five generated periods into the filled days and drop `none` from combined
    groupings (random Unix times almost never make a valid window, and the 200 answers are the ones
    worth checking against the spec); the rest, and every value of the wrong type, go out as drawn."""
    if not query or not isinstance(query.get("start_time"), int) or query["start_time"] % 5 == 1:
        return query
    group_by = query.get("group_by")
    if isinstance(group_by, list) and len(group_by) > 1:
        query["group_by"] = [name for name in dict.fromkeys(group_by) if name != "none"]
    width = query.get("bucket_width", "1d")
    span = SPANS.get(width, SPANS["1d"]) if isinstance(width, str) else SPANS["1d"]
    start = DATA_START + query["start_time"] % (7 * 86400)
    query["start_time"] = start
    if isinstance(query.get("end_time"), int):
        query["end_time"] = start + 1 + query["end_time"] % span
    return query


def _clear() -> None:
    get_settings.cache_clear()
    aws.cache_clear()


@pytest.fixture(scope="module")
def served_api(local_aws: Any) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of the API serving a filled table on loopback."""
    name = unique_name("api-prop")
    with SimulatorServer(SyntheticOrg(SIM_SPEC)) as simulator, pytest.MonkeyPatch.context() as mp:
        mp.setenv("USAGE_TABLE", name)
        mp.setenv("DASHBOARD_ORIGIN", DASHBOARD)
        mp.setenv("OPENAI_BASE_URL", simulator.base_url)
        mp.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
        mp.setattr(clock, "now", lambda: SIM_NOW)
        _clear()
        store.ensure_table()
        fill_from_simulator(simulator, days=7)
        admin, _viewer = make_tokens()
        auth.forget()
        LIVE_CACHE.clear()
        # One request at a time: Chalice's current_request is a plain attribute of the app.
        server = LocalDevServer(
            app, Config.create(), "127.0.0.1", 0, handler_cls=EveryMethodHandler, server_cls=HTTPServer
        )
        thread = threading.Thread(target=server.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server.server_address[1]}", admin
        finally:
            server.shutdown()
            server.server.server_close()
            thread.join(timeout=5)
            aws.dynamodb_client().delete_table(TableName=name)
    _clear()


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_no_generated_request_gets_a_5xx_or_an_answer_outside_the_spec(case, served_api):
    base_url, admin = served_api
    case.call_and_validate(
        base_url=base_url, headers={"Authorization": f"Bearer {admin}"}, checks=CHECKS, timeout=30
    )
