"""A big organization answers in one full page: 1,000 keys x 28 models x 90 days, a week of 1h
buckets grouped by key and model. How long that takes is `make bench`'s to measure (its collector
runs read the simulator at 1,000 keys), not a test's: a bound on wall time here only fails when the
machine is busy."""

from __future__ import annotations

import requests

from simulator.org import OrgSpec, SyntheticOrg
from simulator.pytest_plugin import SIM_NOW
from simulator.server import SimulatorServer


def test_a_week_of_hourly_buckets_of_a_1000_key_org_comes_as_one_full_page():
    org = SyntheticOrg(OrgSpec(seed=3, keys=1000, projects=20, users=100, days=90, now=SIM_NOW))
    with SimulatorServer(org) as server:
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
    assert response.status_code == 200
    page = response.json()
    assert len(page["data"]) == 168
    assert page["has_more"] is True  # 90 days hold more than one week of hours
    assert len({row["api_key_id"] for bucket in page["data"] for row in bucket["results"]}) > 100
