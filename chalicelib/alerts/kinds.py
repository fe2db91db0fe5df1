"""The alert kinds, declared once: the `Alert` every rule returns, and what each kind is called.

`KINDS` is the one table of kinds: the dashboard's name for each (handed to the page by
`/api/alerts` as `kinds`), whether its subject names a key (`<prefix>:<key_id>`, so the API can say
which key it is about), and whether a `once` alert of the kind is critical on the page. Adding a kind
adds a row here, its rule, and its renderer in chalicelib.alerts.messages (a test fails while a kind
has no renderer); docs/design.md "Adding an alert kind" walks the files.

No I/O and no import of the query layer: the API (chalicelib.query.alerts), the rules and the
messages all read this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

if TYPE_CHECKING:
    from chalicelib.pools import Contributor

AlertKind = Literal[
    "pool_threshold",
    "pool_forecast",
    "key_budget",
    "unclassified_model",
    "unmapped_key",
    "test",
    "budget_forecast",  # chalicelib.alerts.budget_forecast
    # anomaly and leaked-key alerts (chalicelib.alerts.anomaly)
    "spend_anomaly",
    "dormant_key",
    "new_model",
]
Severity = Literal["info", "warning", "critical"]
ONCE = "once"
TEST_KIND: AlertKind = "test"


@dataclass(frozen=True)
class KindInfo:
    """What the page and the API know of one kind."""

    title: str
    key_subject: bool = False  # the subject is `<prefix>:<key_id>`
    critical: bool = False  # a `once` alert of this kind is critical (a leaked key's sign)


KINDS: Mapping[AlertKind, KindInfo] = {
    "pool_threshold": KindInfo("Pool"),
    "pool_forecast": KindInfo("Pool forecast"),
    "key_budget": KindInfo("Budget", key_subject=True),
    "unclassified_model": KindInfo("Unclassified model"),
    "unmapped_key": KindInfo("Unmapped key", key_subject=True),
    "test": KindInfo("Test message"),
    "budget_forecast": KindInfo("Budget forecast", key_subject=True),
    "spend_anomaly": KindInfo("Spend spike"),  # per key, owner or project: see query.alerts._key_of
    "dormant_key": KindInfo("Dormant key woke", key_subject=True, critical=True),
    "new_model": KindInfo("New model for a key", key_subject=True),
}
LEDGER_KINDS: tuple[AlertKind, ...] = tuple(kind for kind in get_args(AlertKind) if kind != TEST_KIND)
"""The kinds the rules record (the test message is published, never recorded)."""


@dataclass(frozen=True)
class Alert:
    """One alert the numbers call for. `detail` is JSON-ready and travels in the message."""

    kind: AlertKind
    period: str
    subject: str
    threshold: str
    severity: Severity
    detail: Mapping[str, Any] = field(default_factory=dict)
    contributors: tuple[Contributor, ...] = ()
    pool: str = ""
    key_id: str = ""

    @property
    def ident(self) -> tuple[str, str, str]:
        """(period, subject, threshold): what fires once."""
        return (self.period, self.subject, self.threshold)

    @property
    def alert_id(self) -> str:
        """`<period>/<subject>#<threshold>`, the same in the ledger and in every copy of the message."""
        return f"{self.period}/{self.subject}#{self.threshold}"


def info_of(kind: str) -> KindInfo | None:
    """What is declared of a kind read back from the ledger (a string), if it is one of ours."""
    return KINDS.get(cast("AlertKind", kind))


def kind_titles() -> dict[str, str]:
    """Kind -> the dashboard's name for it, of every recorded kind (the `kinds` of /api/alerts)."""
    return {kind: KINDS[kind].title for kind in LEDGER_KINDS}


__all__ = [
    "KINDS",
    "LEDGER_KINDS",
    "ONCE",
    "TEST_KIND",
    "Alert",
    "AlertKind",
    "KindInfo",
    "Severity",
    "info_of",
    "kind_titles",
]
