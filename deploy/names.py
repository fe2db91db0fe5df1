"""Stage names and every name derived from them, in one place.

The template (infra/template.yaml) builds the same table, topic and secret names with `!Sub`;
tests/infra checks that both agree.
"""

from __future__ import annotations

APP_NAME = "openai-usage-tracker"
STAGES = ("dev", "prod")


def stack_name(stage: str) -> str:
    """The CloudFormation stack holding what Chalice does not create."""
    return f"{APP_NAME}-{stage}-infra"


def table_name(stage: str) -> str:
    """The usage table: named, so a table kept by `destroy` is found again by the next `deploy`."""
    return f"{APP_NAME}-{stage}"


def secret_name(stage: str) -> str:
    """The Secrets Manager secret holding the OpenAI admin key."""
    return f"{APP_NAME}/{stage}/openai-admin-key"


def function_log_groups(stage: str) -> tuple[str, str]:
    """Log groups of the stage's functions: Chalice names the API handler `<app>-<stage>` and every
    other function `<app>-<stage>-<function>`."""
    return (f"/aws/lambda/{APP_NAME}-{stage}", f"/aws/lambda/{APP_NAME}-{stage}-*")
