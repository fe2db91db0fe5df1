"""Shared by the API tests: a Chalice test client on DynamoDB Local, tokens, and a table filled from the
OpenAI simulator by the real collector (plus a directory sync and a checkpoint), with ground truth.

Fixtures (import them into a test module):
    sim_table   (session) a read-only table holding SIM_SPEC's 30 days, mappings with teams, an admin
                and a viewer token; the simulator keeps running (for the live 1m path)
    api         (function) an `Api` on `sim_table`, the clock at SIM_NOW, DASHBOARD_ORIGIN set
    empty_api   (function) an `Api` on a fresh empty table (`usage_table`) with its own tokens
    bare_api    (function) an `Api` on a module-wide empty table, for requests that write nothing
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from app import app
from chalicelib import auth, aws, store
from chalicelib.catalog import pool_of
from chalicelib.keys.model import KeyMapping
from chalicelib.keys.sync import sync_directory
from chalicelib.money import member_of_line_item
from chalicelib.openai_api import USAGE_KINDS
from chalicelib.periods import DAY, day_label, floor_day
from chalicelib.query import clock
from chalicelib.query.sources import LIVE_CACHE
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import MetaStore
from chalicelib.store.tokens import TokenStore
from simulator.org import SyntheticOrg
from simulator.pytest_plugin import SIM_ADMIN_KEY, SIM_NOW, SIM_SPEC
from simulator.server import SimulatorServer
from tests.conftest import unique_name
from tests.functional.collector_helpers import COUNTERS as TRUTH_COUNTERS
from tests.functional.collector_helpers import make_client, make_collector, past_config, truth_rows

DASHBOARD = "https://dashboard.example.com"
CHALICE_CONFIG = {"version": "2.0", "app_name": "openai-usage-tracker", "stages": {"test": {}}}
FIRST_DAY = floor_day(SIM_NOW) - 30 * DAY  # the simulator's origin: data starts here
TODAY = floor_day(SIM_NOW)
TEAMS = {0: "research", 1: "research", 2: "platform"}  # key index (directory order) -> team


def _clear() -> None:
    get_settings.cache_clear()
    aws.cache_clear()


def chalice_client(project_dir: Path) -> Client:
    """A test client whose stage sets no environment variables (ours come from the fixtures)."""
    (project_dir / ".chalice").mkdir(exist_ok=True)
    (project_dir / ".chalice" / "config.json").write_text(json.dumps(CHALICE_CONFIG))
    return Client(app, stage_name="test", project_dir=str(project_dir))


@dataclass
class Api:
    """The API through chalice.test.Client, with an admin and a viewer token."""

    client: Client
    admin: str
    viewer: str

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        token: str | None = "viewer",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One request; `token` is "viewer", "admin", None (no header) or a literal token."""
        if params:
            path = f"{path}?{urlencode(params, doseq=True)}"
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {getattr(self, token, token)}"
        raw = None
        if body is not None:
            raw = body if isinstance(body, bytes | str) else json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        return self.client.http.request(method, path, headers=sent, body=raw)

    def get(self, path: str, params: Any = None, **kwargs: Any) -> Any:
        return self.request("GET", path, params=params, **kwargs)

    def json(self, path: str, params: Any = None, *, status: int = 200, **kwargs: Any) -> Any:
        """GET and decode, asserting the status."""
        response = self.get(path, params, **kwargs)
        assert response.status_code == status, response.body
        return json.loads(response.body)


@dataclass
class SimTable:
    """The filled table and what the tests need to know about it."""

    name: str
    org: SyntheticOrg
    server: SimulatorServer
    admin: str
    viewer: str
    key_ids: list[str]


def fill_from_simulator(server: SimulatorServer, now: int = SIM_NOW, days: int | None = None) -> None:
    """Backfill every day of the simulator's org (or its last `days`), sync the directory, record a
    successful run."""
    start = server.org.origin if days is None else floor_day(now) - (days - 1) * DAY
    # Past hours, kept past DynamoDB Local's real-clock TTL sweep (collector_helpers.past_config).
    make_collector(server, past_config()).backfill(start, floor_day(now) + DAY, now)
    sync_directory(make_client(server), DirectoryStore(), now)
    MetaStore().record_success(
        run_id="api-test",
        finished_at=now,
        usage_as_of=now,
        costs_as_of=now,
        directory_synced_at=now,
        cost_grouping="api_key_id",
    )


def make_tokens(now: int = SIM_NOW) -> tuple[str, str]:
    """(admin token, viewer token) in the current table."""
    tokens = TokenStore()
    admin, _ = auth.create_token(tokens, "admin", "test admin", now)
    viewer, _ = auth.create_token(tokens, "viewer", "test viewer", now)
    return admin, viewer


