"""pytest fixtures for the simulator; register with `pytest_plugins = ["simulator.pytest_plugin"]`.

`sim_org` is a fresh small organization with a fixed clock (2026-11-20T10:17:00Z), so answers are
stable; `sim_server` serves it on a free loopback port and stops it after the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.org import OrgSpec, SyntheticOrg
from simulator.server import SimulatorServer

SIM_NOW = 1795169820  # 2026-11-20T10:17:00Z, a Friday mid-morning
SIM_ADMIN_KEY = "sk-admin-simulator-test-key"
SIM_SPEC = OrgSpec(seed=7, keys=12, projects=3, users=5, days=30, now=SIM_NOW)


@pytest.fixture
def sim_org() -> SyntheticOrg:
    """A fresh organization of `SIM_SPEC` (12 keys, 3 projects, 30 days, clock at `SIM_NOW`)."""
    return SyntheticOrg(SIM_SPEC)


@pytest.fixture
def sim_server(sim_org: SyntheticOrg) -> Iterator[SimulatorServer]:
    """`sim_org` served over HTTP; `sim_server.base_url` is the OPENAI_BASE_URL to use."""
    with SimulatorServer(sim_org) as server:
        yield server
