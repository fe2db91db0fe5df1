"""The only code that speaks HTTP to OpenAI's organization admin APIs.

Owns authentication, retries (429 honours Retry-After; 5xx, timeouts and connection errors back off
exponentially with full jitter, capped), pagination (usage/costs `next_page` cursors, directory
`after` cursors) and the call counters the collector reports. Knows nothing about DynamoDB.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.errors import OpenAIAuthError, OpenAIRequestError, OpenAIUnavailable

USAGE_GROUPING: tuple[str, ...] = ("api_key_id", "model", "project_id")
# Completions and decisions also split by batch and service tier, so each row is priced at its
# own price; tool kinds group only by what the API allows (openai 3.51.0).
_PRICED_GROUPING: tuple[str, ...] = (*USAGE_GROUPING, "batch", "service_tier")
USAGE_GROUPINGS: dict[str, tuple[str, ...]] = {
    "completions": _PRICED_GROUPING,
    "decisions": _PRICED_GROUPING,
    "embeddings": USAGE_GROUPING,
    "moderations": USAGE_GROUPING,
    "images": USAGE_GROUPING,
    "audio_speeches": USAGE_GROUPING,
    "audio_transcriptions": USAGE_GROUPING,
    "web_search_calls": USAGE_GROUPING,
    "file_search_calls": ("api_key_id", "project_id"),
    "vector_stores": ("project_id",),
    "code_interpreter_sessions": ("project_id",),
}
USAGE_KINDS: tuple[str, ...] = tuple(USAGE_GROUPINGS)
BUCKET_LIMITS = {"1m": 1440, "1h": 168, "1d": 31}
COSTS_PAGE_LIMIT = 180
DIRECTORY_PAGE_LIMIT = 100
MAX_RETRY_AFTER_SECONDS = 120.0
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

if TYPE_CHECKING:
    import requests

Json = dict[str, Any]


@dataclass
class CallStats:
    """What one client did: HTTP calls made, retries taken, per path."""

    calls: int = 0
    retries: int = 0
    by_path: dict[str, int] = field(default_factory=dict)

    def count(self, path: str) -> None:
        """Record one HTTP call to `path`."""
        self.calls += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1


def _requests() -> Any:
    import requests  # noqa: PLC0415 - already imported by the client's session

    return requests


def _error_message(response: requests.Response) -> tuple[str, str | None]:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or response.reason or f"HTTP {response.status_code}")
    param = error.get("param")
    return message, param if isinstance(param, str) else None


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After", "").strip()
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None


class OpenAIAdminClient:
    """A small, typed client for the usage, costs and directory endpoints."""

    def __init__(
        self,
        base_url: str,
        admin_key: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        page_limits: dict[str, int] | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        if session is None:
            import requests  # noqa: PLC0415 - imported on first use: the API Lambda's cold start never pays for it

            session = requests.Session()
        self._session = session
        self._headers = {"Authorization": f"Bearer {admin_key}", "Accept": "application/json"}
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._jitter = jitter
        self._page_limits = {**BUCKET_LIMITS, **(page_limits or {})}
        self.stats = CallStats()

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIAdminClient({self._base_url!r})"

    # -- transport ---------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        ceiling: float = min(self._backoff_cap, self._backoff_base * (2**attempt))
        return self._jitter() * ceiling

    def get(self, path: str, params: Sequence[tuple[str, str | int]] = ()) -> Json:
        """GET `path` with retries; returns the decoded JSON body or raises an OpenAIError."""
        url = f"{self._base_url}{path}"
        last_problem = "no attempt made"
        for attempt in range(self._max_attempts):
            if attempt:
                self.stats.retries += 1
            self.stats.count(path)
            try:
                response = self._session.get(
                    url, params=list(params), headers=self._headers, timeout=self._timeout
                )
            except (_requests().Timeout, _requests().ConnectionError) as exc:
                last_problem = f"{type(exc).__name__} talking to {path}"
                self._sleep(self._backoff(attempt))
                continue
            if response.status_code == 200:
                try:
                    body: Json = response.json()
                except ValueError:
                    last_problem = f"{path} answered 200 with a body that is not JSON"
                    self._sleep(self._backoff(attempt))
                    continue
                return body
            message, param = _error_message(response)
            if response.status_code in {401, 403}:
                raise OpenAIAuthError(f"admin key rejected: {message}", response.status_code)
            if response.status_code not in _RETRYABLE_STATUS:
                raise OpenAIRequestError(f"{path}: {message}", response.status_code, param)
            last_problem = f"{path} answered {response.status_code}: {message}"
            wait = _retry_after(response) if response.status_code == 429 else None
            self._sleep(wait if wait is not None else self._backoff(attempt))
        raise OpenAIUnavailable(f"gave up after {self._max_attempts} attempts: {last_problem}")

    # -- paginated reads ---------------------------------------------------------------------
    def _buckets(self, path: str, params: list[tuple[str, str | int]]) -> Iterator[Json]:
        page: str | None = None
        while True:
            body = self.get(path, params + ([("page", page)] if page else []))
            yield from body.get("data") or []
            page = body.get("next_page")
            if not body.get("has_more") or not page:
                return

    def usage_buckets(
        self,
        kind: str,
        start: int,
        end: int,
        *,
        bucket_width: str = "1h",
        group_by: Sequence[str] | None = None,
        filters: dict[str, Sequence[str]] | None = None,
    ) -> Iterator[Json]:
        """Every bucket of `/organization/usage/{kind}` in [start, end), following all pages;
        grouped by `group_by`, else by the kind's USAGE_GROUPINGS."""
        if group_by is None:
            group_by = USAGE_GROUPINGS.get(kind, USAGE_GROUPING)
        params: list[tuple[str, str | int]] = [
            ("start_time", start),
            ("end_time", end),
            ("bucket_width", bucket_width),
            ("limit", self._page_limits[bucket_width]),
        ]
        params += [("group_by", name) for name in group_by]
        for name, values in (filters or {}).items():
            params += [(name, value) for value in values]
        return self._buckets(f"/organization/usage/{kind}", params)

    def cost_buckets(self, start: int, end: int, *, group_by: Sequence[str]) -> Iterator[Json]:
        """Every daily bucket of `/organization/costs` in [start, end), following all pages."""
        params: list[tuple[str, str | int]] = [
            ("start_time", start),
            ("end_time", end),
            ("bucket_width", "1d"),
            ("limit", COSTS_PAGE_LIMIT),
        ]
        params += [("group_by", name) for name in group_by]
        return self._buckets("/organization/costs", params)

    def _list(self, path: str, params: Sequence[tuple[str, str | int]] = ()) -> Iterator[Json]:
        after: str | None = None
        while True:
            query = [*params, ("limit", DIRECTORY_PAGE_LIMIT)] + ([("after", after)] if after else [])
            body = self.get(path, query)
            data = body.get("data") or []
            yield from data
            after = body.get("last_id") or (data[-1].get("id") if data else None)
            if not body.get("has_more") or not after:
                return

    def projects(self) -> Iterator[Json]:
        """Every project, archived ones included."""
        return self._list("/organization/projects", [("include_archived", "true")])

    def project_api_keys(self, project_id: str) -> Iterator[Json]:
        """Every API key of one project."""
        return self._list(f"/organization/projects/{project_id}/api_keys", [("owner_project_access", "any")])

    def users(self) -> Iterator[Json]:
        """Every user of the organization."""
        return self._list("/organization/users")
