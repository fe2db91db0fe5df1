"""`--stage STAGE`: point the CLI at a deployed stage, with the caller's own AWS credentials.

`apply_stage(stage)` runs before the command and, before any setting or client is built:

1. reads `.chalice/config.json` (`CONFIG_PATH`; tests pass another path) and refuses, as bad input
   (exit 2), a stage the file does not define or one whose variables still hold `@stack-output:`
   placeholders (the infra stack's outputs are written there by `make deploy STAGE=...`);
2. exports the stage's `environment_variables` (top level overlaid by the stage's, as Chalice merges
   them), except `POWERTOOLS_*`, which tune the functions' logs and metrics, not what the CLI reads;
3. removes the tracker's runtime variables (`RUNTIME_VARIABLES`) that the stage does not set, so that
   a shell still configured for `make demo` (an `OPENAI_BASE_URL` of the simulator, an
   `OPENAI_ADMIN_KEY`) cannot mix local settings into a deployed stage: the CLI then reads what the
   stage's functions read;
4. pins the region to the stack's (the region of the stage's `ALERTS_TOPIC_ARN`): the table lives there
   whatever the caller's profile says;
5. clears the cached settings and AWS clients, and says on stderr which table and region it targets.

Nothing secret is read or printed: the stage's variables hold resource names only (the admin key lives
in Secrets Manager), and of the caller's environment only variable names are ever shown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from chalicelib import aws
from chalicelib.errors import ConfigError, InvalidInput
from chalicelib.settings import VARIABLES, get_settings

CONFIG_PATH = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
PLACEHOLDER_PREFIX = "@stack-output:"  # deploy.chalice_config writes over these (deploy/ is not packaged)
SKIPPED_PREFIX = "POWERTOOLS_"
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"

# Every variable chalicelib reads, declared once in chalicelib.settings.
RUNTIME_VARIABLES = VARIABLES


@dataclass(frozen=True)
class StageTarget:
    """What `apply_stage` pointed the process at."""

    stage: str
    table: str
    region: str | None
    topic_arn: str
    profile: str | None
    exported: tuple[str, ...]
    removed: tuple[str, ...]
    endpoints: tuple[str, ...]

    def describe(self) -> list[str]:
        """The lines said on stderr before the command runs."""
        credentials = f"profile {self.profile}" if self.profile else "the default credential chain"
        lines = [
            f"stage {self.stage}: table {self.table} in {self.region or 'the default region'} "
            f"(AWS credentials: {credentials})"
        ]
        if self.endpoints:
            lines.append(f"note: {', '.join(self.endpoints)} set: AWS calls go to that endpoint, not to AWS")
        if self.removed:
            lines.append(
                f"note: ignoring {', '.join(self.removed)} from your environment (the stage sets none)"
            )
        return lines


def add_option(parser: argparse.ArgumentParser) -> None:
    """The global `--stage` option."""
    parser.add_argument(
        "--stage",
        metavar="STAGE",
        help="act on a deployed stage (dev, prod): its table, topic and settings from .chalice/config.json",
    )


def load_config(path: Path) -> dict[str, Any]:
    """The parsed Chalice config, or ConfigError saying why it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} does not exist: --stage needs the project's Chalice config") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read as JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return data


def _variables(section: Any, where: str) -> dict[str, str]:
    variables = section.get("environment_variables", {}) if isinstance(section, dict) else {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ConfigError(f"{where}.environment_variables must map names to strings")
    return dict(variables)


def stage_variables(config: dict[str, Any], stage: str, path: Path) -> dict[str, str]:
    """The stage's variables as its functions get them; InvalidInput when the stage cannot be used."""
    stages = config.get("stages")
    if not isinstance(stages, dict) or stage not in stages:
        listed = ", ".join(sorted(stages)) if isinstance(stages, dict) and stages else "none"
        raise InvalidInput("--stage", f"unknown stage {stage!r}: {path} defines {listed}")
    merged = _variables(config, "the config")
    merged.update(_variables(stages[stage], f"stages.{stage}"))
    pending = sorted(name for name, value in merged.items() if value.startswith(PLACEHOLDER_PREFIX))
    if pending:
        raise InvalidInput(
            "--stage",
            f"stage {stage!r} is not deployed yet ({', '.join(pending)} still hold "
            f"{PLACEHOLDER_PREFIX} placeholders): run `make deploy STAGE={stage}` first",
        )
    if not merged.get("USAGE_TABLE"):
        raise InvalidInput("--stage", f"stage {stage!r} sets no USAGE_TABLE in {path}")
    return {name: value for name, value in merged.items() if not name.startswith(SKIPPED_PREFIX)}


def region_of(arn: str) -> str | None:
    """The region field of an ARN (`arn:partition:service:region:account:resource`), if any."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None


def apply_stage(
    stage: str,
    *,
    config_path: Path | None = None,
    environ: MutableMapping[str, str] | None = None,
    out: TextIO | None = None,
) -> StageTarget:
    """Point this process at `stage` (see the module docstring); returns what it targets."""
    env = os.environ if environ is None else environ
    path = config_path or CONFIG_PATH
    variables = stage_variables(load_config(path), stage, path)
    removed = tuple(name for name in RUNTIME_VARIABLES if name not in variables and env.get(name))
    for name in RUNTIME_VARIABLES:
        if name not in variables:
            env.pop(name, None)
    env.update(variables)
    region = region_of(variables.get("ALERTS_TOPIC_ARN", ""))
    if region:
        for name in REGION_VARIABLES:
            env[name] = region
    else:
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    get_settings.cache_clear()
    aws.cache_clear()
    target = StageTarget(
        stage=stage,
        table=variables["USAGE_TABLE"],
        region=region,
        topic_arn=variables.get("ALERTS_TOPIC_ARN", ""),
        profile=env.get("AWS_PROFILE") or None,
        exported=tuple(sorted(variables)),
        removed=removed,
        endpoints=tuple(sorted(n for n in env if n.startswith(ENDPOINT_PREFIX) and env[n].strip())),
    )
    for line in target.describe():
        print(line, file=out or sys.stderr)
    return target
