"""Answers to the API's questions, from DynamoDB (and OpenAI for live 1m usage only).

selection  the period, width, grouping and filters a usage question asks (parsing, limits)
report     the usage report, pure: records -> buckets, groups, totals, costs, flags
sources    the query plan and the records: rollup aggregates or detail, live 1m with a cache
usage      `/api/usage` and the CLI's `usage`: parameters -> report (one code path)
compare    `/api/compare`: keys side by side
export     `/api/export`: the usage selection as CSV
keys       `/api/keys`: mappings with 30-day usage and budgets, and their edits
health     `/api/health`: reachable, fresh, version
pools      `/api/pools`: chalicelib.pools' report of today
reconciliation  `/api/reconciliation`: the estimate against the bill per billed day
clock      the API's notion of now
"""

from chalicelib.query.compare import compare_keys
from chalicelib.query.export import export_csv
from chalicelib.query.health import health
from chalicelib.query.keys import create_key, delete_key, list_keys, update_key
from chalicelib.query.pools import pools_today
from chalicelib.query.reconciliation import reconciliation
from chalicelib.query.usage import Stores, usage_report

__all__ = [
    "Stores",
    "compare_keys",
    "create_key",
    "delete_key",
    "export_csv",
    "health",
    "list_keys",
    "pools_today",
    "reconciliation",
    "update_key",
    "usage_report",
]
