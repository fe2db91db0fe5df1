"""`update-key`: partial edits of a mapping on DynamoDB Local, through the CLI's own entry point."""

from __future__ import annotations

import pytest

from chalicelib.cli import edit as edit_cli
from chalicelib.store.directory import DirectoryStore
from tests.functional.cli_helpers import add_key, run, run_json

pytestmark = pytest.mark.usefixtures("usage_table")


def test_update_key_budget_leaves_every_other_field_as_it_was(capsys):
    key_id = add_key(capsys)
    before = DirectoryStore().get_mapping(key_id)

    payload = run_json(capsys, "update-key", key_id, "--budget", "150")

    after = DirectoryStore().get_mapping(key_id)
    assert before is not None
    assert after is not None
    assert (after.name, after.owner, after.team, after.description, after.active) == (
        "Support bot", "Grace", "Support", "answers tickets", True,
    )  # fmt: skip
    assert after.budget is not None
    assert (after.budget.amount, after.budget.unit, after.budget.period) == (150, "tokens", "monthly")
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at
    assert payload["changed"] == ["budget"]
    assert payload["mapping"]["team"] == "Support"
    listed = {k["key_id"]: k for k in run_json(capsys, "list-keys")["keys"]}
    assert listed[key_id]["description"] == "answers tickets"
    assert listed[key_id]["budget"] == {"period": "monthly", "unit": "tokens", "amount": "150"}


def test_update_key_by_name_changes_team_and_a_usd_budget_keeps_its_unit_and_period(capsys):
    key_id = add_key(capsys, "--budget", "20", "--budget-unit", "usd", "--budget-period", "daily")

    code, out, err = run(capsys, "update-key", "Support bot", "--team", "Platform", "--budget", "35.5")

    assert code == 0, err
    assert "other fields unchanged" in out
    after = DirectoryStore().get_mapping(key_id)
    assert after is not None
    assert (after.team, after.owner) == ("Platform", "Grace")
    assert after.budget is not None
    assert (str(after.budget.amount), after.budget.unit, after.budget.period) == ("35.5", "usd", "daily")


def test_update_key_clears_a_budget_and_an_empty_value_clears_a_field(capsys):
    key_id = add_key(capsys, "--budget", "1000")

    code, _, err = run(capsys, "update-key", key_id, "--clear-budget", "--description", "", "--inactive")

    assert code == 0, err
    after = DirectoryStore().get_mapping(key_id)
    assert after is not None
    assert (after.budget, after.description, after.active, after.team) == (None, None, False, "Support")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--budget", "-3"], "error: --budget: must be greater than 0"),
        (["--budget", "1.5"], "error: --budget: must be a whole number"),
        (["--name", "  "], "error: --name: must be a non-empty string"),
        (["--budget-unit", "usd"], "error: --budget-unit: --budget-unit and --budget-period need --budget"),
        ([], "error: update-key: nothing to change"),
    ],
)
def test_update_key_refuses_bad_input_in_the_flags_typed_and_changes_nothing(capsys, argv, message):
    key_id = add_key(capsys)
    before = DirectoryStore().get_mapping(key_id)

    code, _, err = run(capsys, "update-key", key_id, *argv)

    assert code == 2
    assert err.startswith(message)
    assert "Traceback" not in err
    assert DirectoryStore().get_mapping(key_id) == before


def test_update_key_of_an_unmapped_key_says_how_to_add_it(capsys):
    code, _, err = run(capsys, "update-key", "key_nobodyHasThis1", "--team", "x")

    assert code == 2
    assert err.startswith("error: key: no mapping has the id or name 'key_nobodyHasThis1'")
    assert "add-key" in err


def test_update_key_and_clear_budget_are_exclusive_flags(capsys):
    key_id = add_key(capsys)

    code, _, err = run(capsys, "update-key", key_id, "--budget", "5", "--clear-budget")

    assert code == 2
    assert "not allowed with argument" in err


def test_update_key_never_overwrites_an_edit_made_since_it_read_the_mapping(capsys, monkeypatch):
    key_id = add_key(capsys)
    real_update = edit_cli.update_key

    def someone_else_edits_first(key: str, body: dict, now: int) -> dict:
        real_update(key, {"team": "Finance"}, now)  # another operator's edit lands in between
        return real_update(key, body, now)

    monkeypatch.setattr(edit_cli, "update_key", someone_else_edits_first)

    code, _, err = run(capsys, "update-key", key_id, "--team", "Platform")

    assert code == 2
    assert "changed since it was read" in err
    assert "run update-key again" in err
    after = DirectoryStore().get_mapping(key_id)
    assert after is not None
    assert after.team == "Finance"
