"""The cold start's figures: `import app` alone is INIT; the routes' modules, which app.py's handlers
import on their first request, still count in a new container's bill and show in the report."""

from __future__ import annotations

from typing import Any

from bench import report, run


def _cold_start(**changes: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "runs": 3,
        "boto3_median_ms": 200.0,
        "app_median_ms": 230.0,
        "boto3_cpu_median_ms": 190.0,
        "app_cpu_median_ms": 220.0,
        "app_with_routes_median_ms": 290.0,
        "app_with_routes_cpu_median_ms": 280.0,
        "wall_ratio": 1.15,
        "cpu_ratio": 1.16,
        "app_heaviest_imports": [{"package": "botocore", "ms": 40.0}],
    }
    return {**figures, **changes}


def test_a_new_api_container_is_billed_for_the_routes_modules_it_imports_later() -> None:
    assert run._api_init_cpu_ms(_cold_start()) == 280.0
    older = _cold_start()
    del older["app_with_routes_cpu_median_ms"]
    assert run._api_init_cpu_ms(older) == 220.0  # results from before the lazy handlers
    assert run._api_init_cpu_ms({}) == 0.0


def test_the_report_shows_import_app_with_the_routes_modules_beside_the_ratio() -> None:
    lines = report._cold_start_section({"cold_start": _cold_start()})

    text = "\n".join(lines)
    assert "1.16x" in text
    assert "every route's module" in text
    assert "CPU 280 ms, wall 290 ms" in text
    [check] = report.global_checks({"cold_start": _cold_start()})
    assert check.met is True
    assert report.global_checks({"cold_start": _cold_start(cpu_ratio=1.6)})[0].met is False
