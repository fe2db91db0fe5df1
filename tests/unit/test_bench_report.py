"""bench/report.py's issue-14 verdicts: every dashboard request judged on the deployed API Lambda."""

from __future__ import annotations

from typing import Any

from bench import report


def _route(p50: float, cpu: float) -> dict[str, Any]:
    return {
        "name": "usage 90 days by api_key_id",
        "status": 200,
        "p50_ms": p50,
        "p95_ms": p50,
        "cpu_p50_ms": cpu,
        "cold_ms": p50,
        "response_bytes": 1000,
        "period_days": 90,
        "dynamodb": {"requests": 4, "bytes_read": 1000, "read_units": 1.0, "items_read": 1},
    }


def test_cpu_slows_to_the_share_of_a_vcpu_and_waiting_does_not() -> None:
    route = _route(p50=40.0, cpu=30.0)
    assert report.deployed_ms(route, 1769) == 40.0
    assert report.deployed_ms(route, 3538) == 40.0  # never faster than one vCPU
    assert round(report.deployed_ms(route, 256), 1) == round(30.0 * 1769 / 256 + 10.0, 1)


def test_every_route_is_judged_against_its_size_target() -> None:
    queries = {"routes": [_route(p50=40.0, cpu=30.0), {**_route(p50=400.0, cpu=390.0), "name": "keys"}]}
    memory = report.api_memory_mb()
    checks = report._query_checks(queries, 1000)
    assert [check.met for check in checks] == [True, False]  # 390 ms of CPU is over 150 at any size
    assert "not met" in checks[1].verdict
    assert "deployed" in checks[1].why
    at_10k = report._query_checks(queries, 10_000)
    assert report.query_target_ms(10_000) == 500.0
    assert at_10k[1].met is (report.deployed_ms(queries["routes"][1], memory) <= 500.0)


def test_the_bill_is_judged_against_its_size_target() -> None:
    assert report.monthly_target_usd(1000) == 3.0
    assert report.monthly_target_usd(10_000) == 10.0
    assert report.monthly_target_usd(100) == 3.0


def _collector_size(wall_s: float, cpu_s: float, rss_mb: float) -> dict[str, Any]:
    run = {
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "peak_rss_mb": rss_mb,
        "openai": {"collection": 12, "directory": 0},
        "dynamodb": {"items_written": 4, "write_units": 4.0, "written_by_kind": {"HD": 1, "META": 3}},
        "changed_items": {"HD": 1},
    }
    chunk_writes = {**run["dynamodb"], "written_by_kind": {"META": 1}}  # the progress item
    chunk = {**run, "first_day": "2026-11-19", "dynamodb": chunk_writes}
    return {
        "keys": 10_000,
        "collector": {"incremental": run, "backfill": {**run, "chunks": [chunk]}},
    }


def test_the_collector_is_judged_at_the_collect_lambdas_configured_memory() -> None:
    memory = report.collect_memory_mb()
    # CPU that takes 59 s at the configured size, and a peak just under / over it
    cpu = 59.0 * min(1.0, memory / 1769)
    fits = {c.measure: c for c in report.size_checks(_collector_size(cpu, cpu, memory - 1))}
    over = {c.measure: c for c in report.size_checks(_collector_size(cpu * 1.05, cpu * 1.05, memory + 1))}
    time_measure = f"Incremental run: time at {memory} MB (the collect Lambda's size)"
    assert fits[time_measure].met is True
    assert over[time_measure].met is False
    assert fits["Incremental run: peak memory (subprocess VmHWM)"].target == f"< {memory} MB"
    assert fits["Incremental run: peak memory (subprocess VmHWM)"].met is True
    assert over["Incremental run: peak memory (subprocess VmHWM)"].met is False
    assert round(report.at_collector(10.0, 4.0), 6) == round(4.0 * 1769 / min(memory, 1769) + 6.0, 6)
