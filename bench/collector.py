"""The collector at one size: a 90-day backfill, then the 15-minute incremental run, then a directory
sync six hours on, each in a fresh interpreter (`bench.child`) against the simulator and DynamoDB Local.

The sequence is a deployment's first day: `init` backfills the 90 days before today (directory
synced at its end), the schedule's first run warms today, and the run 15 simulated minutes later is
the one measured. Before and after it the bench reads every item that run could touch (the window's
rollup items, where `chalicelib.store.rollups.RollupStore.stored_day` says they are kept, and the
bookkeeping partitions) with its own unmetered clients, so "items whose values changed" is counted
independently of the collector's own diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.instrument import ITEM_STORAGE_OVERHEAD, item_size, partition_kind
from chalicelib.periods import DAY, HOUR, day_label, floor_day
from chalicelib.store.rollups import RollupStore
from simulator import OrgSpec, SimulatorServer, SyntheticOrg

ROOT = Path(__file__).resolve().parent.parent
SEED = 3
NOW = 1795169820  # 2026-11-20T10:17:00Z, a weekday mid-morning (the simulator tests' clock)
BACKFILL_DAYS = 90
SCHEDULE_SECONDS = 15 * 60
DIRECTORY_SYNC_HOURS = 6  # chalicelib.keys.sync.DEFAULT_SYNC_MAX_AGE_HOURS
PROJECTS = 5
SCAN_TARGET = "DynamoDB_20120810.Scan"
SCAN_SEGMENTS = 4  # DynamoDB Local serves the segments of a parallel Scan on several threads
CHILD_TIMEOUT_SECONDS = 1800  # per 1,000 keys: a 10,000-key backfill takes over an hour here
BOOKKEEPING_KINDS = frozenset({"META", "MAP", "DIR", "UNMAPPED", "TOKEN", "ALERT"})
ROLLUP_KINDS = ("HD", "DD", "AH", "AD", "CT")  # CT: store/cell_tokens.py
DAILY_KINDS = frozenset({"DD", "AD"})  # kept forever; HD and AH expire after the hourly retention

# 20 of the simulator's models, every usage kind represented: 12 chat models of the two pools, two
# ineligible previews, the unpriced one, and one of each embeddings, moderations, images, speech,
# transcription.
BENCH_MODELS: tuple[str, ...] = (
    "gpt-5-2025-08-07",
    "gpt-5.1-2025-11-13",
    "gpt-4.1-2025-04-14",
    "gpt-4o-2024-08-06",
    "o3-2025-04-16",
    "o1-2024-12-17",
    "gpt-5-mini-2025-08-07",
    "gpt-5-nano-2025-08-07",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "gpt-4o-mini-2024-07-18",
    "o4-mini-2025-04-16",
    "o1-pro-2025-03-19",
    "gpt-4o-realtime-preview-2024-12-17",
    "acme-research-1-2026-09-01",
    "text-embedding-3-small",
    "omni-moderation-2024-09-26",
    "gpt-image-1",
    "tts-1",
    "whisper-1",
)


def org_spec(keys: int) -> OrgSpec:
    """The synthetic organization of one size: `keys` keys, 20 models, 5 projects, 91 days of data."""
    return OrgSpec(
        seed=SEED,
        keys=keys,
        projects=PROJECTS,
        users=max(5, keys // 5),
        days=BACKFILL_DAYS + 1,
        models=BENCH_MODELS,
        now=NOW,
    )


@dataclass(frozen=True)
class Target:
    """Where a child writes: the table, and the environment that points at the local stack."""

    table: str
    env: Mapping[str, str]

    def child_env(self) -> dict[str, str]:
        """The child's whole environment."""
        return {
            **os.environ,
            **self.env,
            "USAGE_TABLE": self.table,
            "PYTHONPATH": str(ROOT),
            "POWERTOOLS_SERVICE_NAME": "openai-usage-tracker",
            "POWERTOOLS_METRICS_NAMESPACE": "OpenAIUsageTracker",
            "POWERTOOLS_LOG_LEVEL": "INFO",  # the prod stage's level
        }


