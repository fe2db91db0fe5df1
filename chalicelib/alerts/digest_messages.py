"""Digest messages: a digest (chalicelib.digest) worded for people and shaped for machines, in one
SNS publish in the envelope of the alerts (chalicelib.alerts.messages, `MessageStructure="json"`):

    default, email   plain text: spend and tokens against the previous period, movers, budgets at
                     risk, unmapped keys, unclassified models, exhausted pools, key hygiene
    sqs, lambda, http, email-json, firehose   the JSON document: schema, digest_id, the digest itself
    https            an AWS Chatbot custom notification (threaded per digest scope)

Message attributes `kind` ("digest"), `severity` ("info") and `alert_id` (the digest's ledger id) let
subscriptions filter digests in or out without parsing bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.alerts.messages import MessageContext, StoredMessage, dashboard_lines, envelope, subject_line

SCHEMA = "openai-usage-tracker.digest/1"
KIND = "digest"


def _usd(value: str) -> str:
    return f"${Decimal(value):,.2f}"


def _pct(value: float | None) -> str:
    return "new" if value is None else f"{value:+.1f}%"


def scope_name(digest: Mapping[str, Any]) -> str:
    """`organization` or `team <name>`."""
    team = digest["scope"]["team"]
    return "organization" if team is None else f"team {team}"


def title(digest: Mapping[str, Any]) -> str:
    """The subject line: `[OpenAI usage] Weekly digest 2026-W46, organization: $12.34 (+5.0%)`."""
    spend = digest["spend"]
    kind = "Weekly" if digest["period"]["kind"] == "week" else "Monthly"
    return subject_line(
        f"{kind} digest {digest['period']['label']}, {scope_name(digest)}: "
        f"{_usd(spend['cost_usd'])} ({_pct(spend['change_percent'])})"
    )


def _key(row: Mapping[str, Any]) -> str:
    name = str(row.get("name") or row["key_id"])
    return row["key_id"] if name == row["key_id"] else f"{name} ({row['key_id']})"


def _amounts(row: Mapping[str, Any]) -> str:
    if row["budget"]["unit"] == "usd":
        return f"{_usd(row['used'])} / {_usd(row['limit'])}"
    return f"{Decimal(row['used']):,.0f} / {Decimal(row['limit']):,.0f} tokens"


def _more(digest: Mapping[str, Any], name: str) -> list[str]:
    extra = int(digest["counts"][name]) - len(digest[name])
    return [f"  ... and {extra} more"] if extra > 0 else []


def text_lines(digest: Mapping[str, Any]) -> list[str]:
    """The plain-text body, line by line (also what `digest preview` prints)."""
    spend, period, previous = digest["spend"], digest["period"], digest["previous"]
    lines = [
        f"{'Weekly' if period['kind'] == 'week' else 'Monthly'} digest of the {scope_name(digest)}, "
        f"{period['label']} ({period['start'][:10]} to {period['end'][:10]}, end exclusive)",
        "",
        f"Spend   {_usd(spend['cost_usd'])} against {_usd(spend['previous_cost_usd'])} in "
        f"{previous['label']} ({_pct(spend['change_percent'])})"
        + ("  [provisional: some days not billed yet]" if spend["provisional"] else ""),
        f"Tokens  {spend['total_tokens']:,} against {spend['previous_total_tokens']:,} "
        f"({_pct(spend['tokens_change_percent'])})",
    ]
    for heading, rows in (("Top movers up", digest["movers_up"]), ("Top movers down", digest["movers_down"])):
        lines += ["", f"{heading}:"]
        lines += [
            f"  {_key(row)}: {_usd(row['cost_usd'])} (was {_usd(row['previous_cost_usd'])}, "
            f"{'+' if Decimal(row['change_usd']) > 0 else '-'}{_usd(row['change_usd'].lstrip('-'))})"
            for row in rows
        ] or ["  (none)"]
    lines += ["", "Budgets at risk:"]
    lines += [
        f"  {_key(row)}: {row['percent']:.1f}% of its {row['budget']['period']} budget ({_amounts(row)})"
        for row in digest["budgets_at_risk"]
    ] or ["  (none)"]
    lines += _more(digest, "budgets_at_risk")
    if digest["scope"]["team"] is None:
        lines += ["", "Unmapped keys with usage:"]
        lines += [
            f"  {row['key_id']}: {_usd(row['cost_usd'])}, {row['total_tokens']:,} tokens"
            for row in digest["unmapped_keys"]
        ] or ["  (none)"]
        lines += _more(digest, "unmapped_keys")
        lines += ["", "Unclassified models:"]
        lines += [f"  {row['model']}: {row['tokens']:,} tokens" for row in digest["unclassified_models"]] or [
            "  (none)"
        ]
        lines += ["", "Pools exhausted:"]
        lines += [
            f"  {row['day']} {row['pool']}: {row['used']:,} of {row['cap']:,} tokens"
            for row in digest["pools_exhausted"]
        ] or ["  (none)"]
        lines += _more(digest, "pools_exhausted")
    hygiene = digest["hygiene"]
    counted = ", ".join(f"{code} {n}" for code, n in hygiene["counts"].items() if n)
    lines += ["", f"Key hygiene: {counted or 'nothing to do'}"]
    lines += [
        f"  {_key(row)}: {', '.join(row['findings'])}; 30-day spend {_usd(row['spend_30d']['cost_usd'])}"
        for row in hygiene["keys"]
    ]
    if hygiene["more"]:
        lines.append(f"  ... and {hygiene['more']} more keys (python -m chalicelib.cli hygiene)")
    return lines


def render(digest: Mapping[str, Any], digest_id: str, context: MessageContext) -> StoredMessage:
    """The subject, the MessageStructure=json document and the attributes of one digest."""
    subject = title(digest)
    lines = text_lines(digest)
    lines += [*dashboard_lines(context), f"Digest: {digest_id} (stage {context.stage})"]
    text = "\n".join(lines) + "\n"
    document = {
        "schema": SCHEMA,
        "digest_id": digest_id,
        "kind": KIND,
        "stage": context.stage,
        "title": subject,
        "text": text,
        "created_at": context.created_at,
        "dashboard_url": context.dashboard_url or None,
        "digest": dict(digest),
    }
    attributes = {"kind": KIND, "severity": "info", "alert_id": digest_id}
    thread = f"digest/{digest['period']['kind']}/{scope_name(digest)}"
    return envelope(
        digest_id, thread, event=KIND, title=subject, text=text, document=document, attributes=attributes
    )
