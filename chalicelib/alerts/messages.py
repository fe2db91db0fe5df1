"""Alert messages: the words people read and the JSON machines read, in one SNS publish.

One publish serves every kind of subscriber through `MessageStructure="json"`, which lets SNS hand
each protocol its own body:

    default, email   plain text: what happened, usage against the limit, percent, data as-of time,
                     the top five contributors (person, key, model, tokens), the forecast, the
                     dashboard link, the alert id
    sqs, lambda, http, email-json, firehose
                     the JSON document (`payload`): schema, alert_id, kind, severity, title, text,
                     and `detail` (everything the rule knew, e.g. the whole pool object of /api/pools)
    https            an AWS Chatbot (Amazon Q Developer in chat applications) custom notification:
                     Chatbot subscribes over https and only renders that schema; threaded per
                     (period, subject), the filter attributes repeated in `additionalContext`

Message attributes `kind`, `pool`, `severity`, `key_id` and `alert_id` (String; empty ones omitted)
let subscriptions filter (`FilterPolicy`) without parsing bodies. `alert_id` is the same in every
copy of one alert, so a machine subscriber can drop the rare duplicate (see chalicelib.alerts.engine).

Every kind has its renderer in `RENDERERS` (a test fails for a kind without one: no kind is ever
worded as another). The envelope around the words (`envelope`: the per-protocol document and the
Chatbot notification) is shared with the digests (chalicelib.alerts.digest_messages). `StoredMessage`,
what SNS gets, is defined here; the ledger (chalicelib.store.alerts) only persists it.

Subjects are what a mail client's list shows: "[OpenAI usage] Large pool at 80% (200,512 / 250,000
tokens)": ASCII only, one line, at most 99 characters (SNS refuses 100 and more).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.alerts.kinds import Alert, AlertKind

if TYPE_CHECKING:
    from chalicelib.pools import Contributor

PREFIX = "[OpenAI usage]"
MAX_SUBJECT = 99
SCHEMA = "openai-usage-tracker.alert/1"
JSON_PROTOCOLS = ("sqs", "lambda", "http", "email-json", "firehose")
ATTRIBUTE_NAMES = ("kind", "pool", "severity", "key_id", "alert_id")
# SNS takes 256 KiB per message, every protocol's body together; the ledger item holds it too.
MAX_MESSAGE_BYTES = 200_000


@dataclass(frozen=True)
class StoredMessage:
    """What SNS gets: the subject line, the MessageStructure=json document, the message attributes."""

    title: str
    structured: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageContext:
    """What every message states besides the alert: where the dashboard is, which stage, when."""

    dashboard_url: str
    stage: str
    created_at: int


# -- formatting -------------------------------------------------------------------------------------
def _num(value: int | float | Decimal | str | None) -> str:
    if value is None:
        return "-"
    return f"{Decimal(str(value)):,.0f}"


def _usd(value: Decimal | str) -> str:
    return f"${Decimal(str(value)):,.2f}"


def _when(text: str | None) -> str:
    """`2026-11-20T17:15:00Z` -> `2026-11-20 17:15 UTC`."""
    if not text:
        return "unknown"
    return text.replace("T", " ")[:16] + " UTC"


def _ascii_line(text: str) -> str:
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in flat).split())


def subject_line(text: str) -> str:
    """`PREFIX text` as a valid SNS subject: ASCII, one line, at most 99 characters."""
    line = _ascii_line(f"{PREFIX} {text}")
    return line if len(line) <= MAX_SUBJECT else line[: MAX_SUBJECT - 3].rstrip() + "..."


def _pool_title(pool: str) -> str:
    return pool.capitalize()


def contributor_table(rows: Sequence[Contributor]) -> list[str]:
    """The top contributors as aligned text lines (person, key, model, tokens)."""
    if not rows:
        return ["  (none)"]
    table = [("Person", "Key", "Model", "Tokens")]
    for row in rows:
        key = row.api_key_id if row.name == row.api_key_id else f"{row.name} ({row.api_key_id})"
        table.append((row.owner or "-", key, row.model, _num(row.tokens)))
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    return [
        f"  {person:<{widths[0]}}  {key:<{widths[1]}}  {model:<{widths[2]}}  {tokens:>12}"
        for person, key, model, tokens in table
    ]


def _fields(pairs: Sequence[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in pairs)
    return [f"{name:<{width}}  {value}" for name, value in pairs]


class Body(NamedTuple):
    """What a renderer says of one alert: the subject's words, the lead sentence, the fields (name,
    value) and the heading of the contributor table that `render` adds below."""

    title: str
    lead: str
    pairs: Sequence[tuple[str, str]]
    heading: str


# -- per kind ---------------------------------------------------------------------------------------
def _forecast_text(detail: Mapping[str, Any]) -> str:
    if detail.get("exhausted_at"):
        return f"ran out at {_when(detail['exhausted_at'])}; later tokens are billed at list price"
    if detail.get("forecast_exhausted_at"):
        return f"at the current rate, runs out about {_when(detail['forecast_exhausted_at'])}"
    return "not expected to run out before the reset"


def _pool_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    name = _pool_title(alert.pool)
    used, cap = _num(d["used"]), _num(d["cap"])
    if alert.kind == "pool_forecast":
        title = (
            f"{name} pool may run out at {_when(d['forecast_exhausted_at'])[11:]} ({d['percent']:.0f}% used)"
        )
        lead = (
            f"At the current rate the {alert.pool} complimentary pool runs out before today's reset "
            f"({_when(d['forecast_exhausted_at'])})."
        )
    else:
        title = f"{name} pool at {alert.threshold}% ({used} / {cap} tokens)"
        lead = f"The {alert.pool} complimentary pool has reached {alert.threshold}% of today's cap."
    pairs = [
        ("Pool", f"{alert.pool} (tier {d.get('tier', '-')}, resets {_when(d.get('resets_at'))})"),
        ("Used", f"{used} of {cap} tokens ({d['percent']:.1f}%)"),
        ("Remaining", f"{_num(d['remaining'])} tokens"),
        ("Over cap", f"{_num(d.get('over_cap_tokens', 0))} tokens (billed at list price)"),
        ("Rate", f"{_num(d['rate_per_hour'])} tokens/hour (last 3 full hours and this one)"),
        ("Forecast", _forecast_text(d)),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    return Body(title, lead, pairs, "Top contributors today:")


def _budget_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    budget = d["budget"]
    period = "daily" if budget["period"] == "daily" else "monthly"
    if budget["unit"] == "usd":
        amounts = f"{_usd(d['used'])} / {_usd(d['limit'])}"
        unit_note = "dollars: billed once Costs settle (about 2 days), list-price estimates before"
    else:
        amounts = f"{_num(d['used'])} / {_num(d['limit'])} tokens"
        unit_note = "tokens: input + output"
    title = f"Key {d['name']} at {alert.threshold}% of its {period} budget ({amounts})"
    lead = f"The API key {d['name']} ({d['api_key_id']}) has used {alert.threshold}% of its {period} budget."
    pairs = [
        ("Key", f"{d['name']} ({d['api_key_id']})"),
        ("Person", d.get("owner") or "-"),
        ("Team", d.get("team") or "-"),
        ("Used", f"{amounts} ({d['percent']:.1f}%)"),
        ("Counting", unit_note),
        ("Period from", _when(d["period_start"])),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    return Body(title, lead, pairs, "Models of this key in the period:")


def _unclassified_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    title = f"Unclassified model {d['model']}: {_num(d['tokens'])} tokens today"
    lead = (
        f"The model {d['model']} is in no complimentary pool list (chalicelib/data/model_families.json), "
        "so its tokens count in neither pool. If OpenAI added it to a pool, add its family to the list."
    )
    pairs = [
        ("Model", str(d["model"])),
        ("Tokens today", _num(d["tokens"])),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    return Body(title, lead, pairs, "Keys using it today:")


def _unmapped_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    title = f"Unmapped API key {d['api_key_id']} is spending"
    lead = (
        f"The key {d['api_key_id']} has usage but no name: it is not in OpenAI's directory and has no "
        "mapping. Name it with `python -m chalicelib.cli add-key` or on the dashboard."
    )
    pairs = [
        ("Key", str(d["api_key_id"])),
        ("First seen", _when(d["first_seen"])),
        ("Tokens today", _num(d["tokens_today"])),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    return Body(title, lead, pairs, "Its models today:")


def _budget_forecast_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    title = f"Key {d['name']} on track to exceed its monthly budget by {d['on_track_to_exceed']}"
    lead = (
        f"At its recent daily rate, the API key {d['name']} ({d['api_key_id']}) will reach its monthly "
        f"budget of {_usd(d['limit'])} on {d['on_track_to_exceed']}, before the month ends."
    )
    method = d["method"]
    pairs = [
        ("Key", f"{d['name']} ({d['api_key_id']})"),
        ("Person", d.get("owner") or "-"),
        ("Team", d.get("team") or "-"),
        ("Month so far", _usd(d["month_to_date"])),
        ("Month-end forecast", f"{_usd(d['forecast'])} (range {_usd(d['low'])} to {_usd(d['high'])})"),
        ("Budget", f"{_usd(d['limit'])} a month"),
        ("Daily rate", f"{_usd(d['daily_rate'])} (last {method['window_days']} days, weekday-adjusted)"),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    return Body(title, lead, pairs, "Models of this key this month:")


def _key_text(d: Mapping[str, Any]) -> str:
    key_id, name = str(d["api_key_id"]), str(d.get("name") or d["api_key_id"])
    return key_id if name == key_id else f"{name} ({key_id})"


def _key_owner_pairs(d: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The key, its person and its team: the first rows of every per-key leaked-key alert."""
    return [("Key", _key_text(d)), ("Person", d.get("owner") or "-"), ("Team", d.get("team") or "-")]


