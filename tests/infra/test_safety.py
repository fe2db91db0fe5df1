"""A deployment never reaches a real account, or a local emulator, by accident."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.cli import EXIT_REFUSED, main
from deploy.names import stack_name
from deploy.stack import describe_stack
from deploy.target import Refused, Target, check_endpoints, confirm, is_loopback, resolve_target


class Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the operator's answer already typed."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:4566", True),
        ("http://127.9.8.7", True),
        ("http://localhost:5000", True),
        ("http://[::1]:5000", True),
        ("https://moto.localhost", True),
        ("https://dynamodb.eu-west-1.amazonaws.com", False),
        ("http://10.0.0.5:4566", False),
        ("https://vpce-1234.sts.eu-west-1.vpce.amazonaws.com", False),
    ],
)
def test_loopback_is_recognised(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_an_endpoint_on_this_machine_is_refused_without_local() -> None:
    with pytest.raises(Refused, match="--local"):
        check_endpoints({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"}, local=False)


def test_local_is_refused_unless_every_endpoint_is_on_this_machine() -> None:
    with pytest.raises(Refused, match="AWS_ENDPOINT_URL"):
        check_endpoints({}, local=True)
    with pytest.raises(Refused, match="AWS_ENDPOINT_URL_DYNAMODB"):
        check_endpoints(
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_DYNAMODB": "https://example.com"},
            local=True,
        )
    assert (
        check_endpoints({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, local=True) == "http://127.0.0.1:5000"
    )
    assert check_endpoints({}, local=False) is None


def test_deploy_against_the_emulator_without_local_is_refused_before_any_change(
    local_target: Target,
    project: Path,
    clean_stages: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["deploy", "--stage", "dev", "--skip-chalice", "--project-dir", str(project)], out=io.StringIO()
    )

    assert code == EXIT_REFUSED
    assert "pass --local" in capsys.readouterr().err
    assert describe_stack(local_target.cloudformation(), stack_name("dev")) is None


def test_prod_without_yes_and_without_a_terminal_is_refused_before_any_change(
    local_target: Target,
    project: Path,
    clean_stages: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = io.StringIO()
    code = main(
        ["deploy", "--stage", "prod", "--local", "--skip-chalice", "--project-dir", str(project)],
        out=out,
        stdin=io.StringIO(""),
    )

    assert code == EXIT_REFUSED
    assert "--yes" in capsys.readouterr().err
    assert local_target.account in out.getvalue()  # the target was said first
    assert describe_stack(local_target.cloudformation(), stack_name("prod")) is None
    for command in (["destroy"], ["publish-dashboard"]):
        assert main(
            [*command, "--stage", "prod", "--local", "--project-dir", str(project)], stdin=io.StringIO("")
        ) == (EXIT_REFUSED)


def test_prod_confirmation_wants_the_account_id_typed_back(local_target: Target) -> None:
    with pytest.raises(Refused, match="not confirmed"):
        confirm(
            local_target, action="deploy", stage="prod", yes=False, stdin=Terminal("yes\n"), out=io.StringIO()
        )

    confirm(
        local_target,
        action="deploy",
        stage="prod",
        yes=False,
        stdin=Terminal(f"{local_target.account}\n"),
        out=io.StringIO(),
    )
    confirm(local_target, action="deploy", stage="prod", yes=True, stdin=io.StringIO(""), out=io.StringIO())
    confirm(local_target, action="deploy", stage="dev", yes=False, stdin=io.StringIO(""), out=io.StringIO())


def test_deleting_data_is_spelled_out_before_the_prod_question(
    local_target: Target, project: Path, clean_stages: Callable[[str], None]
) -> None:
    out = io.StringIO()
    answer = Terminal("no\n")

    code = main(
        ["destroy", "--stage", "prod", "--local", "--delete-data", "--project-dir", str(project)],
        out=out,
        stdin=answer,
    )

    assert code == EXIT_REFUSED
    assert "DELETE THE USAGE DATA" in out.getvalue()
    assert f"account {local_target.account}" in out.getvalue()


def test_aws_region_names_the_target_region_first(local_aws: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    only_aws_region = resolve_target(local=True)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    both = resolve_target(local=True)
    monkeypatch.delenv("AWS_REGION")
    only_default = resolve_target(local=True)

    assert only_aws_region.region == "eu-west-1"
    assert "region eu-west-1" in only_aws_region.describe()
    assert both.region == "eu-west-1"
    assert only_default.region == "us-west-2"


def test_no_region_at_all_is_refused_naming_both_variables(
    local_aws: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")

    with pytest.raises(Refused, match="no region: set AWS_REGION or AWS_DEFAULT_REGION"):
        resolve_target(local=True)
