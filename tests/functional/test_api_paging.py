"""Pages and search of `/api/usage`'s groups and of `/api/keys` (issue 14), on DynamoDB Local filled
from the simulator: a page is the slice of the whole answer, totals stay those of every group."""

from __future__ import annotations

import json

import pytest

from chalicelib.cli import main as cli_main
from chalicelib.periods import DAY, day_label
from chalicelib.query import clock
from chalicelib.query import usage as usage_query
from chalicelib.store.table import reset_stats
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import FIRST_DAY, TODAY

sim_table = api_helpers.sim_table
api = api_helpers.api

PERIOD = {"start_time": FIRST_DAY, "end_time": TODAY + DAY}
BY_KEY = {**PERIOD, "group_by": "api_key_id", "top": 3}


def _shown(row: dict) -> list[str]:
    key = row.get("key") or {}
    texts = [row["label"], *row["labels"].values(), *row["group"].values(), *key.values()]
    return [text.casefold() for text in texts if text]


@pytest.mark.parametrize("group_by", ["api_key_id", "owner", "model,project_id"])
def test_pages_of_groups_put_together_are_every_group_in_rank_order(api, group_by):
    whole = api.json("/api/usage", {**BY_KEY, "group_by": group_by})
    rows = whole["groups"]
    assert len(rows) > 2  # else there is nothing to page

    pages = [
        api.json("/api/usage", {**BY_KEY, "group_by": group_by, "limit": 2, "offset": offset})
        for offset in range(0, len(rows) + 2, 2)
    ]

    assert [row for page in pages for row in page["groups"]] == rows
    assert pages[-1]["groups"] == []  # past the end: an empty page, not an error
    for page in pages:
        assert len(page["groups"]) <= 2
        assert page["group_count"] == len(rows)
        assert (page["limit"], page["search"]) == (2, None)
        # everything but the groups is the whole report's: totals cover every group
        for name in ("total", "buckets", "top", "other_groups", "coverage"):
            assert page[name] == whole[name]
    assert "group_count" not in whole
    assert "limit" not in whole


def test_search_keeps_the_groups_whose_name_id_owner_team_or_project_contain_it(api):
    whole = api.json("/api/usage", BY_KEY)["groups"]
    owner = next(row["key"]["owner"] for row in whole if row["key"]["owner"])
    needle = owner[1:4].upper()  # a part of it, in another case
    key_id = whole[-1]["group"]["api_key_id"]

    found = api.json("/api/usage", {**BY_KEY, "search": needle})
    by_id = api.json("/api/usage", {**BY_KEY, "search": key_id[-5:], "limit": 1})
    nothing = api.json("/api/usage", {**BY_KEY, "search": "no such key anywhere"})

    expected = [row for row in whole if any(needle.casefold() in text for text in _shown(row))]
    assert expected
    assert len(expected) < len(whole)
    assert found["groups"] == expected
    assert found["group_count"] == len(expected)
    assert by_id["groups"][0] in [row for row in whole if key_id[-5:] in row["group"]["api_key_id"]]
    assert (nothing["groups"], nothing["group_count"]) == ([], 0)
    assert nothing["total"] == found["total"]  # the search narrows the rows, not the totals


def test_a_page_is_cut_from_the_kept_report_and_reads_no_more_than_a_repeat(api):
    api.json("/api/usage", BY_KEY)
    reset_stats()
    api.json("/api/usage", BY_KEY)
    repeat = reset_stats().requests
    for offset in (0, 2, 4):
        api.json("/api/usage", {**BY_KEY, "limit": 2, "offset": offset, "search": "key"})

    assert reset_stats().requests == 3 * repeat


