"""Cold start: `import app` against `import boto3` in fresh interpreters, and the deployment package.

Each import is timed inside a new `python -c` (interpreter start-up excluded), the two alternating so
that a busy moment of this shared machine hits both alike; one untimed round first writes the
bytecode caches, as a deployed package ships them compiled or compiles them once. `python -X
importtime` names the heaviest top-level imports of `app`. Beside them, `import app` followed by
every route's module (`ROUTE_MODULES`): app.py's handlers import their module on a route's first
request, so that is what a container that has served every route has imported, for comparison.
`python -m bench.coldstart [--runs N]` prints these figures alone. The package is what `chalice package`
builds (AWS_DEFAULT_REGION=us-east-1), measured as the size of its deployment.zip.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_TIMER = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)
_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
# The modules app.py's handlers import when first called, one per route family.
ROUTE_MODULES = tuple(
    f"chalicelib.query.{name}"
    for name in (
        "health",
        "usage",
        "keys",
        "pools",
        "compare",
        "export",
        "reconciliation",
        "alerts",
        "forecast",
        "hygiene",
        "admin",
    )
)
APP_WITH_ROUTES = ", ".join(("app", *ROUTE_MODULES))  # one `import a, b, ...` statement


def _clean_env() -> dict[str, str]:
    """An environment with no endpoints or stage variables: what `import` must not need."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(PYTHONPATH=str(ROOT), AWS_DEFAULT_REGION="us-east-1")
    return env


def time_import(module: str) -> tuple[float, float]:
    """Wall and CPU seconds `import module` takes in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _TIMER.format(module=module)],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def heaviest_imports(module: str, top: int = 8) -> list[dict[str, Any]]:
    """The top-level packages that `import module` spends its time in (cumulative microseconds)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    by_package: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, name = int(match.group(1)), match.group(4)
            by_package[name.split(".")[0]] += self_us
    return [{"package": name, "ms": round(us / 1000, 1)} for name, us in by_package.most_common(top)]


def measure_imports(runs: int = 15) -> dict[str, Any]:
    """Median `import app` and `import boto3` over `runs` alternating fresh interpreters: wall time,
    and CPU time (steadier on a shared machine: waiting for a core is not counted)."""
    time_import("boto3")
    time_import(APP_WITH_ROUTES)
    boto3_s: list[tuple[float, float]] = []
    app_s: list[tuple[float, float]] = []
    routes_s: list[tuple[float, float]] = []
    for _ in range(runs):
        boto3_s.append(time_import("boto3"))
        app_s.append(time_import("app"))
        routes_s.append(time_import(APP_WITH_ROUTES))

    def median_ms(values: list[tuple[float, float]], index: int) -> float:
        return round(statistics.median(v[index] for v in values) * 1000, 1)

    result: dict[str, Any] = {
        "runs": runs,
        "boto3_ms": [round(wall * 1000, 1) for wall, _ in boto3_s],
        "app_ms": [round(wall * 1000, 1) for wall, _ in app_s],
        "boto3_median_ms": median_ms(boto3_s, 0),
        "app_median_ms": median_ms(app_s, 0),
        "boto3_cpu_median_ms": median_ms(boto3_s, 1),
        "app_cpu_median_ms": median_ms(app_s, 1),
        "app_with_routes_median_ms": median_ms(routes_s, 0),
        "app_with_routes_cpu_median_ms": median_ms(routes_s, 1),
    }
    result["wall_ratio"] = round(result["app_median_ms"] / result["boto3_median_ms"], 2)
    result["cpu_ratio"] = round(result["app_cpu_median_ms"] / result["boto3_cpu_median_ms"], 2)
    result["app_heaviest_imports"] = heaviest_imports("app")
    return result


def measure_package() -> dict[str, Any]:
    """Size of `chalice package`'s deployment.zip, and what takes the room in it."""
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        out = Path(tmp) / "package"
        env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
        subprocess.run(
            [str(Path(sys.executable).parent / "chalice"), "package", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
            timeout=600,
        )
        archive = out / "deployment.zip"
        size = archive.stat().st_size
        compressed: Counter[str] = Counter()
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                compressed[info.filename.split("/")[0]] += info.compress_size
            files = len(zipped.infolist())
    return {
        "bytes": size,
        "mb": round(size / 1024**2, 2),
        "files": files,
        "largest": [{"entry": name, "kb": round(n / 1024, 1)} for name, n in compressed.most_common(6)],
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.coldstart`: the import figures as JSON, and the verdict's line last."""
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per import")
    args = parser.parse_args(argv)
    result = measure_imports(args.runs)
    print(json.dumps(result, indent=2))
    print(
        f"import app / import boto3: {result['cpu_ratio']:.2f}x CPU ({result['app_cpu_median_ms']:.0f} / "
        f"{result['boto3_cpu_median_ms']:.0f} ms), {result['wall_ratio']:.2f}x wall; with every route's "
        f"module: {result['app_with_routes_cpu_median_ms']:.0f} ms CPU"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
