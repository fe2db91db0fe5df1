"""The cold start's import graph: `import app` loads what every request needs and no route's modules;
a route's first request loads its own, and still nothing that only the collector, the CLI, the
digest, live 1m reads, SNS or Secrets Manager need (app.py's docstring, docs/design.md "Cold start").

Each question is asked of a fresh interpreter with no endpoints or stage variables (as
bench/coldstart.py times `import app`): what a module loads is only visible before anything else has.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.coldstart import ROUTE_MODULES
from chalicelib import query

ROOT = Path(__file__).resolve().parents[2]

# Modules only the collector, the CLI, the digest, live 1m reads, SNS or Secrets Manager need (and
# the third-party modules they bring): no API request on stored data loads them.
NOT_FOR_REQUESTS = (
    "chalicelib.collector",
    "chalicelib.runner",
    "chalicelib.cli",
    "chalicelib.digest",
    "chalicelib.digest_send",
    "chalicelib.alerts.engine",
    "chalicelib.alerts.publisher",
    "chalicelib.secrets",
    "chalicelib.openai_api",
    "chalicelib.openai_transport",
    "chalicelib.query.live",
    "chalicelib.keys.sync",
    "requests",
    "argparse",
    "aws_lambda_powertools.utilities.parameters",
)


def _loaded_after(*imports: str) -> tuple[set[str], set[str]]:
    """(modules loaded by `import app`, modules loaded by the `imports` after it), in a fresh
    interpreter."""
    code = (
        "import json, sys\n"
        "import app\n"
        "first = set(sys.modules)\n"
        f"for name in {list(imports)!r}:\n"
        "    __import__(name)\n"
        "print(json.dumps([sorted(first), sorted(set(sys.modules) - first)]))\n"
    )
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update(PYTHONPATH=str(ROOT), AWS_DEFAULT_REGION="us-east-1")
    argv = [sys.executable, "-c", code]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    first, then = json.loads(done.stdout.strip().splitlines()[-1])
    return set(first), set(then)


def _under(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_import_app_loads_the_middleware_and_no_route_modules():
    at_import, _ = _loaded_after()

    assert {"chalice.app", "chalicelib.responses", "chalicelib.auth", "boto3"} <= at_import
    assert _under(at_import, ROUTE_MODULES) == []
    assert _under(at_import, NOT_FOR_REQUESTS) == []
    # the report's machinery (prices, rollups, the directory) waits for a route that reads it
    assert _under(at_import, ("chalicelib.catalog", "chalicelib.store.rollups", "chalicelib.keys")) == []


@pytest.mark.parametrize("module", ROUTE_MODULES)
def test_a_routes_first_request_loads_nothing_only_the_collector_or_the_cli_needs(module):
    at_import, for_route = _loaded_after(module)

    assert module in for_route  # not already loaded by `import app`: its handler loads it
    assert _under(at_import | for_route, NOT_FOR_REQUESTS) == []


def test_the_health_check_loads_no_usage_report():
    # uptime checks and the dashboard's first request: a verdict and the limits, not the report
    _, for_health = _loaded_after("chalicelib.query.health")

    assert "chalicelib.store.meta" in for_health
    report = ("chalicelib.query.usage", "chalicelib.query.report", "chalicelib.catalog")
    assert _under(for_health, (*report, "chalicelib.store.rollups")) == []


def test_the_query_package_names_are_their_modules_objects():
    # `import app` imports the package and none of these modules (the first test): each name loads
    # its module on first use
    for name in query.__all__:
        value = getattr(query, name)
        assert value is getattr(sys.modules[f"chalicelib.query.{query._EXPORTS[name]}"], name)
    assert set(query.__all__) == set(query._EXPORTS)
    assert set(query.__all__) <= set(dir(query))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = query.no_such_name


def test_the_route_modules_are_those_app_py_s_handlers_import():
    # bench/coldstart.py times `import app` with ROUTE_MODULES: a new route's module belongs there too
    lazy: set[str] = set()
    for handler in ast.walk(ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))):
        if not isinstance(handler, ast.FunctionDef):
            continue
        for node in ast.walk(handler):
            if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.query":
                lazy |= {f"chalicelib.query.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chalicelib.query."):
                lazy.add(str(node.module))

    assert lazy == set(ROUTE_MODULES)
