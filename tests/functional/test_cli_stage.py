"""`--stage`: the CLI pointed at a deployed stage through `.chalice/config.json` (a temporary copy here),
refused while the stage is not deployed, and never mixing a local shell's settings into it."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import secrets, settings
from chalicelib.cli import main as cli_main
from chalicelib.cli import stage
from chalicelib.errors import ConfigError
from chalicelib.keys.model import KeyMapping
from chalicelib.settings import get_settings
from chalicelib.store.directory import DirectoryStore

REPO_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
ACCOUNT = "123456789012"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def restored_environ() -> Iterator[None]:
    """`--stage` changes os.environ itself (as it must, for boto3 and settings): put it back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _config(tmp_path: Path, stages: dict[str, dict[str, str]]) -> Path:
    """The project's real config with these stages' variables laid over it."""
    config = json.loads(REPO_CONFIG.read_text(encoding="utf-8"))
    for name, variables in stages.items():
        config["stages"][name]["environment_variables"].update(variables)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _deployed(table: str, region: str, stage_name: str = "dev") -> dict[str, str]:
    """What `make deploy` writes into a stage: the infra stack's outputs."""
    prefix = f"openai-usage-tracker-{stage_name}"
    return {
        "USAGE_TABLE": table,
        "ALERTS_TOPIC_ARN": f"arn:aws:sns:{region}:{ACCOUNT}:{prefix}-alerts",
        "ALERTS_TOPIC_NAME": f"{prefix}-alerts",
        "OPENAI_ADMIN_KEY_SECRET": f"openai-usage-tracker/{stage_name}/openai-admin-key",
        "DASHBOARD_ORIGIN": "https://d111111abcdef8.cloudfront.net",
        "DASHBOARD_URL": "https://d111111abcdef8.cloudfront.net/",
        "VIEWS_BUCKET": f"{prefix}-infra-viewsbucket-abc123",
    }


# -- refusals (no AWS needed) ----------------------------------------------------------------
def test_a_stage_still_holding_placeholders_is_refused_with_what_to_run(
    restored_environ, monkeypatch, capsys, tmp_path
):
    monkeypatch.setattr(stage, "CONFIG_PATH", _config(tmp_path, {}))
    monkeypatch.setenv("USAGE_TABLE", "left-alone")

    code, out, err = run(capsys, "--stage", "prod", "list-keys")

    assert (code, out) == (2, "")
    assert err.startswith("error: --stage: stage 'prod' is not deployed yet")
    assert "USAGE_TABLE" in err
    assert "@stack-output:" in err
    assert "run `make deploy STAGE=prod` first" in err
    assert os.environ["USAGE_TABLE"] == "left-alone"


def test_the_committed_config_is_refused_until_deployed(restored_environ, capsys):
    config = json.loads(REPO_CONFIG.read_text(encoding="utf-8"))
    table = config["stages"]["dev"]["environment_variables"]["USAGE_TABLE"]
    if not table.startswith(stage.PLACEHOLDER_PREFIX):
        pytest.skip("this checkout's dev stage is deployed")
    code, _, err = run(capsys, "--stage", "dev", "list-keys")
    assert code == 2
    assert "make deploy STAGE=dev" in err


