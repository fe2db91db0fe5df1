"""The README's examples, run: every `python -m chalicelib.cli` line and the curl line of its `sh`
blocks, in order, on a fresh table filled from the simulator, and its Python snippet as written.
A README example that stops working fails here, not in a new user's shell."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from chalicelib.cli import main as cli_main
from chalicelib.query import clock
from chalicelib.store.directory import DirectoryStore
from simulator.pytest_plugin import SIM_NOW
from tests.functional import api_helpers
from tests.functional.api_helpers import fill_from_simulator

empty_api = api_helpers.empty_api
README = Path(__file__).resolve().parents[2] / "README.md"
CLI_PREFIX = ".venv/bin/python -m chalicelib.cli "


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks of one language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), flags=re.DOTALL | re.MULTILINE)


def shell_lines() -> list[str]:
    return [line.strip() for block in blocks("sh") for line in block.splitlines() if line.strip()]


def cli_examples() -> list[list[str]]:
    return [shlex.split(line, comments=True)[3:] for line in shell_lines() if line.startswith(CLI_PREFIX)]


def test_the_readme_has_the_examples_this_test_runs():
    commands = {argv[0] if argv[0] != "--json" else argv[1] for argv in cli_examples()}
    assert {"list-keys", "usage", "add-key", "update-key", "alerts"} <= commands
    assert len([line for line in shell_lines() if line.startswith("curl ")]) == 1


def test_every_cli_example_of_the_readme_succeeds_on_a_filled_table(
    empty_api, sim_server, capsys, monkeypatch
):
    fill_from_simulator(sim_server)
    monkeypatch.setattr(clock, "now", lambda: SIM_NOW)

    for argv in cli_examples():
        code = cli_main.main(argv)
        out, err = capsys.readouterr()
        assert code == 0, f"{shlex.join(argv)}: {err}"
        assert "error" not in err.lower(), f"{shlex.join(argv)}: {err}"
        assert out.strip(), shlex.join(argv)
        if "--json" in argv:
            json.loads(out)
        if argv[:1] == ["usage"] and "--start" in argv:
            assert "total 0 tokens" not in out, f"{shlex.join(argv)} found no usage"

    edited = next(m for m in DirectoryStore().list_mappings() if m.name == "Support bot")
    assert (edited.team, edited.owner) == ("support", "Grace")
    assert edited.budget is not None
    assert edited.budget.amount == 150


def test_the_readme_curl_example_answers_200_with_the_grouping_it_asks_for(empty_api, sim_server):
    fill_from_simulator(sim_server)
    [curl] = [line for line in shell_lines() if line.startswith("curl ")]
    argv = shlex.split(curl)
    header = argv[argv.index("-H") + 1]
    url = argv[-1]
    assert header == "Authorization: Bearer $TOKEN"
    assert url.startswith("$API/")

    response = empty_api.get(url.removeprefix("$API"))

    assert response.status_code == 200, response.body
    report = json.loads(response.body)
    assert report["groups"]
    assert all(set(row["group"]) == {"team", "model"} for row in report["groups"])
    assert report["total"]["total_tokens"] > 0


@pytest.mark.usefixtures("local_aws")
def test_the_readme_python_snippet_runs_as_written():
    [snippet] = [block for block in blocks("python") if "LocalStack" in block]
    # The snippet's body is `...  # boto3.client("dynamodb") talks to DynamoDB Local`: make it so.
    body = 'import boto3; tables = boto3.client("dynamodb").list_tables()["TableNames"]; env = stack.env()'
    runnable, replaced = re.subn(r"^(\s+)\.\.\..*$", rf"\g<1>{body}", snippet, flags=re.MULTILINE)
    namespace: dict[str, object] = {}

    exec(compile(runnable, "README.md", "exec"), namespace)

    assert replaced == 1
    assert namespace["tables"] == []  # a stack of its own, not the session's
    env = namespace["env"]
    assert isinstance(env, dict)
    assert env["AWS_ENDPOINT_URL_DYNAMODB"].startswith("http://127.0.0.1:")
