"""`/api/alerts`: what is firing now and the alert history, read from the ledger (chalicelib.store.alerts).

History: every ledger item of the last `days` UTC days (default 30, at most 90, the ledger's TTL) and
of the months they touch, newest first, filtered by `kind` and `state`. One Query per period.

Firing now, one entry per subject (its highest threshold), severity from that threshold:
- pools, forecasts, unclassified models and daily budgets: recorded for today;
- monthly budgets: recorded for this month;
- unmapped keys: recorded in the window and the key still has no name anywhere;
- spend anomalies, dormant keys waking and new models (chalicelib.alerts.anomaly): recorded for today;
- the collector: its last run failed (`consecutive_failures` > 0 in the checkpoint). Only when and
  how often: the error text stays in the logs (it may quote an upstream answer).
Superseded items never fire: a higher threshold of the same subject was recorded instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, get_args

from chalicelib.alerts.kinds import LEDGER_KINDS, Severity, info_of, kind_titles
from chalicelib.alerts.rules import severity_of
from chalicelib.errors import InvalidInput
from chalicelib.periods import DAY, day_label, iso, month_label
from chalicelib.store.alerts import AlertLedger, AlertRecord, AlertState
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.meta import Checkpoint, MetaStore
from chalicelib.validation import Params, listed, normalize, single

ALERT_PARAMS = ("days", "kind", "state")
DEFAULT_DAYS = 30
MAX_DAYS = 90
KINDS: tuple[str, ...] = LEDGER_KINDS  # the values of the `kind` filter
STATES: tuple[str, ...] = get_args(AlertState)
COLLECTOR_KIND = "collector_failing"
COLLECTOR_TITLE = "Collector"


def _severity(record: AlertRecord) -> Severity:
    if record.threshold.isdigit():
        return severity_of(int(record.threshold))
    info = info_of(record.kind)
    if (info is not None and info.critical) or record.subject.startswith("spike:key:"):
        return "critical"  # how a leaked key shows itself (chalicelib.alerts.anomaly)
    return "warning"


def _key_of(record: AlertRecord) -> str | None:
    """The key an alert is about: budget:<id>, unmapped:<id>, budget-forecast:<id>, dormant:<id>,
    new_model:<id>, spike:key:<id>."""
    info = info_of(record.kind)
    if info is not None and info.key_subject:
        return record.subject.partition(":")[2]
    if record.kind == "spend_anomaly" and record.subject.startswith("spike:key:"):
        return record.subject.removeprefix("spike:key:")
    return None


def _rank(record: AlertRecord) -> int:
    return int(record.threshold) if record.threshold.isdigit() else 0


def alert_json(record: AlertRecord) -> dict[str, Any]:
    """One ledger item as the API shows it (the ledger's summary, times as ISO strings)."""
    body = record.as_dict()
    for name in ("created_at", "last_attempt_at", "published_at"):
        value = body.get(name)
        body[name] = iso(value) if value else None
    body["severity"] = _severity(record)
    body["key_id"] = _key_of(record)
    body["title"] = body["title"] or f"{record.kind.replace('_', ' ')}: {record.subject}"
    return body


def _periods(now: int, days: int) -> list[str]:
    labels = [day_label(now - i * DAY) for i in range(days)]
    return labels + list(dict.fromkeys(month_label(now - i * DAY) for i in range(days)))


def firing(records: Iterable[AlertRecord], now: int, unnamed: set[str]) -> list[AlertRecord]:
    """The alerts in force now: one per subject, its highest threshold (see the module docstring)."""
    today, month = day_label(now), month_label(now)
    best: dict[str, AlertRecord] = {}
    for record in records:
        if record.state == "superseded":
            continue
        if record.kind == "unmapped_key":
            live = record.subject.partition(":")[2] in unnamed
        else:
            live = record.period in (today, month)
        current = best.get(record.subject)
        if live and (current is None or _rank(record) > _rank(current)):
            best[record.subject] = record
    return sorted(best.values(), key=lambda r: (-_rank(r), -r.created_at, r.subject))


def collector_alert(checkpoint: Checkpoint) -> dict[str, Any] | None:
    """A firing entry when the last collection failed."""
    failures = checkpoint.consecutive_failures
    if failures <= 0:
        return None
    since = iso(checkpoint.last_error_at) if checkpoint.last_error_at else None
    last = checkpoint.last_success_at
    last_ok = datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%d %H:%M UTC") if last else "never"
    runs = "run" if failures == 1 else f"{failures} runs"
    return {
        "alert_id": f"collector#{failures}",
        "kind": COLLECTOR_KIND,
        "subject": "collector",
        "severity": "critical",
        "state": "firing",
        "title": f"The collector is failing: the last {runs} failed (last success: {last_ok})",
        "created_at": since,
        "key_id": None,
    }


def _days(params: Params) -> int:
    raw = single(params, "days")
    if raw is None:
        return DEFAULT_DAYS
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidInput("days", f"must be a whole number of days from 1 to {MAX_DAYS}")
    return int(raw)


def _one_of(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    def check(value: str, name: str) -> str:
        if value not in allowed:
            raise InvalidInput(name, f"must be among {', '.join(allowed)}")
        return value

    return check


def alerts_report(
    params: Params,
    now: int,
    *,
    ledger: AlertLedger | None = None,
    meta: MetaStore | None = None,
    directory: DirectoryStore | None = None,
) -> dict[str, Any]:
    """`GET /api/alerts`: {firing, history, days, generated_at, kinds}; `kinds` names every kind for
    the page (the recorded kinds, in filter order, then the firing-only collector)."""
    params = normalize(params, ALERT_PARAMS, lists=("kind", "state"))
    days = _days(params)
    kinds = listed(params, "kind", check=_one_of(KINDS)) or KINDS
    states = listed(params, "state", check=_one_of(STATES)) or STATES
    records = (ledger or AlertLedger()).records(_periods(now, days))
    records = [r for r in records if r.kind != "test"]
    unmapped_ids = {r.subject.partition(":")[2] for r in records if r.kind == "unmapped_key"}
    unnamed: set[str] = set()
    if unmapped_ids:
        identities = (directory or DirectoryStore()).identities()
        unnamed = {key_id for key_id in unmapped_ids if key_id not in identities}
    now_firing = [alert_json(r) for r in firing(records, now, unnamed)]
    collector = collector_alert((meta or MetaStore()).checkpoint())
    if collector is not None:
        now_firing.insert(0, collector)
    history = sorted(
        (r for r in records if r.kind in kinds and r.state in states),
        key=lambda r: (-r.created_at, r.period, r.subject, -_rank(r)),
    )
    return {
        "generated_at": iso(now),
        "days": days,
        "firing": now_firing,
        "history": [alert_json(r) for r in history],
        "kinds": {**kind_titles(), COLLECTOR_KIND: COLLECTOR_TITLE},
    }
