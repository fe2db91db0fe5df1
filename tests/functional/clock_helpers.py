"""A fake clock for retry tests, and a simulator client that waits on it."""

from __future__ import annotations

from chalicelib.openai_api import OpenAIAdminClient
from simulator.pytest_plugin import SIM_ADMIN_KEY, SIM_NOW


class FakeClock:
    """Monotonic and wall time that only move when someone sleeps on this clock."""

    def __init__(self, wall: float = SIM_NOW) -> None:
        self.elapsed = 0.0
        self.wall = wall
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.elapsed

    def time(self) -> float:
        return self.wall + self.elapsed

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.elapsed += seconds


def client_of(base_url: str, clock: FakeClock, **kwargs: object) -> OpenAIAdminClient:
    return OpenAIAdminClient(base_url, SIM_ADMIN_KEY, clock=clock, jitter=lambda: 1.0, **kwargs)  # type: ignore[arg-type]
