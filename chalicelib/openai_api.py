"""The only code that speaks HTTP to OpenAI's organization admin APIs.

Owns authentication, pagination (usage/costs `next_page` cursors, directory `after` cursors), the
call counters the collector reports and what each answer means (200 JSON, or which OpenAIError).
Retries are `chalicelib.openai_transport`'s: urllib3's Retry on the session, every call bounded by
the client's `Deadline` (408/409/429/5xx/timeouts retried; `retry-after-ms`/`Retry-After` honoured;
a wait that would pass the deadline or 120 s is refused with OpenAIDeadlineExceeded, never slept).
Knows nothing about DynamoDB.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.deadline import SYSTEM_CLOCK, Clock, Deadline
from chalicelib.errors import (
    OpenAIAuthError,
    OpenAIDeadlineExceeded,
    OpenAIMalformedData,
    OpenAIRequestError,
    OpenAIUnavailable,
)
from chalicelib.kinds import KINDS, USAGE_GROUPING

# What each usage kind is grouped by: chalicelib.kinds declares it (openai 3.51.0).
USAGE_GROUPINGS: dict[str, tuple[str, ...]] = {kind.name: kind.group_by for kind in KINDS}
USAGE_KINDS: tuple[str, ...] = tuple(USAGE_GROUPINGS)
BUCKET_LIMITS = {"1m": 1440, "1h": 168, "1d": 31}
COSTS_PAGE_LIMIT = 180
DIRECTORY_PAGE_LIMIT = 100

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


class _SleepOn:
    """`clock` with its waits replaced by `sleep` (the older `sleep=` argument of the client)."""

    def __init__(self, clock: Clock, sleep: Callable[[float], None]) -> None:
        self._clock = clock
        self.sleep = sleep

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def time(self) -> float:
        return self._clock.time()


def _error_message(response: requests.Response) -> tuple[str, str | None]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or response.reason or f"HTTP {response.status_code}")
    param = error.get("param")
    return message, param if isinstance(param, str) else None


class OpenAIAdminClient:
    """A small, typed client for the usage, costs and directory endpoints.

    `deadline` bounds every call's attempts and waits (default: none); `deadline_seconds` is a
    shorthand for `Deadline.after(seconds, clock)`. `timeout` is each attempt's connect/read
    timeout, shrunk to the time left. `clock` (tests: a fake one) measures the deadline, reads HTTP
    dates and sleeps; `sleep` overrides only its sleeping."""

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
        deadline: Deadline | None = None,
        deadline_seconds: float | None = None,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] = random.random,
        page_limits: dict[str, int] | None = None,
    ) -> None:
        # imported on first use: the API Lambda's cold start never pays for requests and urllib3
        from chalicelib.openai_transport import CallLog, RetryPolicy, deadline_session  # noqa: PLC0415

        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {admin_key}", "Accept": "application/json"}
        self._page_limits = {**BUCKET_LIMITS, **(page_limits or {})}
        self.stats = CallStats()
        self.deadline = deadline or Deadline.after(deadline_seconds, clock)
        self.policy = RetryPolicy(
            deadline=self.deadline,
            clock=_SleepOn(clock, sleep) if sleep is not None else clock,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            jitter=jitter,
        )
        self._log = CallLog(self.stats)
        self._session = deadline_session(self.policy, self._log, timeout, session)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIAdminClient({self._base_url!r})"

    # -- transport ---------------------------------------------------------------------------
    def get(self, path: str, params: Sequence[tuple[str, str | int]] = ()) -> Json:
        """GET `path` with retries; returns the decoded JSON body or raises an OpenAIError."""
        import requests  # noqa: PLC0415 - loaded with the session already

        left = self.policy.time_left()
        if left is not None and left < self.policy.min_attempt:
            raise OpenAIDeadlineExceeded(
                f"{path}: no time left for a call ({max(left, 0.0):.1f} s to the deadline)"
            )
        self._log.start(path)
        try:
            response = self._session.get(
                f"{self._base_url}{path}", params=list(params), headers=self._headers
            )
            body = response.json() if response.status_code == 200 else None
        except ValueError as exc:  # requests' JSONDecodeError is also a RequestException
            raise OpenAIMalformedData(f"{path} answered 200 with a body that is not JSON") from exc
        except requests.RequestException as exc:
            raise OpenAIUnavailable(
                f"gave up after {self._log.attempts} attempts: {type(exc).__name__} talking to {path}"
            ) from exc
        if response.status_code == 200:
            if not isinstance(body, dict):
                raise OpenAIMalformedData(f"{path} answered 200 with JSON that is not an object")
            return body
        message, param = _error_message(response)
        if response.status_code in {401, 403}:
            raise OpenAIAuthError(f"admin key rejected: {message}", response.status_code)
        from chalicelib.openai_transport import RETRY_STATUS  # noqa: PLC0415

        status = response.status_code
        if status in RETRY_STATUS:
            problem = f"{path} answered {status}: {message}"
            raise OpenAIUnavailable(f"gave up after {self._log.attempts} attempts: {problem}", status)
        raise OpenAIRequestError(f"{path}: {message}", response.status_code, param)

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