def test_an_unknown_stage_is_refused_with_the_known_ones(restored_environ, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(stage, "CONFIG_PATH", _config(tmp_path, {}))
    code, out, err = run(capsys, "--stage", "staging", "list-keys")
    assert (code, out) == (2, "")
    assert err == f"error: --stage: unknown stage 'staging': {stage.CONFIG_PATH} defines dev, prod\n"


def test_a_missing_or_broken_config_is_an_error_not_a_crash(restored_environ, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(stage, "CONFIG_PATH", tmp_path / "nope.json")
    code, _, err = run(capsys, "--stage", "dev", "list-keys")
    assert code == 1
    assert "does not exist" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(stage, "CONFIG_PATH", broken)
    code, _, err = run(capsys, "--stage", "dev", "list-keys")
    assert code == 1
    assert "cannot be read as JSON" in err


def test_apply_stage_merges_like_chalice_and_leaves_out_powertools(tmp_path):
    path = _config(tmp_path, {"prod": _deployed("prod-table", "eu-west-1", "prod")})
    environ: dict[str, Any] = {"AWS_REGION": "us-east-1", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    said = io.StringIO()

    target = stage.apply_stage("prod", config_path=path, environ=environ, out=said)

    assert environ["USAGE_TABLE"] == "prod-table"
    assert environ["STAGE"] == "prod"
    assert environ["STALE_AFTER_MINUTES"] == "60"
    assert (environ["AWS_REGION"], environ["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert "OPENAI_BASE_URL" not in environ
    assert not any(name.startswith("POWERTOOLS_") for name in environ)
    assert (target.table, target.region, target.removed) == ("prod-table", "eu-west-1", ("OPENAI_BASE_URL",))
    assert said.getvalue().startswith("stage prod: table prod-table in eu-west-1")


def test_the_cli_clears_every_declared_variable_and_the_admin_key_is_one():
    assert stage.RUNTIME_VARIABLES == settings.VARIABLES
    assert {secrets.ENV_VAR, secrets.SECRET_ENV_VAR, secrets.PARAMETER_ENV_VAR} <= set(
        stage.RUNTIME_VARIABLES
    )
    assert len(set(settings.VARIABLES)) == len(settings.VARIABLES), "a variable declared twice"
    # every Settings field is declared through setting(...): load_settings could not fill it otherwise
    assert {f.name for f in dataclasses.fields(settings.Settings)} == set(
        dataclasses.asdict(settings.load_settings({}))
    )


def test_readme_settings_table_is_the_registry_rendered():
    readme = (REPO_CONFIG.parents[1] / "README.md").read_text(encoding="utf-8")
    assert settings.with_table(readme) == readme, (
        "README.md's settings table is stale: run `python -m chalicelib.settings --update-readme README.md`"
    )
    table = readme.split(settings.TABLE_START)[1].split(settings.TABLE_END)[0]
    for name in settings.VARIABLES:
        assert f"| `{name}` |" in table


def test_update_readme_rewrites_a_stale_table_and_refuses_a_file_without_markers(tmp_path, capsys):
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n{settings.TABLE_START}\n| `GONE` | - | old |\n{settings.TABLE_END}\nafter\n")
    assert settings.main(["--update-readme", str(stale)]) == 0
    text = stale.read_text()
    assert "GONE" not in text
    assert text == f"# x\n{settings.TABLE_START}\n{settings.markdown_table()}{settings.TABLE_END}\nafter\n"
    bare = tmp_path / "bare.md"
    bare.write_text("no table here\n")
    assert settings.main(["--update-readme", str(bare)]) == 1
    assert "markers" in capsys.readouterr().err
    assert bare.read_text() == "no table here\n"


def test_an_unset_or_blank_variable_takes_its_declared_default():
    defaults = settings.load_settings({})
    assert settings.load_settings({name: " " for name in settings.VARIABLES}) == defaults
    assert (defaults.large_pool_cap, defaults.mini_pool_cap) == settings.POOL_TIERS["1-2"]
    assert (defaults.collect_schedule_minutes, defaults.anomaly_window_hours) == (15, 3)
    assert settings.load_settings({"POOL_TIER": "3-5", "MINI_POOL_CAP": "7"}).large_pool_cap == 1_000_000
    assert settings.load_settings({"POOL_TIER": "3-5", "MINI_POOL_CAP": "7"}).mini_pool_cap == 7
    assert settings.load_settings({"ANOMALY_WINDOW_HOURS": "99"}).anomaly_window_hours == 24
    assert settings.schedule_minutes({"COLLECT_SCHEDULE_MINUTES": "60"}) == 60


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("COLLECT_SCHEDULE_MINUTES", "often", "COLLECT_SCHEDULE_MINUTES must be an integer, got 'often'"),
        ("LARGE_POOL_CAP", "0", "LARGE_POOL_CAP must be at least 1, got 0"),
        ("POOL_TIER", "6-9", "POOL_TIER must be one of ['1-2', '3-5'], got '6-9'"),
        ("FORECAST_WINDOW_DAYS", "91", "FORECAST_WINDOW_DAYS must be at most 90, got 91"),
        ("ALERT_THRESHOLDS", "50,lots", "ALERT_THRESHOLDS must be comma-separated integers"),
        ("RECONCILE_GAP_PERCENT", "inf", "RECONCILE_GAP_PERCENT must be between 0 and 1000"),
    ],
)
def test_a_malformed_variable_is_a_config_error_naming_it(variable, value, message):
    with pytest.raises(ConfigError) as caught:
        settings.load_settings({variable: value})
    assert str(caught.value).startswith(message)


# -- against DynamoDB Local ------------------------------------------------------------------
def test_a_deployed_stage_points_the_cli_at_its_table(
    usage_table, restored_environ, monkeypatch, capsys, tmp_path
):
    region = os.environ["AWS_DEFAULT_REGION"]  # DynamoDB Local keeps tables per region
    DirectoryStore().put_mapping(
        KeyMapping("key_stage0001", "In the stage's table", created_at=1, updated_at=1)
    )
    monkeypatch.setattr(stage, "CONFIG_PATH", _config(tmp_path, {"dev": _deployed(usage_table, region)}))
    monkeypatch.setenv("USAGE_TABLE", "some-local-table")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-local-demo-key-0123456789")
    get_settings()  # a cached build from the old environment must not survive

    code, out, err = run(capsys, "--stage", "dev", "--json", "list-keys")

    assert code == 0, err
    assert [key["key_id"] for key in json.loads(out)["keys"]] == ["key_stage0001"]
    assert os.environ["USAGE_TABLE"] == usage_table
    assert get_settings().usage_table == usage_table
    assert get_settings().stage == "dev"
    assert get_settings().openai_base_url == "https://api.openai.com/v1"
    assert "OPENAI_ADMIN_KEY" not in os.environ
    first = err.splitlines()[0]
    assert (
        first == f"stage dev: table {usage_table} in {region} (AWS credentials: the default credential chain)"
    )
    assert "AWS_ENDPOINT_URL" in err  # the local stack's endpoints are said, not hidden
    assert "ignoring OPENAI_BASE_URL, OPENAI_ADMIN_KEY from your environment" in err
    assert "sk-admin-local-demo-key-0123456789" not in out + err
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in err


def test_the_stage_option_goes_before_the_command(restored_environ, capsys):
    code, _, err = run(capsys, "list-keys", "--stage", "dev")
    assert code == 2
    assert "unrecognized arguments: --stage dev" in err
