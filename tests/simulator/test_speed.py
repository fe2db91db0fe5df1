"""A big organization stays quick: 1,000 keys x 28 models x 90 days, one full 1h page."""

from __future__ import annotations

import time

import requests

from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW
from simulator.server import SimulatorServer


def test_a_week_of_hourly_buckets_of_a_1000_key_org_is_fast():
    org = SyntheticOrg(OrgSpec(seed=3, keys=1000, projects=20, users=100, days=90, now=SIM_NOW))
    with SimulatorServer(org) as server:
        started = time.perf_counter()
        response = requests.get(
            server.base_url + "/organization/usage/completions",
            params={
                "start_time": org.origin + 3600,
                "bucket_width": "1h",
                "limit": 168,
                "group_by": "api_key_id,model",
            },
            headers={"Authorization": "Bearer sk-admin-x"},
            timeout=60,
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert len(response.json()["data"]) == 168
    # About half a second on an idle machine; the bound leaves room for a busy shared one.
    assert elapsed < 5, f"{elapsed:.2f}s"
