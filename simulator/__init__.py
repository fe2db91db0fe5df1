"""The OpenAI organization admin API simulator: a product feature for the demo and the tests.

A deterministic synthetic organization (`SyntheticOrg` from an `OrgSpec`) served over real HTTP on
loopback by `SimulatorServer`, faithful to the facts in docs/simulator.md and to the shapes of the
official SDK openai==3.51.0 (every usage kind, group_by value, filter and field it has). Not
deployed to Lambda.

    org = SyntheticOrg(OrgSpec(seed=7, keys=40, now=1795169820))
    with SimulatorServer(org) as server:
        ...  # OPENAI_BASE_URL=server.base_url, any sk-admin-... key

Modules: catalog (kinds, models, prices), directory (projects, users, keys, vector stores), traffic
(events per hour, METRICS and FIELDS per kind), ledger (visible totals, caches), billing (line items
and quantities), org (the organization and its ground truth), params (validation), pages (response
bodies), server (HTTP), pytest_plugin (fixtures).
"""

from simulator.catalog import DEFAULT_MODELS, KINDS, UNKNOWN_MODEL
from simulator.errors import ApiError
from simulator.org import CostFilters, OrgSpec, SyntheticOrg, UsageFilters
from simulator.server import SimulatorServer
from simulator.traffic import FIELDS, METRICS

__all__ = [
    "DEFAULT_MODELS",
    "FIELDS",
    "KINDS",
    "METRICS",
    "UNKNOWN_MODEL",
    "ApiError",
    "CostFilters",
    "OrgSpec",
    "SimulatorServer",
    "SyntheticOrg",
    "UsageFilters",
]
