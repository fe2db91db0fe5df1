"""How much time a unit of work has left: the clock it is measured on and the deadline itself.

A `Deadline` is a point on a monotonic clock (or none: unbounded). The collector's comes from the
Lambda context (`get_remaining_time_in_millis()` less a margin for the bookkeeping after a failure),
the API's live path gets a fixed budget well inside API Gateway's 29 s, and the CLI's is a flag.
`Clock` is what tests replace: a fake clock's `sleep` advances its own time, so waits are asserted
without waiting. No heavy imports here: the API Lambda imports this on its cold-start path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Monotonic time for deadlines, wall time for HTTP dates, and a way to wait."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def time(self) -> float:
        """Unix seconds (for `Retry-After: <HTTP date>`)."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def time(self) -> float:
        """`time.time()`."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """`time.sleep(seconds)`."""
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class Deadline:
    """The moment (on `clock.monotonic()`) by which work must be over; `at=None`: no deadline."""

    clock: Clock
    at: float | None

    @classmethod
    def after(cls, seconds: float | None, clock: Clock = SYSTEM_CLOCK) -> Deadline:
        """A deadline `seconds` from now on `clock` (None: unbounded)."""
        return cls(clock, None if seconds is None else clock.monotonic() + seconds)

    def remaining(self) -> float | None:
        """Seconds left (negative once passed), or None when unbounded."""
        return None if self.at is None else self.at - self.clock.monotonic()


def lambda_deadline(context: object, margin: float, clock: Clock = SYSTEM_CLOCK) -> Deadline | None:
    """The invocation's remaining time less `margin` seconds (kept for recording a failure,
    releasing the lease and flushing metrics before Lambda stops the process); None when `context`
    is not a Lambda context (Chalice types it loosely; local runs may pass none)."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        return None
    return Deadline.after(max(float(remaining_ms()) / 1000.0 - margin, 0.0), clock)
