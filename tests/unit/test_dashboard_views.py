"""The requests whose answers the collector materializes (chalicelib.query.dashboard_views) are the
ones the dashboard sends: its periods as frontend/js/periods.js computes them (run in node), with
the bucket width it picks, and 90 days beside them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chalicelib.periods import DAY, day_label, day_start
from chalicelib.query import dashboard_views
from chalicelib.query.answers import usage_request
from chalicelib.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
NOW = day_start("2026-11-20") + 14 * 3600 + 512  # a 20th, 14:08 UTC
PERIODS_SCRIPT = """
import { range, defaultBucket } from './frontend/js/periods.js';
const now = Number(process.argv[1]);
const asked = ['today', '7d', '30d', 'month'].map((p) => {
  const r = range(p, now);
  return [r.start, defaultBucket(p, r.days)];
});
console.log(JSON.stringify(asked));
"""


def _dashboard_periods(now: int) -> list[tuple[int, str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run(
        [node, "--input-type=module", "-e", PERIODS_SCRIPT, str(now)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(int(start), str(width)) for start, width in json.loads(out)]


@pytest.mark.parametrize(
    "now",
    [NOW, day_start("2026-12-01") + 60, day_start("2026-12-02") + 3600, day_start("2026-12-07") + 23 * 3600],
)
def test_the_materialized_periods_are_the_dashboards_and_ninety_days(now: int) -> None:
    materialized = dashboard_views.periods(now)
    assert set(_dashboard_periods(now)) <= set(materialized)
    assert (day_start(day_label(now)) - 89 * DAY, "1d") in materialized
    assert len(materialized) == len(set(materialized))  # this month on its 7th is the 7 days: once


def test_each_grouping_of_each_period_is_one_request_ending_now() -> None:
    selections = dashboard_views.usage_selections(NOW, get_settings())
    assert len(selections) == len(dashboard_views.periods(NOW)) * len(dashboard_views.GROUPINGS)
    assert {s.group_by for s in selections} == {(g,) for g in dashboard_views.GROUPINGS}
    assert all(s.top == dashboard_views.CHART_SERIES and s.end > NOW for s in selections)
    requests = dashboard_views.usage_requests(NOW, get_settings())
    assert len(requests) == len(selections)
    later = dashboard_views.usage_requests(NOW + 600, get_settings())  # ten minutes on, same hour
    assert later == requests
    assert usage_request(selections[0], dashboard_views.TABLE_PAGE) in requests
