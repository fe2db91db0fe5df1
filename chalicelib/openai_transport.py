"""The HTTP transport of `openai_api`: one requests session whose retries are urllib3's `Retry`,
bounded by a deadline.

Policy (the SDK's, `openai==3.51.0`, with a deadline on top):
- a GET is re-sent when it answers 408, 409, 429 or any 5xx, or times out or loses its connection,
  up to `max_attempts` attempts in all; never after the last attempt (urllib3 gives the last answer
  back instead of sleeping);
- the wait before a retry is the server's `retry-after-ms`, else its `Retry-After` (seconds or an
  HTTP date), else an exponential backoff with full jitter, capped;
- a wait longer than `max_wait` (120 s) or one that would leave less than `min_attempt` seconds
  before the deadline is not taken: `OpenAIDeadlineExceeded` at once;
- each attempt's connect and read timeouts shrink to the time left before the deadline.

Imported on first use by `OpenAIAdminClient` (requests and urllib3 stay off the API Lambda's
cold-start path). Retries are counted here (`CallLog`) because only urllib3 sees each one.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, cast

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry, Timeout

from chalicelib.deadline import Clock, Deadline
from chalicelib.errors import OpenAIDeadlineExceeded

if TYPE_CHECKING:
    from chalicelib.openai_api import CallStats

RETRY_STATUS = frozenset({408, 409, 429, *range(500, 600)})
MAX_WAIT_SECONDS = 120.0  # the SDK's ceiling: a longer Retry-After means "not today", not "sleep"
MIN_ATTEMPT_SECONDS = 0.5  # an attempt squeezed into less time than this would only time out


@dataclass
class RetryPolicy:
    """How long to wait between attempts, and the deadline every wait and attempt must fit in."""

    deadline: Deadline
    clock: Clock
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    jitter: Callable[[], float] = random.random
    max_wait: float = MAX_WAIT_SECONDS
    min_attempt: float = MIN_ATTEMPT_SECONDS

    def backoff(self, retry_number: int) -> float:
        """Full-jitter exponential backoff before retry `retry_number` (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (retry_number - 1))
        return float(self.jitter() * ceiling)

    def time_left(self) -> float | None:
        """Seconds before the deadline (None: unbounded)."""
        return self.deadline.remaining()

    def refuse_wait(self, wait: float) -> str | None:
        """Why a wait of `wait` seconds before the next attempt must not be taken, or None."""
        if wait > self.max_wait:
            return f"the wait asked for ({wait:.1f} s) is over the {self.max_wait:.0f} s this client waits"
        left = self.time_left()
        if left is not None and wait + self.min_attempt > left:
            return f"waiting {wait:.1f} s would pass the deadline ({max(left, 0.0):.1f} s left)"
        return None


@dataclass
class CallLog:
    """The call in flight: its path and attempts, so retries are counted and explained per path."""

    stats: CallStats
    path: str = ""
    attempts: int = 0

    def start(self, path: str) -> None:
        """A new call to `path`: its first attempt."""
        self.path, self.attempts = path, 0
        self.attempt()

    def attempt(self) -> None:
        """One more HTTP attempt of the call in flight."""
        self.attempts += 1
        self.stats.count(self.path)
        if self.attempts > 1:
            self.stats.retries += 1


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """The wait a response asks for: `retry-after-ms`, else `Retry-After` as seconds or an HTTP
    date (relative to `now`, Unix seconds); None when absent or unreadable."""
    millis = _finite(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000.0, 0.0)
    raw = (headers.get("retry-after") or "").strip()
    if not raw:
        return None
    seconds = _finite(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    return max(float(email.utils.mktime_tz(parsed)) - now, 0.0)


def _finite(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


class DeadlineRetry(Retry):
    """urllib3's Retry whose waits follow `RetryPolicy`, on the policy's clock, counted in `CallLog`."""

    def __init__(self, *args: Any, policy: RetryPolicy, log: CallLog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy
        self.log = log

    def new(self, **kw: Any) -> Self:
        """urllib3 makes a new Retry per attempt: carry the policy and the log along."""
        return super().new(**{"policy": self.policy, "log": self.log, **kw})

    def get_retry_after(self, response: Any) -> float | None:
        """`retry-after-ms` or `Retry-After`, with HTTP dates read on the policy's wall clock."""
        return retry_after_seconds(response.headers, self.policy.clock.time())

    def sleep(self, response: Any = None) -> None:
        """Wait before the next attempt, or raise OpenAIDeadlineExceeded when the wait is refused."""
        asked = self.get_retry_after(response) if response is not None else None
        wait = asked if asked is not None else self.policy.backoff(self.log.attempts)
        refusal = self.policy.refuse_wait(wait)
        if refusal is not None:
            raise OpenAIDeadlineExceeded(
                f"{self.log.path}: {self._problem(response)}; {refusal}: "
                f"giving up after {self.log.attempts} attempt(s)",
                getattr(response, "status", None),
            )
        self.policy.clock.sleep(wait)
        self.log.attempt()

    def _problem(self, response: Any) -> str:
        if response is not None:
            return f"OpenAI answered {response.status}"
        error = self.history[-1].error if self.history else None
        return f"{type(error).__name__ if error else 'the connection'} failed"


class DeadlineTimeout(Timeout):
    """A per-attempt timeout that shrinks to the time left; urllib3 clones it for every attempt."""

    def __init__(self, seconds: float, policy: RetryPolicy) -> None:
        super().__init__(connect=seconds, read=seconds)
        self._seconds = seconds
        self._policy = policy

    def clone(self) -> Timeout:
        """This attempt's timeout: the configured one, or the time left when that is shorter."""
        left = self._policy.time_left()
        seconds = self._seconds if left is None else max(min(self._seconds, left), 0.001)
        return Timeout(connect=seconds, read=seconds)


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter with `DeadlineRetry` mounted and every request's timeout deadline-bound."""

    def __init__(self, policy: RetryPolicy, log: CallLog, timeout: float) -> None:
        retry = DeadlineRetry(
            total=max(policy.max_attempts - 1, 0),
            status_forcelist=RETRY_STATUS,
            allowed_methods={"GET"},
            raise_on_status=False,  # the last answer comes back: its error body explains the failure
            raise_on_redirect=False,
            respect_retry_after_header=True,
            policy=policy,
            log=log,
        )
        super().__init__(max_retries=retry)
        self._policy = policy
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        """Send with this adapter's deadline-bound timeout (requests documents urllib3 Timeouts
        here; its type stubs only list floats and tuples)."""
        kwargs["timeout"] = cast(Any, DeadlineTimeout(self._timeout, self._policy))
        return super().send(request, *args, **kwargs)


def deadline_session(
    policy: RetryPolicy, log: CallLog, timeout: float, session: requests.Session | None = None
) -> requests.Session:
    """`session` (or a new one) with the deadline-bound adapter mounted for http and https."""
    session = session if session is not None else requests.Session()
    adapter = DeadlineAdapter(policy, log, timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
