"""The bench's cost model: Lambda time at a memory size, and the monthly bill's arithmetic by hand."""

from __future__ import annotations

import pytest

from bench.costs import (
    Assumptions,
    Prices,
    RunCost,
    Workload,
    lambda_seconds,
    monthly_bill,
    total,
)
from bench.report import at_256mb


def _line(lines, service):
    return next(line for line in lines if line.service == service)


def _workload(**changes):
    base = {
        "incremental": RunCost(wall_s=2.0, cpu_s=1.0, init_cpu_s=0.5, read_units=40, write_units=100),
        "directory_sync": RunCost(wall_s=1.0, cpu_s=0.5, read_units=10, write_units=50),
        "first_load_requests": [RunCost(wall_s=0.1, cpu_s=0.05, read_units=2.5, response_bytes=1000)] * 4,
        "api_init_cpu_s": 0.3,
        "static_requests": 17,
        "static_bytes": 50_000,
        "storage_bytes_year": 1024**3,
    }
    return Workload(**{**base, **changes})


def test_a_lambda_with_a_whole_vcpu_takes_the_local_wall_time():
    assert lambda_seconds(RunCost(wall_s=2.0, cpu_s=1.0), 1769, cold=False) == pytest.approx(2.0)


def test_a_256_mb_lambda_stretches_only_the_cpu_part():
    # 1 CPU second at 256/1769 of a vCPU, plus the second spent waiting
    assert at_256mb(2.0, 1.0) == pytest.approx(1769 / 256 + 1.0)


def test_a_cold_start_adds_the_scaled_import_time():
    run = RunCost(wall_s=1.0, cpu_s=1.0, init_cpu_s=0.5)

    assert lambda_seconds(run, 1769, cold=True) - lambda_seconds(run, 1769, cold=False) == pytest.approx(0.5)


def test_a_fifteen_minute_schedule_runs_2880_times_a_month():
    assert Assumptions().runs_per_month == 2880
    assert Assumptions(schedule_minutes=60).runs_per_month == 720


def test_dynamodb_writes_are_runs_and_syncs_times_their_write_units():
    lines = monthly_bill(_workload(), Assumptions())

    # 2,880 runs x 100 WRU + 120 syncs x 50 WRU = 294,000 WRU at $0.625 per million
    assert _line(lines, "DynamoDB writes").usd == pytest.approx(294_000 / 1e6 * 0.625)


def test_dashboard_reads_scale_with_views_loads_and_requests():
    assume = Assumptions(dashboard_views_per_day=10, loads_per_view=2)
    lines = monthly_bill(_workload(), assume)

    collector = 2880 * 40 + 120 * 10
    dashboard = 30 * 10 * 2 * 4 * 2.5
    assert _line(lines, "DynamoDB reads").usd == pytest.approx((collector + dashboard) / 1e6 * 0.125)


def test_storage_is_billed_with_point_in_time_recovery():
    lines = monthly_bill(_workload(), Assumptions())

    assert _line(lines, "DynamoDB storage + PITR").usd == pytest.approx(0.25 + 0.20)


def test_fixed_monthly_lines_do_not_depend_on_traffic():
    quiet = monthly_bill(_workload(), Assumptions(dashboard_views_per_day=0))

    assert _line(quiet, "CloudWatch custom metrics").usd == pytest.approx(6 * 0.30)
    assert _line(quiet, "Secrets Manager").usd == pytest.approx(0.40 + 2880 / 1e4 * 0.05)
    assert _line(quiet, "API Gateway (REST)").usd == 0


def test_the_total_is_the_sum_of_the_lines_and_prices_can_be_changed():
    lines = monthly_bill(_workload(), Assumptions(), Prices(cloudwatch_custom_metric_month=0))

    assert total(lines) == pytest.approx(sum(line.usd for line in lines))
    assert _line(lines, "CloudWatch custom metrics").usd == 0


def test_lambda_duration_counts_collector_cold_starts_at_its_memory():
    assume = Assumptions(dashboard_views_per_day=0)
    lines = monthly_bill(_workload(directory_sync=RunCost(wall_s=0, cpu_s=0)), assume)

    per_run = 1.0 / (512 / 1769) + 1.0 + 0.5 / (512 / 1769)
    assert _line(lines, "Lambda duration").usd == pytest.approx(2880 * per_run * 0.5 * 0.0000166667)


def test_the_cheap_changes_remove_the_secret_and_compress_api_responses():
    assume = Assumptions(admin_key_in_secrets_manager=False, api_response_compression=0.1)
    plain = monthly_bill(_workload(), Assumptions())
    cheap = monthly_bill(_workload(), assume)

    assert _line(cheap, "Secrets Manager").usd == 0
    requests_usd = 30 * 100 * 3 * 4 / 1e6 * 3.50
    out_plain = _line(plain, "API Gateway (REST)").usd - requests_usd
    out_cheap = _line(cheap, "API Gateway (REST)").usd - requests_usd
    assert out_cheap == pytest.approx(out_plain * 0.1)
