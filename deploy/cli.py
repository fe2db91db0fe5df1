"""`python -m deploy`: argparse and the order the steps run in.

Every command that touches AWS first says which account and region it targets (deploy.target) and,
for prod, asks before changing anything.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from deploy import chalice_cmd, publish, stack, throttling
from deploy.chalice_cmd import ChaliceError
from deploy.chalice_config import (
    ConfigWriteError,
    load_config,
    unresolved,
    write_policy,
    write_stage_environment,
)
from deploy.names import STAGES, stack_name, table_name
from deploy.stack import StackError
from deploy.target import Refused, Target, announce, confirm, resolve_target

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_FAILED = 1
EXIT_REFUSED = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, aws: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--stage", required=True, choices=STAGES)
        sub.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
        if aws:
            sub.add_argument(
                "--local",
                action="store_true",
                help="target the emulator at AWS_ENDPOINT_URL on this machine (refused otherwise)",
            )
            sub.add_argument("--yes", action="store_true", help="do not ask before changing prod")
        return sub

    deploy = command("deploy", "Deploy or update a stage: infra stack, config, chalice deploy, dashboard.")
    deploy.add_argument("--alert-email", help="subscribe this address to alerts ('' removes it)")
    deploy.add_argument(
        "--skip-chalice", action="store_true", help="infra, config and dashboard only; no chalice deploy"
    )
    destroy = command("destroy", "Remove a stage: chalice functions and API, then the infra stack.")
    destroy.add_argument(
        "--delete-data", action="store_true", help="also delete the usage table (kept by default)"
    )
    command("publish-dashboard", "Upload frontend/ and a generated config.js to the stage's bucket.")
    command("render-config", "Write the stack outputs into .chalice/config.json and the stage's policy.")
    package = command(
        "package",
        "Write one CloudFormation template (Chalice + infra) for the stage; no AWS calls.",
        aws=False,
    )
    package.add_argument("--out", type=Path, required=True, help="output directory")
    return parser


def _render(project_dir: Path, stage: str, outputs: dict[str, str], out: TextIO) -> None:
    chalice_dir = project_dir / ".chalice"
    config_changed = write_stage_environment(chalice_dir / "config.json", stage, outputs)
    policy_changed = write_policy(chalice_dir, stage, outputs)
    print(f"  .chalice/config.json: {'updated' if config_changed else 'unchanged'}", file=out)
    print(f"  .chalice/policy-{stage}.json: {'updated' if policy_changed else 'unchanged'}", file=out)


def _publish(target: Target, project_dir: Path, stage: str, outputs: dict[str, str], out: TextIO) -> None:
    api_url = chalice_cmd.api_url(project_dir, stage)
    if api_url is None:
        print(
            f"  no REST API recorded in .chalice/deployed/{stage}.json: config.js gets an empty apiUrl",
            file=out,
        )
    files = publish.site_files(
        project_dir / "frontend", publish.config_js(api_url or "", stage), api_url=api_url or ""
    )
    result = publish.publish(target.s3(), outputs["BucketName"], files)
    print(
        f"  dashboard: {len(result.uploaded)} uploaded, {len(result.unchanged)} unchanged, "
        f"{len(result.deleted)} deleted",
        file=out,
    )
    distribution = outputs.get("DistributionId")
    if result.changed and distribution:
        invalidation = publish.invalidate(target.cloudfront(), distribution, f"deploy-{time.time_ns()}")
        print(f"  CloudFront invalidation {invalidation} started", file=out)


def _secret_has_value(target: Target, secret: str) -> bool:
    try:
        versions = target.secretsmanager().describe_secret(SecretId=secret).get("VersionIdsToStages", {})
    except ClientError:
        return False
    return any("AWSCURRENT" in stages for stages in versions.values())


def _has_subscription(target: Target, topic_arn: str) -> bool:
    try:
        subscriptions = target.sns().list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    except ClientError:
        return False
    return any(s.get("SubscriptionArn", "").startswith("arn:") for s in subscriptions)


def _next_steps(target: Target, stage: str, outputs: dict[str, str], out: TextIO) -> None:
    region = shlex.quote(target.region)
    endpoint = f" --endpoint-url {shlex.quote(target.endpoint)}" if target.endpoint else ""
    print(f"\nDashboard: {outputs.get('DashboardUrl', '(none)')}", file=out)
    steps: list[str] = []
    if not _secret_has_value(target, outputs["SecretName"]):
        steps.append(
            "Put the OpenAI admin key (read without echo, so it stays out of your shell history):\n"
            "       read -rs OPENAI_ADMIN_KEY && "
            f"aws secretsmanager put-secret-value{endpoint} --region {region} "
            f'--secret-id {shlex.quote(outputs["SecretName"])} --secret-string "$OPENAI_ADMIN_KEY"; '
            "unset OPENAI_ADMIN_KEY"
        )
    if not _has_subscription(target, outputs["TopicArn"]):
        steps.append(
            "Subscribe an e-mail address to alerts, then click the link in the confirmation e-mail:\n"
            f"       python -m deploy deploy --stage {stage} --alert-email you@example.com\n"
            f"       (or: aws sns subscribe{endpoint} --region {region} --topic-arn "
            f"{shlex.quote(outputs['TopicArn'])} --protocol email --notification-endpoint you@example.com)"
        )
    steps.append(
        "Create a viewer token for the dashboard:\n"
        f"       python -m chalicelib.cli --stage {stage} tokens create --name NAME --role viewer"
    )
    print("Left to do:", file=out)
    for number, step in enumerate(steps, 1):
        print(f"  {number}. {step}", file=out)


def _deploy(args: argparse.Namespace, target: Target, out: TextIO) -> None:
    project_dir: Path = args.project_dir
    outputs, _ = stack.deploy_stack(target, args.stage, project_dir, alert_email=args.alert_email, out=out)
    _render(project_dir, args.stage, outputs, out)
    config = load_config(project_dir / ".chalice" / "config.json")
    left = unresolved(config, args.stage)
    if left:
        raise ConfigWriteError(f"placeholders left in .chalice/config.json: {', '.join(left)}")
    if args.skip_chalice:
        print("  chalice deploy skipped (--skip-chalice)", file=out)
    else:
        env = chalice_cmd.environment(project_dir, args.stage, target)
        chalice_cmd.run(["deploy", "--stage", args.stage], project_dir, env)
        api_id = throttling.rest_api_id(project_dir, args.stage)
        if api_id:
            stage_config = config.get("stages", {}).get(args.stage, {})
            api_stage = str(stage_config.get("api_gateway_stage", config.get("api_gateway_stage", "api")))
            throttling.apply(target.apigateway(), api_id, api_stage, out)
        group = chalice_cmd.api_handler_log_group(project_dir, args.stage)
        days = chalice_cmd.log_retention_days(project_dir, args.stage)
        if group and days:
            chalice_cmd.fix_api_handler_log_retention(target.logs(), group, days)
            print(f"  {group}: logs kept {days} days", file=out)
    if (project_dir / "frontend" / publish.INDEX_HTML).is_file():
        _publish(target, project_dir, args.stage, outputs, out)
    else:
        print("  WARNING: frontend/index.html does not exist: no dashboard published", file=out)
    _next_steps(target, args.stage, outputs, out)


def _destroy(args: argparse.Namespace, target: Target, out: TextIO) -> None:
    project_dir: Path = args.project_dir
    outputs = stack.read_outputs(target, args.stage)
    if chalice_cmd.deployed_record(project_dir, args.stage) is not None:
        env = chalice_cmd.environment(project_dir, args.stage, target)
        chalice_cmd.run(["delete", "--stage", args.stage], project_dir, env)
    else:
        print(
            f"  nothing recorded in .chalice/deployed/{args.stage}.json here: no chalice resources to delete",
            file=out,
        )
    # CloudFormation deletes only empty buckets.
    for key, what in (("BucketName", "dashboard bucket"), ("ViewsBucketName", "views bucket")):
        if outputs.get(key):
            count = publish.empty_bucket(target.s3(), outputs[key])
            print(f"  emptied {what} {outputs[key]} ({count} objects)", file=out)
    stack.delete_stack(target, args.stage, out=out)
    table = outputs.get("TableName") or table_name(args.stage)
    if args.delete_data:
        stack.delete_table(target.dynamodb(), table, out=out)
    elif stack.table_exists(target.dynamodb(), table):
        print(
            f"  kept table {table} (its data survives; the next deploy adopts it; --delete-data removes it)",
            file=out,
        )


def _publish_dashboard(args: argparse.Namespace, target: Target, out: TextIO) -> None:
    outputs = stack.read_outputs(target, args.stage)
    if not outputs:
        raise StackError(f"no stack {stack_name(args.stage)}: run `python -m deploy deploy` first")
    _publish(target, args.project_dir, args.stage, outputs, out)
    print(f"\nDashboard: {outputs.get('DashboardUrl', '(none)')}", file=out)


def _render_config(args: argparse.Namespace, target: Target, out: TextIO) -> None:
    outputs = stack.read_outputs(target, args.stage)
    if not outputs:
        raise StackError(f"no stack {stack_name(args.stage)}: run `python -m deploy deploy` first")
    _render(args.project_dir, args.stage, outputs, out)


_ACTIONS = {
    "deploy": ("deploy", _deploy, True),
    "destroy": ("destroy", _destroy, True),
    "publish-dashboard": ("publish the dashboard of", _publish_dashboard, True),
    # Reads the stack and writes local files only: no question asked, even on prod.
    "render-config": ("render the config of", _render_config, False),
}


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, stdin: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "package":
            from deploy import packaging  # noqa: PLC0415 - only this command needs it

            template = packaging.package(args.project_dir, args.stage, args.out.resolve())
            print(f"wrote {template}", file=out)
            return 0
        verb, action, changes_aws = _ACTIONS[args.command]
        if args.command == "destroy" and args.delete_data:
            verb = "destroy (and DELETE THE USAGE DATA of)"
        target = resolve_target(args.local)
        announce(target, verb, args.stage, out)
        if changes_aws:
            # destroying is never undone: every stage asks, not only prod
            every_stage = args.command == "destroy"
            confirm(
                target,
                action=verb,
                stage=args.stage,
                yes=args.yes,
                stdin=stdin,
                out=out,
                every_stage=every_stage,
            )
        action(args, target, out)
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (StackError, ChaliceError, ConfigWriteError, FileNotFoundError, ClientError, BotoCoreError) as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0
