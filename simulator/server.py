"""The HTTP face of the simulator: a threaded loopback server speaking OpenAI's admin API.

`SimulatorServer.respond()` turns (method, target, Authorization header) into (status, headers,
body) and is the whole behaviour; the request handler only moves bytes. Order of checks for every
request: count the call, optional delay, injected 429/500, API key, route, scope, parameters.

Realism switches are plain attributes, settable while the server runs:
`rate_limit_every` (every Nth call answers 429 with `Retry-After: retry_after`), `error_every`
(every Mth call answers 500), `delay_seconds` with `slow_every` (every Kth call waits first),
`costs_refuse_api_key_grouping` (older organizations: group_by=api_key_id on costs is a 400) and
`scope_error_status` (403 by default; 401 is also seen for a project key). The Nth call is counted
over all endpoints; `calls` counts per endpoint.
"""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

from simulator.catalog import KINDS
from simulator.errors import ApiError
from simulator.org import SyntheticOrg
from simulator.pages import costs_page, dumps, list_page, usage_page
from simulator.params import QueryArgs, parse_costs, parse_list, parse_owner_access, parse_usage

Response = tuple[int, dict[str, str], bytes]
_USAGE = re.compile(r"/v1/organization/usage/([a-z_]+)")
_API_KEYS = re.compile(r"/v1/organization/projects/([^/]+)/api_keys")
_USAGE_SCOPE = "api.usage.read"
_MANAGEMENT_SCOPE = "api.management.read"
_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


