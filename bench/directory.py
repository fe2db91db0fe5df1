"""The directory read at one size, from its DIR items and from its snapshot: `python -m bench.directory`.

Seeds a table on DynamoDB Local through the real path (the simulator's organization of the bench's
shape, `chalicelib.keys.sync.sync_directory`), then measures `DirectoryStore.directory()` three times: with
the snapshot's items set aside (the read every container paid before the snapshot: the DIR items,
plus one empty Query of the snapshot's partition), with them back in a container that has decoded
none, and in one that has (its head's GetItem). Every read must give the same directory. Also the
cost of a sync six simulated hours later.
Prints a markdown table and writes JSON to `--out` when given.

    python -m bench.directory --keys 10000 [--runs 3] [--out /tmp/dir.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import collector
from bench.instrument import DynamoMeter

ADMIN_KEY = "sk-admin-bench-simulator"


def _timed(meter: DynamoMeter, read: Callable[[], Any], runs: int) -> tuple[Any, dict[str, Any]]:
    """`read()` once metered (requests, bytes), then `runs` times for its CPU (median)."""
    before = meter.snapshot()
    result = read()
    counts = meter.snapshot().minus(before)
    cpus: list[float] = []
    for _ in range(runs):
        started = time.process_time()
        read()
        cpus.append(time.process_time() - started)
    return result, {
        "requests": counts.requests,
        "items_read": counts.items_read,
        "bytes_read": counts.bytes_read,
        "read_bytes_by_kind": dict(counts.read_bytes_by_kind),
        "read_units": counts.billed_read_units,
        "cpu_p50_ms": round(statistics.median(cpus) * 1000, 1),
    }


def measure(keys: int, runs: int) -> dict[str, Any]:
    """Seed `keys` keys through a sync, then measure both reads and a second sync."""
    from chalicelib import aws  # noqa: PLC0415 - after the environment points at the local stack
    from chalicelib.keys.sync import sync_directory  # noqa: PLC0415
    from chalicelib.openai_api import OpenAIAdminClient  # noqa: PLC0415
    from chalicelib.settings import get_settings  # noqa: PLC0415
    from chalicelib.store import directory_snapshot  # noqa: PLC0415
    from chalicelib.store.directory import DirectoryStore  # noqa: PLC0415
    from chalicelib.store.table import ensure_table  # noqa: PLC0415
    from simulator import SimulatorServer, SyntheticOrg  # noqa: PLC0415

    os.environ["USAGE_TABLE"] = f"bench-dir-{keys}-{uuid.uuid4().hex[:8]}"
    get_settings.cache_clear()
    aws.cache_clear()
    ensure_table()
    table = aws.dynamodb_table()
    meter = DynamoMeter()
    meter.attach(table.meta.client)
    spec = dataclasses.replace(collector.org_spec(keys), days=1)  # the directory needs no usage
    result: dict[str, Any] = {"keys": keys, "spec": repr(spec)}
    with SimulatorServer(SyntheticOrg(spec)) as server:
        client = OpenAIAdminClient(server.base_url, ADMIN_KEY)
        first = sync_directory(client, DirectoryStore(), collector.NOW)
        result["directory"] = {"keys": first.keys, "projects": first.projects, "users": first.users}
        before = meter.snapshot()
        started = time.perf_counter()
        later_now = collector.NOW + collector.DIRECTORY_SYNC_HOURS * 3600
        later = sync_directory(client, DirectoryStore(), later_now)
        sync = meter.snapshot().minus(before)
        result["sync_6h_later"] = {
            "wall_s": round(time.perf_counter() - started, 1),
            "dir_items_written": later.items_written,
            "requests": sync.requests,
            "by_operation": dict(sync.by_operation),
            "written_by_kind": dict(sync.written_by_kind),
            "write_units": sync.write_units,
            "read_units": sync.billed_read_units,
        }
    snapshot_items: list[dict[str, Any]] = list(
        table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "DIRSNAP"})["Items"]
    )
    parts = [item for item in snapshot_items if item["sk"] != "head"]
    result["snapshot"] = {
        "parts": len(parts),
        "compressed_bytes": sum(len(bytes(item["z"])) for item in parts),
        "largest_part_bytes": max(len(bytes(item["z"])) for item in parts),
    }

    def cold() -> Any:  # a container that has decoded no snapshot yet
        directory_snapshot.forget_decoded()
        return DirectoryStore().directory()

    for item in snapshot_items:  # set aside: the read as it was before the snapshot
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    from_items, result["read_from_items"] = _timed(meter, cold, runs)
    for item in snapshot_items:
        table.put_item(Item=item)
    from_snapshot, result["read_from_snapshot"] = _timed(meter, cold, runs)
    warm, result["read_from_snapshot_warm"] = _timed(meter, lambda: DirectoryStore().directory(), runs)
    if not from_snapshot == warm == from_items or directory_snapshot.read(table) is None:
        raise SystemExit("the snapshot does not read back equal to the items")
    result["equal"] = True
    return result


def render(result: dict[str, Any]) -> str:
    """A markdown table of one measurement."""
    rows = [
        "| directory read | requests | items | bytes read | RCU | CPU p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    reads = (
        ("DIR items (before)", "read_from_items"),
        ("snapshot (after), first read of a container", "read_from_snapshot"),
        ("snapshot (after), container that decoded it", "read_from_snapshot_warm"),
    )
    for label, name in reads:
        read = result[name]
        rows.append(
            f"| {label} | {read['requests']} | {read['items_read']:,} | {read['bytes_read']:,} "
            f"| {read['read_units']} | {read['cpu_p50_ms']} |"
        )
    snap, sync = result["snapshot"], result["sync_6h_later"]
    return "\n".join(
        [
            f"{result['keys']:,} keys ({result['directory']}), equal: {result['equal']}",
            *rows,
            f"snapshot: {snap['parts']} parts, {snap['compressed_bytes']:,} bytes compressed "
            f"(largest part {snap['largest_part_bytes']:,})",
            f"sync 6 h later: {sync['dir_items_written']:,} DIR items written, {sync['requests']} requests, "
            f"{sync['write_units']} WCU, {sync['read_units']} RCU, written by kind {sync['written_by_kind']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Start the local stack, measure, print."""
    from devstack import LocalStack  # noqa: PLC0415 - keeps `--help` instant

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="timed reads of each kind (CPU median)")
    parser.add_argument("--out", type=Path, help="where to write the JSON result")
    args = parser.parse_args(argv)
    with LocalStack() as stack:
        os.environ.update(stack.env())
        result = measure(args.keys, args.runs)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
