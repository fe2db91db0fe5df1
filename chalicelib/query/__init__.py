"""Answers to the API's questions, from DynamoDB (and OpenAI for live 1m usage only).

selection  the period, width, grouping and filters a usage question asks (parsing, limits)
report     the usage report, pure: records -> buckets, groups, totals, costs, flags
sources    the query plan and the records: rollup aggregates or detail, live 1m with a cache
usage      `/api/usage` and the CLI's `usage`: parameters -> report (one code path)
compare    `/api/compare`: keys side by side
export     `/api/export`: the usage selection as CSV
keys       `/api/keys`: mappings with 30-day usage and budgets, and their edits
answers    the collector's materialized answers: their basis, and serving one while it holds
dashboard_views  which requests are materialized (the dashboard's), and materializing them
health     `/api/health`: reachable, fresh, version
pools      `/api/pools`: chalicelib.pools' report of today
reconciliation  `/api/reconciliation`: the estimate against the bill per billed day
clock      the API's notion of now
caller     who is asking (the live reads' budgets); the API middleware sets it

The package imports none of its modules: `from chalicelib.query import usage_report` (or
`query.usage_report`) imports chalicelib.query.usage on first use (a module `__getattr__`, PEP 562),
so that `import app` loads no route's modules and a route's first request loads only its own (the
cold start, docs/design.md). `health` and `reconciliation` are not re-exported: a function named
like its module would be shadowed by the module once anything imports it; import them from their
modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.query.compare import compare_keys
    from chalicelib.query.export import export_csv
    from chalicelib.query.keys import create_key, delete_key, list_keys, update_key
    from chalicelib.query.pools import pools_today
    from chalicelib.query.usage import Stores, usage_report

# exported name -> the module of this package that defines it
_EXPORTS = {
    "Stores": "usage",
    "compare_keys": "compare",
    "create_key": "keys",
    "delete_key": "keys",
    "export_csv": "export",
    "list_keys": "keys",
    "pools_today": "pools",
    "update_key": "keys",
    "usage_report": "usage",
}


def __getattr__(name: str) -> Any:
    """An exported name, importing its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later uses are a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "Stores",
    "compare_keys",
    "create_key",
    "delete_key",
    "export_csv",
    "list_keys",
    "pools_today",
    "update_key",
    "usage_report",
]
