"""Simulated OpenAI outages for the demo: the simulator process is stopped and started again on the
same port while everything else keeps running, so the page shows collections failing (`/api/health`
answers 503) and the tracker catching up once "OpenAI" is back.

    --outage AFTER+FOR     e.g. 300+120: 300 s after the demo is up, stop the simulator for 120 s
                           (repeatable)
    kill -USR1 <demo pid>  stop the simulator now; the next USR1 starts it again

This stops the simulator as a process, from the outside, as a real outage looks to the collector (a
refused connection, not an error answer); it lives here so that simulator/ needs no part in it.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from devstack.process import DevstackError, ManagedProcess

_OUTAGE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\+([0-9]+(?:\.[0-9]+)?)")


@dataclass(frozen=True)
class Outage:
    """Stop the simulator `after` seconds from the demo's start, for `lasts` seconds."""

    after: float
    lasts: float


def parse_outage(text: str) -> Outage:
    """`--outage AFTER+FOR` (an argparse `type`)."""
    match = _OUTAGE.fullmatch(text.strip())
    if match is None or float(match[2]) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected AFTER+FOR in seconds, e.g. 300+120 (stop 300 s in, for 120 s), got {text!r}"
        )
    return Outage(float(match[1]), float(match[2]))


def with_port(argv: Sequence[str], port: int) -> list[str]:
    """`argv` with its `--port` value replaced by `port` (added when missing)."""
    out = list(argv)
    if "--port" in out:
        out[out.index("--port") + 1] = str(port)
    else:
        out += ["--port", str(port)]
    return out


class SimulatorSwitch:
    """Stops and starts one service on the port it chose first; `paused` holds the names of services
    that are down on purpose (the demo does not treat them as crashed)."""

    def __init__(
        self,
        service: ManagedProcess,
        paused: set[str],
        timeout: float,
        say: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.service = service
        self.paused = paused
        self.timeout = timeout
        self.say = say

    @property
    def down(self) -> bool:
        """True while the service is stopped on purpose."""
        return self.service.name in self.paused

    def stop(self) -> None:
        """Stop the service (an outage begins); no-op when it is down already."""
        if self.down:
            return
        port = urlparse(self.service.url).port
        if port is None:
            raise DevstackError(f"{self.service.name} has no port to come back on ({self.service.url!r})")
        self.service.argv = with_port(self.service.argv, port)
        self.paused.add(self.service.name)
        self.service.stop()
        self.say(
            f"outage: {self.service.name} stopped; collections fail and /api/health answers 503 "
            "until it is back"
        )

    def start(self) -> None:
        """Start the service again on the same port and wait until it answers (the outage ends)."""
        if not self.down:
            return
        self.service.restart()
        self.service.wait_ready(time.monotonic() + self.timeout)
        self.paused.discard(self.service.name)
        self.say(
            f"outage over: {self.service.name} is back on {self.service.url}; the next collection catches up"
        )

    def toggle(self) -> None:
        """Stop it when up, start it when down."""
        if self.down:
            self.start()
        else:
            self.stop()


class OutagePlan:
    """The `--outage` schedule as stop/start moments on the monotonic clock from `started`."""

    def __init__(self, outages: Sequence[Outage], started: float) -> None:
        moments = [(started + o.after, True) for o in outages]
        moments += [(started + o.after + o.lasts, False) for o in outages]
        self._pending = sorted(moments)

    def due(self, now: float) -> list[bool]:
        """The actions whose moment has come, in order (True = stop, False = start), each once."""
        ready = [stop for at, stop in self._pending if at <= now]
        self._pending = [(at, stop) for at, stop in self._pending if at > now]
        return ready