def _window_text(d: Mapping[str, Any]) -> str:
    return f"{_when(d['window_start'])} to {_when(d['window_end'])[11:]} ({d['window_hours']} h)"


def _spike_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    base = d["baseline"]
    subject = f"key {_key_text(d)}" if d["dimension"] == "key" else f"{d['dimension']} {d['member']}"
    spent, usual = _usd(d["spend_usd"]), _usd(base["median_usd"])
    title = f"Spend spike: {subject} spent {spent} in {d['window_hours']} h (usual {usual})"
    lead = (
        f"The {subject} spent {_usd(d['spend_usd'])} in the last {d['window_hours']} hours, far above its "
        f"usual {_usd(base['median_usd'])} for these hours of the week. A leaked key often shows itself so."
    )
    samples = ", ".join(_usd(sample) for sample in base["samples_usd"])
    pairs = [
        ("Window", _window_text(d)),
        ("Spend", f"{_usd(d['spend_usd'])} (list-price estimate)"),
        (
            "Baseline",
            f"median {_usd(base['median_usd'])}, MAD {_usd(base['mad_usd'])} over {base['weeks']} weeks",
        ),
        ("Same hours", f"{samples} (1, 2, ... weeks ago)"),
        ("Excess", f"{_usd(d['excess_usd'])} ({d['score'] or 'flat baseline'} scaled MADs)"),
        ("Rule", f"excess >= {d['mad_threshold']} x 1.4826 x MAD and >= {_usd(d['min_usd'])}"),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    if d["dimension"] == "key":
        pairs[:0] = [("Key", _key_text(d)), ("Person", d.get("owner") or "-")]
    return Body(title, lead, pairs, "Top models in the window:")


def _dormant_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    title = (
        f"Dormant key {_key_text(d)} woke up: {_usd(d['spend_usd'])} in {d['window_hours']} h "
        f"after {d['quiet_days']} quiet days"
    )
    lead = (
        f"The API key {_key_text(d)} had no usage for {d['quiet_days']} days and now spends again. "
        "If nobody expected it, revoke or rotate it."
    )
    pairs = [
        *_key_owner_pairs(d),
        ("Last used", f"{d['last_used_day']} (then {d['quiet_days']} days without usage)"),
        ("Window", _window_text(d)),
        ("Spend", f"{_usd(d['spend_usd'])} (list-price estimate; $0.00 while dormant)"),
        ("Rule", f"{d['dormant_days']}+ quiet days, then >= {_usd(d['min_usd'])} in the window"),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    return Body(title, lead, pairs, "Top models in the window:")


def _new_model_lines(alert: Alert, context: MessageContext) -> Body:
    d = alert.detail
    models = [row["model"] for row in d["new_models"]]
    title = f"Key {_key_text(d)} started using {', '.join(models)}: {_usd(d['spend_usd'])} today"
    lead = (
        f"The API key {_key_text(d)} uses a model it did not use in the {d['baseline']['history_days']} "
        "days before today. If nobody expected it, the key may have leaked."
    )
    pairs = [
        *_key_owner_pairs(d),
        *(
            ("New model", f"{row['model']}: {_usd(row['spend_usd'])}, {_num(row['tokens'])} tokens today")
            for row in d["new_models"]
        ),
        ("Known models", ", ".join(d["baseline"]["known_models"]) or "-"),
        ("Rule", f">= {_usd(d['min_usd'])} today on a model new to the key"),
        ("Data as of", _when(d.get("data_as_of"))),
    ]
    return Body(title, lead, pairs, "Models of this key today:")


def _test_lines(alert: Alert, context: MessageContext) -> Body:
    title = f"Test alert from the {context.stage} stage"
    lead = "This is a test message from `python -m chalicelib.cli alerts test`: the subscription works."
    return Body(title, lead, [], "Top contributors:")


# -- the message ------------------------------------------------------------------------------------
def attributes_of(alert: Alert) -> dict[str, str]:
    """The message attributes: kind, pool, severity, key_id, alert_id; empty ones left out."""
    values = {
        "kind": alert.kind,
        "pool": alert.pool,
        "severity": alert.severity,
        "key_id": alert.key_id,
        "alert_id": alert.alert_id,
    }
    return {name: value for name, value in values.items() if value}


Renderer = Callable[[Alert, MessageContext], Body]

RENDERERS: Mapping[AlertKind, Renderer] = {
    "pool_threshold": _pool_lines,
    "pool_forecast": _pool_lines,
    "key_budget": _budget_lines,
    "unclassified_model": _unclassified_lines,
    "unmapped_key": _unmapped_lines,
    "test": _test_lines,
    "budget_forecast": _budget_forecast_lines,
    "spend_anomaly": _spike_lines,
    "dormant_key": _dormant_lines,
    "new_model": _new_model_lines,
}


def render(alert: Alert, context: MessageContext) -> StoredMessage:
    """The subject, the MessageStructure=json document and the attributes of one alert."""
    body = RENDERERS[alert.kind](alert, context)
    title = subject_line(body.title)
    fields = [*_fields(body.pairs), ""] if body.pairs else []
    lines = [body.lead, "", *fields, body.heading]
    lines += contributor_table(alert.contributors)
    lines += [*dashboard_lines(context), f"Alert: {alert.alert_id} ({alert.severity}, stage {context.stage})"]
    text = "\n".join(lines) + "\n"
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "period": alert.period,
        "subject": alert.subject,
        "threshold": alert.threshold,
        "pool": alert.pool or None,
        "key_id": alert.key_id or None,
        "stage": context.stage,
        "title": title,
        "text": text,
        "dashboard_url": context.dashboard_url or None,
        "created_at": context.created_at,
        "top_contributors": [asdict(row) for row in alert.contributors],
        "detail": dict(alert.detail),
    }
    attributes = attributes_of(alert)
    seal = partial(envelope, alert.alert_id, f"{alert.period}/{alert.subject}", event=alert.kind)
    message = seal(title=title, text=text, document=payload, attributes=attributes)
    if len(message.structured.encode("utf-8")) > MAX_MESSAGE_BYTES:
        payload["detail"] = {k: v for k, v in alert.detail.items() if not isinstance(v, list | dict)}
        payload["detail_truncated"] = True
        message = seal(title=title, text=text, document=payload, attributes=attributes)
    return message


# -- the envelope, alerts and digests alike -----------------------------------------------------------
def dashboard_lines(context: MessageContext) -> list[str]:
    """The blank line and the dashboard link that close every message body."""
    return ["", f"Dashboard: {context.dashboard_url or '(DASHBOARD_URL is not set for this stage)'}"]


def envelope(
    message_id: str,
    thread: str,
    *,
    event: str,
    title: str,
    text: str,
    document: Mapping[str, Any],
    attributes: Mapping[str, str],
) -> StoredMessage:
    """One SNS publish of `text` (people) and `document` (machines): the MessageStructure=json body
    per protocol, with an AWS Chatbot custom notification (version 1.0) threaded by `thread`."""
    chatbot = {
        "version": "1.0",
        "source": "custom",
        "id": message_id,
        "content": {"textType": "client-markdown", "title": title, "description": f"```\n{text}```"},
        "metadata": {
            "threadId": thread,
            "summary": title,
            "eventType": event,
            "additionalContext": dict(attributes),
        },
    }
    per_protocol: dict[str, str] = {"default": text, "email": text, "https": json.dumps(chatbot)}
    per_protocol.update(dict.fromkeys(JSON_PROTOCOLS, json.dumps(document, default=str, sort_keys=True)))
    return StoredMessage(title=title, structured=json.dumps(per_protocol), attributes=dict(attributes))


__all__ = [
    "ATTRIBUTE_NAMES",
    "RENDERERS",
    "SCHEMA",
    "Body",
    "MessageContext",
    "Renderer",
    "StoredMessage",
    "attributes_of",
    "contributor_table",
    "dashboard_lines",
    "envelope",
    "render",
    "subject_line",
]