def run_child(target: Target, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run `bench.child` with `spec`; its result plus the bytes it logged."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        out = Path(tmp) / "result.json"
        done = subprocess.run(
            [sys.executable, "-m", "bench.child", json.dumps(dict(spec)), str(out)],
            cwd=ROOT,
            env=target.child_env(),
            capture_output=True,
            timeout=CHILD_TIMEOUT_SECONDS * max(1, int(spec.get("keys", 1000)) // 1000),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bench.child {spec['mode']} failed:\n{done.stderr.decode()[-4000:]}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["log_bytes"] = len(done.stdout)
    return result


# -- what a run could touch --------------------------------------------------------------------
def _query(client: Any, table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("query").paginate(TableName=table, **kwargs):
        yield from page.get("Items", [])


def _eq(pk: str) -> dict[str, Any]:
    return {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": pk}}}


def rollup_store(target: Target) -> RollupStore:
    """The target's rollups through the bench's own (unmetered) boto3 resource."""
    env = target.env
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )
    return RollupStore(resource.Table(target.table))


def window_items(client: Any, target: Target, days: list[str]) -> dict[tuple[str, str], Any]:
    """Every item an incremental run over `days` may write: the days' rollups (where
    chalicelib.store.rollups keeps them) and the bookkeeping partitions."""
    found: dict[tuple[str, str], Any] = {}
    rollups = rollup_store(target)
    for day in days:
        found.update(rollups.stored_day(day))
    for pk in ("META", "MAP", "DIR", "UNMAPPED"):
        found.update({(pk, item["sk"]["S"]): item for item in _query(client, target.table, **_eq(pk))})
    return found


def changed_items(
    before: Mapping[tuple[str, str], Any], after: Mapping[tuple[str, str], Any]
) -> dict[str, int]:
    """Items added, removed or modified between two readings, by partition kind."""
    changed: Counter[str] = Counter()
    for key in before.keys() | after.keys():
        if before.get(key) != after.get(key):
            changed[partition_kind(key[0])] += 1
    return dict(sorted(changed.items()))


def window_days(now: int, reread_hours: int = 48) -> list[str]:
    """The UTC days an incremental run at `now` recomputes (chalicelib.collector.incremental_window)."""
    start = floor_day(now - reread_hours * HOUR)
    return [day_label(ts) for ts in range(start, now, DAY)]


def raw_scan(
    env: Mapping[str, str], table: str, segment: int = 0, segments: int = 1
) -> Iterator[list[dict[str, Any]]]:
    """Pages of one segment of a Scan as DynamoDB's own JSON (typed values): signed by botocore,
    parsed by `json`, no boto3 parsing or deserializing of 100,000+ items."""
    credentials = Credentials(
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")
    )
    url = env["AWS_ENDPOINT_URL_DYNAMODB"]
    start: dict[str, Any] | None = None
    with requests.Session() as session:
        while True:
            query: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": segments}
            body = json.dumps({**query, **({"ExclusiveStartKey": start} if start else {})})
            request = AWSRequest(
                method="POST",
                url=url,
                data=body,
                headers={
                    "Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "DynamoDB_20120810.Scan",
                },
            )
            SigV4Auth(credentials, "dynamodb", env["AWS_DEFAULT_REGION"]).add_auth(request)
            page = _scan_page(session, url, body, dict(request.headers))
            yield page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return


SCAN_ATTEMPTS = 4
"""Tries of one Scan page: DynamoDB Local answers 500 now and then under a large in-memory table
(10,000 keys x 90 days: ~3.8 GB resident), which once cost a whole 80-minute run its results."""


def _scan_page(session: requests.Session, url: str, body: str, headers: dict[str, str]) -> dict[str, Any]:
    for attempt in range(1, SCAN_ATTEMPTS + 1):
        try:
            response = session.post(url, data=body, headers=headers, timeout=300)
            if response.status_code < 500 or attempt == SCAN_ATTEMPTS:
                response.raise_for_status()
                return dict(response.json())
        except requests.ConnectionError:
            if attempt == SCAN_ATTEMPTS:
                raise
        time.sleep(attempt)  # a backoff between tries of a bench tool, not a synchronisation
    raise AssertionError("unreachable")


def _segment_sizes(
    env: Mapping[str, str], table: str, segment: int, segments: int
) -> dict[str, dict[str, int]]:
    kinds: dict[str, dict[str, int]] = {}
    for page in raw_scan(env, table, segment, segments):
        for item in page:
            size = item_size(item)
            entry = kinds.setdefault(
                partition_kind(item["pk"]["S"]), {"items": 0, "bytes": 0, "max_bytes": 0}
            )
            entry["items"] += 1
            entry["bytes"] += size
            entry["max_bytes"] = max(entry["max_bytes"], size)
    return kinds


def table_storage(env: Mapping[str, str], table: str) -> dict[str, Any]:
    """Items and bytes of the whole table by partition kind (a parallel Scan outside any meter)."""
    kinds: dict[str, dict[str, int]] = {}
    with ThreadPoolExecutor(SCAN_SEGMENTS) as pool:
        parts = pool.map(lambda i: _segment_sizes(env, table, i, SCAN_SEGMENTS), range(SCAN_SEGMENTS))
        for part in parts:
            for kind, found in part.items():
                entry = kinds.setdefault(kind, {"items": 0, "bytes": 0, "max_bytes": 0})
                entry["items"] += found["items"]
                entry["bytes"] += found["bytes"]
                entry["max_bytes"] = max(entry["max_bytes"], found["max_bytes"])
    items = sum(entry["items"] for entry in kinds.values())
    raw = sum(entry["bytes"] for entry in kinds.values())
    return {
        "items": items,
        "bytes": raw,
        "billed_bytes": raw + ITEM_STORAGE_OVERHEAD * items,
        "max_item_bytes": max((entry["max_bytes"] for entry in kinds.values()), default=0),
        "by_kind": dict(sorted(kinds.items())),
    }


# -- the sequence ---------------------------------------------------------------------------------
def measure_collector(
    org: SyntheticOrg,
    server: SimulatorServer,
    target: Target,
    client: Any,
    backfill_days: int = BACKFILL_DAYS,
) -> dict[str, Any]:
    """Backfill (the `backfill_days` before today), warm run, measured run (with the before/after
    reading): the org's clock moves 15 min."""
    now = org.now
    today = floor_day(now)
    spec = {"base_url": server.base_url, "now": now, "keys": org.spec.keys}
    backfill = run_child(
        target, {**spec, "mode": "backfill", "start": today - backfill_days * DAY, "end": today}
    )
    warm = run_child(target, {**spec, "mode": "incremental"})
    now = org.advance(SCHEDULE_SECONDS)
    days = window_days(now)
    before = window_items(client, target, days)
    server.reset_calls()
    incremental = run_child(target, {**spec, "mode": "incremental", "now": now})
    incremental["simulator_calls"] = dict(server.calls)
    after = window_items(client, target, days)
    incremental["changed_items"] = changed_items(before, after)
    return {"backfill": backfill, "warm_incremental": warm, "incremental": incremental}


def measure_directory_sync(org: SyntheticOrg, server: SimulatorServer, target: Target) -> dict[str, Any]:
    """The directory sync a run does every six hours, alone, six simulated hours after the last."""
    now = org.advance(DIRECTORY_SYNC_HOURS * HOUR - SCHEDULE_SECONDS)
    return run_child(target, {"mode": "sync", "base_url": server.base_url, "now": now, "keys": org.spec.keys})


def measure_next_day_periods(org: SyntheticOrg, server: SimulatorServer, target: Target) -> dict[str, Any]:
    """The periods step of the next day's first run (the windows a day on), alone; run after the
    dashboard's queries, which it would otherwise send to the days (their periods are today's)."""
    spec = {"mode": "periods", "base_url": server.base_url, "now": org.now + DAY, "keys": org.spec.keys}
    return run_child(target, spec)


def project_storage(storage: Mapping[str, Any], days_stored: int, days: int = 365) -> dict[str, int]:
    """Items and billed bytes once the table holds `days` of daily rollups: daily kinds (DD, AD) grow
    linearly from the `days_stored` measured, hourly kinds (HD, AH) are already at their retention,
    the rest (directory, bookkeeping) stays."""
    items = 0
    raw = 0
    for kind, entry in storage["by_kind"].items():
        factor = days / days_stored if kind in DAILY_KINDS else 1.0
        items += round(entry["items"] * factor)
        raw += round(entry["bytes"] * factor)
    return {"days": days, "items": items, "bytes": raw, "billed_bytes": raw + ITEM_STORAGE_OVERHEAD * items}