@pytest.fixture(scope="session")
def sim_table(local_aws: Any) -> Iterator[SimTable]:
    """Filled once per session (per xdist worker): every test using it only reads."""
    name = unique_name("api-test")
    org = SyntheticOrg(SIM_SPEC)
    with SimulatorServer(org) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("USAGE_TABLE", name)
        _clear()
        store.ensure_table()
        fill_from_simulator(server)
        directory = DirectoryStore()
        key_ids = sorted(directory.directory().keys)
        for index, team in TEAMS.items():
            directory.put_mapping(
                KeyMapping(key_id=key_ids[index], name=f"Mapped {index}", team=team, created_at=SIM_NOW)
            )
        admin, viewer = make_tokens()
        _clear()
        yield SimTable(name, org, server, admin, viewer, key_ids)
        aws.dynamodb_client().delete_table(TableName=name)
    _clear()


def _prepare(monkeypatch: pytest.MonkeyPatch, table: str, base_url: str = "http://127.0.0.1:9/v1") -> None:
    monkeypatch.setenv("USAGE_TABLE", table)
    monkeypatch.setenv("DASHBOARD_ORIGIN", DASHBOARD)
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SIM_ADMIN_KEY)
    for name in ("OPEN_READ_ROUTES", "STALE_AFTER_MINUTES", "HOURLY_RETENTION_DAYS", "SHARING_PROJECTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW)
    auth.forget()
    LIVE_CACHE.clear()
    _clear()


@pytest.fixture
def api(sim_table: SimTable, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Api:
    _prepare(monkeypatch, sim_table.name, sim_table.server.base_url)
    return Api(chalice_client(tmp_path), sim_table.admin, sim_table.viewer)


@pytest.fixture(scope="module")
def shared_empty_table(local_aws: Any) -> Iterator[tuple[str, str, str]]:
    """(table, admin token, viewer token): an empty table for tests that write nothing."""
    name = unique_name("api-empty")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("USAGE_TABLE", name)
        _clear()
        store.ensure_table()
        admin, viewer = make_tokens()
        _clear()
        yield name, admin, viewer
        aws.dynamodb_client().delete_table(TableName=name)
    _clear()


@pytest.fixture
def bare_api(
    shared_empty_table: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Api:
    """An `Api` on a module-wide empty table (for requests that are refused or only read)."""
    name, admin, viewer = shared_empty_table
    _prepare(monkeypatch, name)
    return Api(chalice_client(tmp_path), admin, viewer)


@pytest.fixture
def empty_api(usage_table: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Api:
    _prepare(monkeypatch, usage_table)
    admin, viewer = make_tokens()
    return Api(chalice_client(tmp_path), admin, viewer)


# -- ground truth ---------------------------------------------------------------------------------
def truth_cells(
    org: SyntheticOrg, start: int, end: int, step: int = DAY
) -> dict[tuple[str, str, str, str], dict[str, int]]:
    """(day, key, model, project) -> counters, straight from the simulator's ledger, a day (`step`)
    at a time. Vector storage, a daily level, is in whole-day steps only (the live path skips it)."""
    cells: dict[tuple[str, str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day_ts in range(start, end, step):
        for kind in USAGE_KINDS:
            if kind == "vector_stores" and step != DAY:
                continue
            for cell, values in truth_rows(org, kind, day_ts, day_ts + step):
                target = cells[(day_label(day_ts), cell.key, cell.model, cell.project)]
                for name, value in values.items():
                    target[name] += value
    return cells


def truth_billed(org: SyntheticOrg, start: int, end: int) -> dict[tuple[str, str, str, str], Decimal]:
    """(day, key, model, project) -> billed dollars from the simulator's Costs truth."""
    billed: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    for day_ts in range(start, end, DAY):
        rows = org.costs_truth(day_ts, day_ts + DAY, group_by=("api_key_id", "project_id", "line_item"))
        for (key, project, line_item), amount in rows.items():
            model = member_of_line_item(str(line_item)) or "unattributed"
            billed[
                (day_label(day_ts), str(key or "unattributed"), model, str(project or "unattributed"))
            ] += amount
    return billed


def member_of(cell: tuple[str, str, str, str], dim: str, owners: dict[str, Any]) -> str | None:
    """A truth cell's member in one grouping dimension (`owners`: key id -> (owner, team))."""
    day, key, model, project = cell
    if dim == "api_key_id":
        return key
    if dim == "model":
        return model
    if dim == "project_id":
        return project
    if dim == "pool":
        return pool_of(model, date.fromisoformat(day))
    if dim == "owner":
        return owners.get(key, (None, None))[0]
    return owners.get(key, (None, None))[1]


def grouped_truth(
    cells: dict[tuple[str, str, str, str], dict[str, int]], dims: Iterable[str], owners: dict[str, Any]
) -> dict[tuple[str | None, ...], dict[str, int]]:
    """Truth counters summed by the given dimensions."""
    dims = tuple(dims)
    out: dict[tuple[str | None, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cell, counters in cells.items():
        target = out[tuple(member_of(cell, dim, owners) for dim in dims)]
        for name, value in counters.items():
            target[name] += value
    return {group: dict(values) for group, values in out.items() if any(values.values())}


COUNTERS = TRUTH_COUNTERS  # every measure of Usage but money: tokens, their splits, tool measures


def counters_of(row: dict[str, Any]) -> dict[str, int]:
    """The counters of a response row that the truth has."""
    return {name: row[name] for name in COUNTERS if row[name]}


def nonzero(values: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in values.items() if value and name in COUNTERS}
