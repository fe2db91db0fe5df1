"""One collector run in a fresh interpreter, measured: `python -m bench.child SPEC_JSON OUT_PATH`.

A subprocess, so that its peak resident memory (`ru_maxrss`) is the collector's alone, as a Lambda
would see it: the OpenAI simulator and DynamoDB Local run elsewhere. SPEC is JSON:

    {"mode": "incremental" | "backfill" | "sync" | "periods", "base_url": ..., "now": int,
     "start": int, "end": int}                       (start/end for a backfill only)

`periods` is the step a day's first run adds to a run (chalicelib.store.periods.materialize, the
windows a day on: shifted by difference or summed whole), alone, as of `now` with Costs read then.

The environment names the table and the local endpoints. The result (JSON at OUT_PATH) holds wall
and CPU seconds of the run (imports excluded, client creation included), the CPU seconds the
imports took, peak RSS, OpenAI calls by path, DynamoDB counts from `bench.instrument.DynamoMeter`
and, for a backfill, the same per chunk. Whatever the collector logs goes to stdout, which the
parent counts as CloudWatch Logs bytes.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_CPU_AT_START = time.process_time()

from bench.instrument import DynamoCounts, DynamoMeter, S3Meter  # noqa: E402
from chalicelib import aws  # noqa: E402 - the imports are what the first CPU reading measures
from chalicelib.catalog import PriceTable  # noqa: E402
from chalicelib.collector import CollectionResult, CollectorConfig  # noqa: E402
from chalicelib.keys.sync import sync_directory  # noqa: E402
from chalicelib.money import Settlement  # noqa: E402
from chalicelib.observability import metrics  # noqa: E402
from chalicelib.openai_api import OpenAIAdminClient  # noqa: E402
from chalicelib.periods import day_label  # noqa: E402
from chalicelib.runner import Runner, answers_hook  # noqa: E402
from chalicelib.settings import get_settings  # noqa: E402
from chalicelib.store.directory import DirectoryStore  # noqa: E402
from chalicelib.store.periods import materialize  # noqa: E402
from chalicelib.store.rollups import RollupStore  # noqa: E402
from chalicelib.store.table import reset_stats  # noqa: E402

ADMIN_KEY = "sk-admin-bench-simulator"
COLLECTION_PREFIXES = ("/organization/usage/", "/organization/costs")


def split_calls(by_path: dict[str, int]) -> dict[str, int]:
    """OpenAI calls split into usage/costs (the collection) and the directory (projects, keys, users)."""
    collection = sum(n for path, n in by_path.items() if path.startswith(COLLECTION_PREFIXES))
    return {"collection": collection, "directory": sum(by_path.values()) - collection}


def _rss_mb() -> float:
    """Peak resident memory of this process image, MB.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so a child's ru_maxrss starts
    at its parent's size at the fork (the bench's parent holds Chromium's driver, Chalice, the
    simulator); VmHWM belongs to the address space exec created.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class _Clock:
    """Wall and CPU time, DynamoDB counts and OpenAI calls since the last lap."""

    meter: DynamoMeter
    client: OpenAIAdminClient
    wall: float = field(default_factory=time.perf_counter)
    cpu: float = field(default_factory=time.process_time)
    counts: DynamoCounts = field(default_factory=DynamoCounts)
    calls: dict[str, int] = field(default_factory=dict)

    def lap(self) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        counts, calls = self.meter.snapshot(), dict(self.client.stats.by_path)
        delta_calls = {
            path: n - self.calls.get(path, 0) for path, n in calls.items() if n - self.calls.get(path, 0)
        }
        result = {
            "wall_s": round(wall - self.wall, 3),
            "cpu_s": round(cpu - self.cpu, 3),
            "openai": {**split_calls(delta_calls), "by_path": delta_calls},
            "dynamodb": counts.minus(self.counts).as_dict(),
        }
        self.wall, self.cpu, self.counts, self.calls = wall, cpu, counts, calls
        return result


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Do the run `spec` asks for and measure it."""
    import_cpu = time.process_time() - _CPU_AT_START
    rss_before = _rss_mb()
    meter = DynamoMeter(measure_bytes=False)
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    client = OpenAIAdminClient(spec["base_url"], ADMIN_KEY)
    runner = Runner(client, config=CollectorConfig(), prices=PriceTable.load())
    runner.answers_hook = answers_hook(runner, get_settings())  # as default_runner wires it
    meter.attach(aws.dynamodb_table().meta.client)
    meter.attach(aws.dynamodb_client())
    s3 = S3Meter()  # the answers the run materializes
    s3.attach(aws.s3_client())
    reset_stats()
    clock = _Clock(meter, client)
    chunks: list[dict[str, Any]] = []
    report: dict[str, Any] = {}
    if spec["mode"] == "incremental":
        report = asdict(runner.incremental(spec["now"]))
    elif spec["mode"] == "backfill":

        def on_chunk(chunk: CollectionResult) -> None:
            lap = clock.lap()
            lap.update(days=len(chunk.days), first_day=chunk.days[0], last_day=chunk.days[-1])
            lap.update(rows_read=chunk.rows_read, rollup_items_written=chunk.items_written)
            lap["rss_mb"] = round(_rss_mb(), 1)
            chunks.append(lap)

        report = asdict(runner.backfill(spec["start"], spec["end"], spec["now"], progress=on_chunk))
    elif spec["mode"] == "periods":
        identities = DirectoryStore().identities()
        written = materialize(
            RollupStore(), day_label(spec["now"]), Settlement(spec["now"]), identities, trust_own_writes=True
        )
        report = {"period_items_written": written}
    elif spec["mode"] == "sync":
        sync = sync_directory(client, DirectoryStore(), spec["now"])
        report = {"keys": sync.keys, "projects": sync.projects, "users": sync.users}
        report["items_written"] = sync.items_written
    else:
        raise ValueError(f"unknown mode {spec['mode']!r}")
    tail = clock.lap()  # a backfill's directory sync and unmapped keys; everything for the others
    metrics.flush_metrics()  # as the scheduled handler does: the EMF line is part of the log bytes
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    calls = dict(client.stats.by_path)
    return {
        "mode": spec["mode"],
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "import_cpu_s": round(import_cpu, 3),
        "rss_after_imports_mb": round(rss_before, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "openai": {**split_calls(calls), "by_path": calls, "retries": client.stats.retries},
        "dynamodb": meter.snapshot().as_dict(),
        "s3": s3.snapshot().as_dict(),
        "report": {k: v for k, v in report.items() if k not in {"days", "new_unmapped"}},
        "chunks": chunks,
        "after_chunks": tail if chunks else None,
    }


def main(argv: list[str]) -> int:
    """Entry point: SPEC_JSON OUT_PATH."""
    spec = json.loads(argv[1])
    result = run(spec)
    Path(argv[2]).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
