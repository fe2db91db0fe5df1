"""Leaked-key scenarios, switched on per organization: a spend spike, a dormant key waking, a new model.

Each scenario is one key's abnormal traffic over `SCENARIO_HOURS` whole hours from `start` (by
default the whole hour four hours before the initial clock, so a test at the initial clock sees it
settled). Off by default (`OrgSpec.scenarios == ()`): the organization is then exactly as before.

- `spike`      the key sends `SPIKE_EVENTS` extra events an hour of its first chat model, on top of its
               normal traffic.
- `dormant`    the key sends nothing for `OrgSpec.dormant_days` days before `start`, then `WAKE_EVENTS`
               events an hour of its first chat model, then its normal traffic again.
Spike and wake events are 4x bursts (as on the spike day).
- `new_model`  the key sends `NEW_MODEL_EVENTS` events an hour of a chat model it never used.

Scenario events draw from their own generators (seeded by scenario and hour), so the normal traffic
of every hour stays what it was. `Scenario` is the ground truth: which key, which model, when.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.directory import DAY, HOUR

SCENARIO_NAMES = ("spike", "dormant", "new_model")
SCENARIO_HOURS = 3
SPIKE_EVENTS = 150
WAKE_EVENTS = 20
NEW_MODEL_EVENTS = 6


@dataclass(frozen=True, slots=True)
class Scenario:
    """One switched-on scenario: `key_id` sends extra `model` traffic in [start, end); a dormant key
    sends nothing at all in [quiet_from, start)."""

    name: str
    key_id: str
    model: str
    start: int
    end: int
    quiet_from: int | None = None

    def active(self, hour: int) -> bool:
        """True when the hour starting at `hour` carries this scenario's extra traffic."""
        return self.start <= hour < self.end

    def silenced(self, key_id: str | None, ts: int) -> bool:
        """True when a dormant key's normal traffic at `ts` is suppressed."""
        return self.quiet_from is not None and key_id == self.key_id and self.quiet_from <= ts < self.start


def check_names(names: tuple[str, ...]) -> None:
    """Raise ValueError for a scenario name the simulator does not know."""
    unknown = [name for name in names if name not in SCENARIO_NAMES]
    if unknown:
        raise ValueError(f"OrgSpec.scenarios: unknown {unknown}; known: {list(SCENARIO_NAMES)}")


def default_start(initial_now: int) -> int:
    """The whole hour four hours before the initial clock."""
    return initial_now - initial_now % HOUR - 4 * HOUR


def quiet_from(start: int, dormant_days: int) -> int:
    """When a dormant key falls silent."""
    return start - dormant_days * DAY


__all__ = [
    "NEW_MODEL_EVENTS",
    "SCENARIO_HOURS",
    "SCENARIO_NAMES",
    "SPIKE_EVENTS",
    "WAKE_EVENTS",
    "Scenario",
    "check_names",
    "default_start",
    "quiet_from",
]
