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