def test_a_page_of_a_report_with_too_many_groups_to_keep_is_refused_naming_what_helps(api, monkeypatch):
    monkeypatch.setattr(usage_query, "MAX_PAGED_GROUPS", 3)  # the sim's 12 keys stand for 25,000
    by_key_model = {**PERIOD, "group_by": "api_key_id,model", "limit": 5}

    response = api.get("/api/usage", by_key_model)
    small = api.json("/api/usage", {**by_key_model, "group_by": "none"})  # one group: under the cap

    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["code"] == "response_too_large"
    assert "fewer groupings or a filter" in error["message"]
    assert small["group_count"] == 1


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("limit", "-5"),
        ("offset", "-1"),
        ("offset", "1.5"),
        ("search", "x" * 101),
        ("search", "a\x00b"),
    ],
)
def test_bad_paging_values_are_refused_naming_the_parameter(api, param, value):
    for path, base in (("/api/usage", BY_KEY), ("/api/keys", {})):
        response = api.get(path, {**base, param: value})

        assert response.status_code == 400, (path, response.body)
        assert json.loads(response.body)["error"]["param"] == param


def test_the_keys_list_pages_searches_and_sorts_by_thirty_day_spend(api):
    every = api.json("/api/keys")["data"]
    by_cost = sorted(every, key=lambda k: -float(k["usage_30d"]["cost_usd"]))

    first = api.json("/api/keys", {"sort": "cost", "limit": 3})
    second = api.json("/api/keys", {"sort": "cost", "limit": 3, "offset": 3})
    named = api.json("/api/keys", {"limit": 2})
    owner = next(k["owner"] for k in every if k["owner"])
    searched = api.json("/api/keys", {"search": owner.upper(), "sort": "cost"})

    assert len(every) > 6
    assert first["count"] == second["count"] == len(every)
    assert [k["usage_30d"]["cost_usd"] for k in first["data"] + second["data"]] == [
        k["usage_30d"]["cost_usd"] for k in by_cost[:6]
    ]
    assert {k["key_id"] for k in first["data"]}.isdisjoint(k["key_id"] for k in second["data"])
    assert named["data"] == every[:2]  # the default order is the whole list's
    assert searched["data"]
    assert all(
        any(owner.casefold() in str(k[name]).casefold() for name in ("name", "key_id", "owner", "team"))
        for k in searched["data"]
    )
    owned = [k for k in every if k["owner"] and owner.casefold() in k["owner"].casefold()]
    assert searched["count"] == len(owned)
    assert "count" not in api.json("/api/keys")  # unpaged: today's answer


def test_the_keys_of_the_rows_on_screen_come_alone(api):
    page = api.json("/api/usage", {**BY_KEY, "limit": 3})["groups"]
    ids = [row["group"]["api_key_id"] for row in page]
    every = {k["key_id"]: k for k in api.json("/api/keys")["data"]}

    shown = api.json("/api/keys", {"key_ids": ",".join(ids)})

    assert {k["key_id"] for k in shown["data"]} == {i for i in ids if i in every}
    assert all(k == every[k["key_id"]] for k in shown["data"])
    assert shown["count"] == len(shown["data"])
    bad = api.get("/api/keys", {"key_ids": "not-a-key"})
    assert bad.status_code == 400
    assert json.loads(bad.body)["error"]["param"] == "key_ids"
    bad = api.get("/api/keys", {"sort": "size"})
    assert bad.status_code == 400
    assert json.loads(bad.body)["error"]["param"] == "sort"


def test_the_cli_pages_and_searches_as_the_api(api, capsys, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW)
    params = {**PERIOD, "group_by": "api_key_id", "top": 0, "search": "key", "limit": 2, "offset": 1}
    from_api = api.json("/api/usage", params)

    code = cli_main.main(
        [
            "usage",
            "--start",
            day_label(FIRST_DAY),
            "--end",
            day_label(TODAY + DAY),
            "--group-by",
            "api_key_id",
            "--search",
            "key",
            "--limit",
            "2",
            "--offset",
            "1",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == from_api
    assert cli_main.main(["usage", "--start", day_label(FIRST_DAY), "--limit", "0"]) != 0
    assert "--limit" in capsys.readouterr().err
