"""Digests read and sent: the inputs of chalicelib.digest from the table, `digest preview`, and the
daily `digest` schedule that sends each weekly and monthly digest exactly once through the alert ledger.

The schedule runs every day. A weekly digest is *due* on the Monday after its week and the day after
(a failed or missed Monday is caught up on Tuesday); a monthly one on the 1st and the 2nd. A due
digest of each scope (the organization, then every team some key belongs to) is recorded in the alert
ledger (chalicelib.store.alerts) with a conditional put, its message frozen, before anything is sent;
delivery is chalicelib.alerts.engine's claim -> publish -> mark published, so a schedule that fires twice
(or two that overlap) sends each digest once, and a failed publish stays pending for the next day.

Ledger identity: period `digest-week-<first day>` or `digest-month-<YYYY-MM>`, subject `digest:org`
or `digest:team:<team>`, threshold `once`. These partitions are not the days and months that
`alerts list` and `/api/alerts` read: digests are not alerts and do not show as firing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib import query
from chalicelib.alerts import digest_messages
from chalicelib.alerts.engine import KEEP_LEDGER_DAYS, AlertEngine, AlertRunReport
from chalicelib.alerts.messages import MessageContext
from chalicelib.alerts.publisher import SnsPublisher
from chalicelib.digest import (
    PERIOD_KINDS,
    DigestInputs,
    Period,
    PeriodKind,
    build_digest,
    last_complete,
    previous_of,
    teams_of,
)
from chalicelib.errors import InvalidInput
from chalicelib.money import Settlement
from chalicelib.observability import logger, metrics, run_context
from chalicelib.periods import DAY
from chalicelib.pools import pool_caps
from chalicelib.query.hygiene import findings
from chalicelib.query.keys import list_keys
from chalicelib.settings import Settings, get_settings
from chalicelib.store.alerts import AlertLedger

DUE_DAYS = 2  # the first day after a period and the next: one catch-up day, as alerts retry yesterday
ONCE = "once"


def parse_kind(value: Any) -> PeriodKind:
    """`week` or `month` from user input."""
    if value not in PERIOD_KINDS:
        raise InvalidInput("period", f"must be one of {', '.join(PERIOD_KINDS)}")
    return "week" if value == "week" else "month"


def load_inputs(
    kind: PeriodKind, now: int, *, stores: query.Stores | None = None, settings: Settings | None = None
) -> DigestInputs:
    """Read what the digests of the last complete `kind` period need."""
    stores = stores or query.Stores.default()
    settings = settings or get_settings()
    period = last_complete(kind, now)
    previous = previous_of(period)
    checkpoint = stores.meta.checkpoint()
    settlement = Settlement(checkpoint.costs_as_of, billed_by_key=checkpoint.cost_grouping != "project_id")
    keys = list_keys({}, now, stores=stores)["data"]
    return DigestInputs(
        now=now,
        period=period,
        previous=previous,
        cells=list(stores.rollups.daily_detail(previous.first_day, period.last_day)),
        settlement=settlement,
        identities=stores.directory.identities(),
        budgets=[entry for entry in keys if entry.get("budget")],
        hygiene=findings(now, stores=stores),
        caps={str(pool): cap for pool, cap in pool_caps(settings).items()},
        sharing_projects=settings.sharing_projects,
        budget_risk_percent=settings.digest_budget_risk_percent,
    )


def preview(
    kind: Any, now: int, team: str | None = None, *, stores: query.Stores | None = None
) -> dict[str, Any]:
    """The digest the schedule sends for the last complete period, without sending it."""
    inputs = load_inputs(parse_kind(kind), now, stores=stores)
    if team is not None:
        teams = teams_of(inputs.identities.values())
        if team not in teams:
            raise InvalidInput("team", f"no key has team {team!r}; teams: {', '.join(teams) or '(none)'}")
    return build_digest(inputs, team)


def ledger_period(period: Period) -> str:
    """The ledger partition of a period's digests."""
    return f"digest-{period.kind}-{period.first_day if period.kind == 'week' else period.label}"


def is_due(period: Period, now: int) -> bool:
    """Whether `now` is on one of the DUE_DAYS days after `period` ended."""
    return period.end <= now < period.end + DUE_DAYS * DAY


@dataclass
class DigestRunReport:
    """What one scheduled run did."""

    due: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    delivery: AlertRunReport = field(default_factory=AlertRunReport)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"due": self.due, "recorded": self.recorded, **asdict(self.delivery)}


class DigestSender:
    """Records due digests in the ledger and delivers them; tests inject stores, publisher, clock."""

    def __init__(
        self,
        settings: Settings,
        *,
        stores: query.Stores | None = None,
        ledger: AlertLedger | None = None,
        publisher: SnsPublisher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.stores = stores or query.Stores.default()
        self.ledger = ledger or AlertLedger()
        self.clock = clock
        self.engine = AlertEngine(
            settings,
            rollups=self.stores.rollups,
            directory=self.stores.directory,
            ledger=self.ledger,
            meta=self.stores.meta,
            publisher=publisher,
            clock=clock,
        )

    def _record(self, kind: PeriodKind, now: int, report: DigestRunReport) -> str:
        period = last_complete(kind, now)
        partition = ledger_period(period)
        if not is_due(period, now):
            return partition
        report.due.append(partition)
        known = {entry.subject for entry in self.ledger.records([partition])}
        inputs = load_inputs(kind, now, stores=self.stores, settings=self.settings)
        scopes: list[str | None] = [None, *teams_of(inputs.identities.values())]
        context = MessageContext(self.settings.dashboard_url, self.settings.stage, int(self.clock()))
        for team in scopes:
            subject = "digest:org" if team is None else f"digest:team:{team}"
            if subject in known:
                continue
            digest_id = f"{partition}/{subject}#{ONCE}"
            message = digest_messages.render(build_digest(inputs, team), digest_id, context)
            if self.ledger.record(
                period=partition,
                subject=subject,
                threshold=ONCE,
                kind=f"digest_{kind}",
                state="pending",
                message=message,
                now=context.created_at,
                expires_at=period.end + KEEP_LEDGER_DAYS * DAY,
            ):
                report.recorded.append(digest_id)
                logger.info("digest recorded", extra={"digest_id": digest_id})
        return partition

    def run(self, now: int) -> DigestRunReport:
        """Record every due digest not yet in the ledger, then deliver every pending digest of the
        current weekly and monthly partitions."""
        report = DigestRunReport()
        partitions = [self._record(kind, now, report) for kind in PERIOD_KINDS]
        self.engine.deliver(partitions, report.delivery)
        return report


def _now() -> int:
    return int(time.time())


def scheduled_digest(now: int | None = None) -> DigestRunReport:
    """The daily `digest` Lambda: metrics flushed whatever happens."""
    with run_context():
        try:
            report = DigestSender(get_settings()).run(now or _now())
            logger.info("digests run", extra={"digests": report.as_dict()})
            return report
        finally:
            metrics.flush_metrics()
