"""Which account and region a command changes, said before anything changes.

A deployment must never reach a real account by accident, nor a local emulator by mistake:
- `AWS_ENDPOINT_URL*` pointing at this machine is refused unless `--local` says that is the intent,
  and `--local` is refused unless every endpoint is on this machine;
- the account id (sts get-caller-identity) and region are printed before the first change;
- prod asks for the account id to be typed back, unless `--yes`; with no terminal it refuses.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_cloudfront.client import CloudFrontClient
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_logs.client import CloudWatchLogsClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sns.client import SNSClient

ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=60)


class Refused(Exception):
    """A safety check said no; nothing was changed."""


@dataclass(frozen=True)
class Target:
    """Where a command acts: the account and region, and the emulator endpoint when local."""

    account: str
    region: str
    partition: str
    caller_arn: str
    endpoint: str | None
    session: boto3.session.Session

    @property
    def local(self) -> bool:
        return self.endpoint is not None

    # Local: every client goes to AWS_ENDPOINT_URL, even when a service-specific variable (for
    # instance AWS_ENDPOINT_URL_DYNAMODB -> DynamoDB Local) says otherwise, so the script reads back
    # the very emulator its CloudFormation wrote to.

    def cloudformation(self) -> CloudFormationClient:
        return self.session.client("cloudformation", endpoint_url=self.endpoint, config=_CONFIG)

    def s3(self) -> S3Client:
        return self.session.client("s3", endpoint_url=self.endpoint, config=_CONFIG)

    def dynamodb(self) -> DynamoDBClient:
        return self.session.client("dynamodb", endpoint_url=self.endpoint, config=_CONFIG)

    def secretsmanager(self) -> SecretsManagerClient:
        return self.session.client("secretsmanager", endpoint_url=self.endpoint, config=_CONFIG)

    def sns(self) -> SNSClient:
        return self.session.client("sns", endpoint_url=self.endpoint, config=_CONFIG)

    def logs(self) -> CloudWatchLogsClient:
        return self.session.client("logs", endpoint_url=self.endpoint, config=_CONFIG)

    def cloudfront(self) -> CloudFrontClient:
        return self.session.client("cloudfront", endpoint_url=self.endpoint, config=_CONFIG)

    def apigateway(self) -> Any:  # no mypy_boto3_apigateway stubs installed
        return self.session.client("apigateway", endpoint_url=self.endpoint, config=_CONFIG)

    def describe(self) -> str:
        where = f"LOCAL EMULATOR at {self.endpoint}" if self.local else "AWS"
        return f"account {self.account}, region {self.region} ({where}; caller {self.caller_arn})"


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> variables that are set."""
    return {
        key: value
        for key, value in sorted(environ.items())
        if (key == ENDPOINT_PREFIX or key.startswith(ENDPOINT_PREFIX + "_")) and value.strip()
    }


def check_endpoints(environ: Mapping[str, str], local: bool) -> str | None:
    """The emulator endpoint when `local`, else None; raises Refused when the intent and the
    environment disagree."""
    overrides = endpoint_overrides(environ)
    loopback = {key: value for key, value in overrides.items() if is_loopback(value)}
    if not local:
        if loopback:
            listed = ", ".join(f"{key}={value}" for key, value in loopback.items())
            raise Refused(f"{listed} points at this machine; pass --local to deploy to a local emulator")
        return None
    endpoint = overrides.get(ENDPOINT_PREFIX, "")
    if not endpoint or not is_loopback(endpoint):
        raise Refused(
            "--local needs AWS_ENDPOINT_URL set to an emulator on this machine (http://127.0.0.1:N)"
        )
    elsewhere = sorted(set(overrides) - set(loopback))
    if elsewhere:
        raise Refused(f"--local, but {', '.join(elsewhere)} points off this machine")
    return endpoint


def resolve_target(local: bool, environ: Mapping[str, str] | None = None) -> Target:
    """Check the endpoints, then ask STS who we are. Changes nothing."""
    env = os.environ if environ is None else environ
    endpoint = check_endpoints(env, local)
    # boto3 reads only AWS_DEFAULT_REGION and the profile; AWS_REGION, which the AWS CLI v2 and our
    # docs use, comes first (as in the CLI), so `AWS_REGION=eu-west-1 make deploy` means eu-west-1.
    session = boto3.session.Session(region_name=env.get("AWS_REGION", "").strip() or None)
    if not session.region_name:
        raise Refused("no region: set AWS_REGION or AWS_DEFAULT_REGION (or a profile with a region)")
    sts = session.client("sts", endpoint_url=endpoint, config=_CONFIG)
    identity = sts.get_caller_identity()
    arn = identity["Arn"]
    return Target(
        account=identity["Account"],
        region=session.region_name,
        partition=arn.split(":")[1],
        caller_arn=arn,
        endpoint=endpoint,
        session=session,
    )


def announce(target: Target, action: str, stage: str, out: TextIO = sys.stdout) -> None:
    """Say what is about to change, before it changes."""
    print(f"==> {action} stage {stage!r} in {target.describe()}", file=out, flush=True)


def confirm(
    target: Target,
    *,
    action: str,
    stage: str,
    yes: bool,
    stdin: TextIO | None = None,
    out: TextIO = sys.stdout,
    every_stage: bool = False,
) -> None:
    """Prod asks for the account id to be typed back; with `every_stage` (destroy) any other stage
    asks for its own name to be typed back; `--yes` skips the question; no terminal refuses."""
    if yes or (stage != "prod" and not every_stage):
        return
    source = sys.stdin if stdin is None else stdin
    if source is None or source.closed or not source.isatty():
        raise Refused(f"{action} on {stage} needs confirmation: run it in a terminal, or pass --yes")
    if stage == "prod":
        print(f"{action} PROD in account {target.account} ({target.region}).", file=out)
        print("Type the account id to go on: ", end="", file=out, flush=True)
        expected = target.account
    else:
        print(f"{action} stage {stage!r} in account {target.account} ({target.region}).", file=out)
        print("Type the stage name to go on: ", end="", file=out, flush=True)
        expected = stage
    answer = source.readline().strip()
    if answer != expected:
        raise Refused("not confirmed; nothing was changed")
