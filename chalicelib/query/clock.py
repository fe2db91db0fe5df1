"""The API's and the CLI's clock: one function, so that tests can move "now" without touching `time.time`
(`monkeypatch.setattr(clock, "now", ...)`); every command and route reads the time through it."""

from __future__ import annotations

import time


def now() -> int:
    """Unix seconds."""
    return int(time.time())