class SimulatorServer:
    """OpenAI's organization admin API for one `SyntheticOrg`, on a loopback port."""

    def __init__(
        self, org: SyntheticOrg, host: str = "127.0.0.1", port: int = 0, admin_key: str | None = None
    ) -> None:
        self.org = org
        self.admin_key = admin_key  # None: any sk-admin-... key is accepted
        self.rate_limit_every: int | None = None
        self.retry_after: int | str = 1  # seconds, or an HTTP date as OpenAI may send
        self.retry_after_ms: int | None = None  # also send `retry-after-ms` (OpenAI sends both)
        self.error_every: int | None = None
        self.delay_seconds = 0.0
        self.slow_every = 1
        self.costs_refuse_api_key_grouping = False
        # edits each 200 payload before it is sent: (path, payload) -> payload (tests corrupt rows)
        self.rewrite: Callable[[str, Any], Any] | None = None
        self.scope_error_status = 403
        self.verbose = False
        self.calls: Counter[str] = Counter()
        self.total_calls = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.host = host
        self._httpd = _HttpServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL should be: `http://127.0.0.1:PORT/v1`."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> SimulatorServer:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="openai-simulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (and pending delays) and release the port."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset_calls(self) -> None:
        """Zero the call counters (and with them the 429/500 rhythm)."""
        with self._lock:
            self.calls.clear()
            self.total_calls = 0

    def respond(self, method: str, target: str, authorization: str | None) -> Response:
        """The complete response to one request."""
        url = urlsplit(target)
        path = url.path.rstrip("/")
        number = self._count(_endpoint(path))
        if self.delay_seconds > 0 and number % max(1, self.slow_every) == 0:
            self._stopping.wait(self.delay_seconds)
        try:
            self._inject_faults(number)
            self._check_key(authorization)
            handler, scope = self._route(method, path)
            self._check_scope(authorization, scope)
            payload = handler(QueryArgs(url.query))
            if self.rewrite is not None:
                payload = self.rewrite(path, payload)
        except ApiError as error:
            return error.status, error.headers, dumps(error.body())
        except Exception:  # a simulator bug: answer as OpenAI would, and show the traceback
            traceback.print_exc()
            failure = ApiError(500, _SERVER_ERROR, error_type="server_error")
            return failure.status, failure.headers, dumps(failure.body())
        return 200, {}, dumps(payload)

    def _count(self, endpoint: str) -> int:
        with self._lock:
            self.calls[endpoint] += 1
            self.total_calls += 1
            return self.total_calls

    def _inject_faults(self, number: int) -> None:
        if self.rate_limit_every and number % self.rate_limit_every == 0:
            raise ApiError(
                429,
                "Rate limit reached for requests in organization. Please try again later.",
                error_type="requests",
                code="rate_limit_exceeded",
                headers={
                    "Retry-After": str(self.retry_after),
                    **({} if self.retry_after_ms is None else {"retry-after-ms": str(self.retry_after_ms)}),
                },
            )
        if self.error_every and number % self.error_every == 0:
            raise ApiError(500, _SERVER_ERROR, error_type="server_error")

    def _check_key(self, authorization: str | None) -> None:
        scheme, _, key = (authorization or "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if _is_admin_key(key, self.admin_key) or _is_project_key(key):
            return
        redacted = f"{key[:6]}{'*' * 10}{key[-4:]}" if len(key) > 10 else key[:3] + "*****"
        raise ApiError(
            401,
            f"Incorrect API key provided: {redacted}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )

    def _check_scope(self, authorization: str | None, scope: str) -> None:
        key = (authorization or "").strip().partition(" ")[2].strip()
        if not _is_admin_key(key, self.admin_key):
            raise ApiError(
                self.scope_error_status,
                f"You have insufficient permissions for this operation. Missing scopes: {scope}. "
                "Check that you have the correct role in your organization (Owner), and if you're using "
                "a restricted API key, that it has the necessary scopes.",
            )

    def _route(self, method: str, path: str) -> tuple[Callable[[QueryArgs], dict[str, Any]], str]:
        handler: Callable[[QueryArgs], dict[str, Any]] | None = None
        scope = _MANAGEMENT_SCOPE
        if match := _USAGE.fullmatch(path):
            kind = match.group(1)
            if kind in KINDS:  # every kind of openai==3.51.0
                handler, scope = functools.partial(self._usage, kind), _USAGE_SCOPE
        elif path == "/v1/organization/costs":
            handler, scope = self._costs, _USAGE_SCOPE
        elif path == "/v1/organization/projects":
            handler = self._projects
        elif path == "/v1/organization/users":
            handler = self._users
        elif match := _API_KEYS.fullmatch(path):
            project_id = match.group(1)
            handler = functools.partial(self._api_keys, project_id)
        if handler is None or method != "GET":
            raise ApiError(404, f"Invalid URL ({method} {path})")
        return handler, scope

    def _usage(self, kind: str, args: QueryArgs) -> dict[str, Any]:
        return usage_page(self.org, parse_usage(kind, args), self.org.now)

    def _costs(self, args: QueryArgs) -> dict[str, Any]:
        return costs_page(self.org, parse_costs(args, self.costs_refuse_api_key_grouping), self.org.now)

    def _projects(self, args: QueryArgs) -> dict[str, Any]:
        query = parse_list(args)
        include_archived = bool(args.boolean("include_archived"))
        return list_page([p.as_json() for p in self.org.projects(include_archived)], query)

    def _users(self, args: QueryArgs) -> dict[str, Any]:
        return list_page([u.as_json() for u in self.org.users()], parse_list(args))

    def _api_keys(self, project_id: str, args: QueryArgs) -> dict[str, Any]:
        query = parse_list(args)
        access = parse_owner_access(args)
        if self.org.directory.project(project_id) is None:
            raise ApiError(404, f"No project found with id '{project_id}'.", code="not_found")
        now = self.org.now
        keys = [
            k.as_json(self.org.last_used_at(k, now))
            for k in self.org.api_keys(project_id)
            if access in ("any", k.owner_access)
        ]
        return list_page(keys, query)


class _HttpServer(ThreadingHTTPServer):
    """Daemon handler threads, no join on close, and a record of open connections so `stop()` can
    end idle keep-alive connections instead of waiting for the clients to hang up."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], simulator: SimulatorServer) -> None:
        super().__init__(address, _Handler)
        self.simulator = simulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every connection still open."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests.Session expects
    disable_nagle_algorithm = True  # headers and body go out in two writes; no delayed-ACK stall
    server_version = "openai-admin-simulator"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        simulator = cast(_HttpServer, self.server).simulator
        status, headers, body = simulator.respond(method, self.path, self.headers.get("Authorization"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if cast(_HttpServer, self.server).simulator.verbose:
            super().log_message(format, *args)


def _endpoint(path: str) -> str:
    if _API_KEYS.fullmatch(path):
        return "/organization/projects/{project_id}/api_keys"
    return path.removeprefix("/v1") if path.startswith("/v1/organization/") else "other"


def _is_admin_key(key: str, expected: str | None) -> bool:
    return key.startswith("sk-admin-") and len(key) > len("sk-admin-") and expected in (None, key)


def _is_project_key(key: str) -> bool:
    return key.startswith(("sk-proj-", "sk-svcacct-")) and len(key) > len("sk-proj-")
