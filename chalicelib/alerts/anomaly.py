"""Anomaly and leaked-key rules, pure: which keys, owners and projects spend unlike themselves.

A leaked key shows itself in one of three ways; each raises one alert per subject per UTC day
(period = the day of `now`, threshold `once`), through the ledger like every alert:

- spend_anomaly  a key, owner or project whose spend in the window (the last ANOMALY_WINDOW_HOURS
                 whole hours before `now`'s hour) is far above its own baseline for those hours of
                 the week: the same hours 1..ANOMALY_WEEKS weeks earlier, a sample per week. The
                 baseline is robust: median m and MAD (median absolute deviation) of the samples,
                 and the spike fires when spend - m >= ANOMALY_MAD_THRESHOLD x 1.4826 x MAD (1.4826
                 x MAD estimates a standard deviation for normal noise) and spend - m >=
                 ANOMALY_MIN_USD (default $50: usage is heavy-tailed, one burst of an expensive
                 model over a flat zero baseline is no leak). It needs at least MIN_BASELINE_WEEKS
                 weeks whose days were all collected.
- dormant_key    a key with usage in the window that woke (first usage of the window's first UTC day)
                 after at least ANOMALY_DORMANT_DAYS whole UTC days without any usage, having had
                 usage before that (within the lookback: dormant days + ANOMALY_WEEKS weeks of daily
                 rollups), and has spent at least ANOMALY_WAKE_MIN_USD since it woke.
- new_model      a key spending at least ANOMALY_WAKE_MIN_USD today on a model it did not use in the
                 ANOMALY_WEEKS weeks before today, when the key has usage on at least
                 MIN_HISTORY_DAYS of those days (a new key's first models are not news).

Dollars are the list-price estimates of chalicelib.money (`cost_of(usage, settled=False)`) for the
window and the baseline alike: the recent hours are never billed yet, and comparing an estimate with
a bill would measure the price table, not the key. Line items (`item:...`) are not models.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median
from typing import Any, Literal

from chalicelib.alerts.kinds import ONCE, Alert
from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.keys.model import KeyIdentity
from chalicelib.keys.resolve import resolve
from chalicelib.money import cost_of, is_item
from chalicelib.periods import DAY, HOUR, day_label, day_start, hour_label, iso
from chalicelib.pools import Contributor
from chalicelib.settings import Settings
from chalicelib.usage import Usage

AnomalyDim = Literal["key", "owner", "project"]
ANOMALY_KINDS = ("spend_anomaly", "dormant_key", "new_model")
MIN_BASELINE_WEEKS = 2
MIN_HISTORY_DAYS = 7
MAD_SCALE = Decimal("1.4826")
TOP_MODELS = 5
CENT = Decimal("0.01")


@dataclass(frozen=True)
class AnomalyConfig:
    """The thresholds, from the stage's settings."""

    window_hours: int = 3
    weeks: int = 4
    mad_threshold: Decimal = Decimal(6)
    min_usd: Decimal = Decimal(50)
    wake_min_usd: Decimal = Decimal(1)
    dormant_days: int = 7

    @classmethod
    def of(cls, settings: Settings) -> AnomalyConfig:
        """The config of a stage."""
        return cls(
            window_hours=settings.anomaly_window_hours,
            weeks=settings.anomaly_weeks,
            mad_threshold=Decimal(str(settings.anomaly_mad_threshold)),
            min_usd=settings.anomaly_min_usd,
            wake_min_usd=settings.anomaly_wake_min_usd,
            dormant_days=settings.anomaly_dormant_days,
        )


# -- hours and dollars ------------------------------------------------------------------------------
def window_hours(now: int, hours: int) -> list[int]:
    """The starts of the `hours` whole hours before the hour of `now`, oldest first."""
    current = now - now % HOUR
    return [current - i * HOUR for i in range(hours, 0, -1)]


def baseline_weeks(window: Sequence[int], weeks: int) -> list[list[int]]:
    """The window shifted back 1..`weeks` weeks: the same hours of the week."""
    return [[hour - week * 7 * DAY for hour in window] for week in range(1, weeks + 1)]


def usd(usage: Usage) -> Decimal:
    """The estimate of one rollup value (chalicelib.money), on one basis for window and baseline."""
    return cost_of(usage, settled=False)


def spend_by_member(
    hours: Iterable[int], by_hour: Mapping[str, Mapping[str, Usage]], group: Mapping[str, str] | None = None
) -> dict[str, Decimal]:
    """Dollars per member over `hours` from hourly aggregates (`hour label -> member -> usage`);
    with `group`, members are mapped first (key -> owner) and the unmapped ones dropped."""
    totals: dict[str, Decimal] = {}
    for hour in hours:
        for member, usage in by_hour.get(hour_label(hour), {}).items():
            target = member if group is None else group.get(member)
            if target is None or target == UNATTRIBUTED:
                continue
            totals[target] = totals.get(target, Decimal(0)) + usd(usage)
    return totals


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.000001")), "f")


@dataclass(frozen=True)
class Baseline:
    """The weekly samples and their median and MAD."""

    samples: tuple[Decimal, ...]
    median: Decimal
    mad: Decimal

    @classmethod
    def of(cls, samples: Sequence[Decimal]) -> Baseline:
        """The robust baseline of `samples` (at least one)."""
        middle = Decimal(median(samples))
        return cls(tuple(samples), middle, Decimal(median(abs(s - middle) for s in samples)))

    def score(self, spend: Decimal) -> Decimal | None:
        """(spend - median) in scaled MADs; None when the MAD is 0 (every sample equal)."""
        if not self.mad:
            return None
        return ((spend - self.median) / (MAD_SCALE * self.mad)).quantize(CENT)

    def exceeded_by(self, spend: Decimal, config: AnomalyConfig) -> bool:
        """True when `spend` is a spike against this baseline."""
        excess = spend - self.median
        return excess >= config.min_usd and excess >= config.mad_threshold * MAD_SCALE * self.mad

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (dollars as decimal strings)."""
        return {
            "median_usd": _money(self.median),
            "mad_usd": _money(self.mad),
            "samples_usd": [_money(s) for s in self.samples],
            "weeks": len(self.samples),
        }


# -- the rules --------------------------------------------------------------------------------------
def _who(key_id: str, identities: Mapping[str, KeyIdentity]) -> dict[str, Any]:
    identity = resolve(key_id, identities)
    return {"api_key_id": key_id, "name": identity.name, "owner": identity.owner, "team": identity.team}


def _window_detail(window: Sequence[int], now: int) -> dict[str, Any]:
    return {
        "window_start": iso(window[0]),
        "window_end": iso(window[-1] + HOUR),
        "window_hours": len(window),
        "data_as_of": iso(now),
    }


def spike_alerts(
    dim: AnomalyDim,
    now: int,
    window: Sequence[int],
    *,
    spend: Mapping[str, Decimal],
    weekly: Sequence[Mapping[str, Decimal]],
    config: AnomalyConfig,
    identities: Mapping[str, KeyIdentity],
) -> list[Alert]:
    """Spend anomalies of one dimension: `spend` per member in the window, `weekly` the same per
    baseline week (only weeks whose hours were all collected; a member absent from a week spent $0)."""
    if len(weekly) < MIN_BASELINE_WEEKS or not window:
        return []
    alerts = []
    for member, amount in sorted(spend.items()):
        baseline = Baseline.of([week.get(member, Decimal(0)) for week in weekly])
        if not baseline.exceeded_by(amount, config):
            continue
        score = baseline.score(amount)
        who = _who(member, identities) if dim == "key" else {}
        alerts.append(
            Alert(
                kind="spend_anomaly",
                period=day_label(now),
                subject=f"spike:{dim}:{member}",
                threshold=ONCE,
                severity="critical" if dim == "key" else "warning",
                detail={
                    "dimension": dim,
                    "member": member,
                    **who,
                    **_window_detail(window, now),
                    "spend_usd": _money(amount),
                    "baseline": baseline.as_dict(),
                    "excess_usd": _money(amount - baseline.median),
                    "score": None if score is None else format(score, "f"),
                    "mad_threshold": format(config.mad_threshold, "f"),
                    "min_usd": format(config.min_usd, "f"),
                },
                key_id=member if dim == "key" else "",
            )
        )
    return alerts


def dormant_alerts(
    now: int,
    window: Sequence[int],
    *,
    awake: Mapping[int, Mapping[str, Usage]],
    active_days: Mapping[str, Collection[str]],
    config: AnomalyConfig,
    identities: Mapping[str, KeyIdentity],
) -> list[Alert]:
    """Keys waking after ANOMALY_DORMANT_DAYS quiet days. `awake`: hour start -> key -> usage, for
    the hours from 00:00 of the window's first day to the window's end (a key may have woken before
    the window: runs can be sparse); `active_days`: day label -> keys with usage that day, for the
    lookback days before the window's first day. Spend and top models count from the waking hour."""
    if not window:
        return []
    first_day = day_start(day_label(window[0]))
    end = window[-1] + HOUR
    in_window = {key for hour in window for key, usage in awake.get(hour, {}).items() if not usage.is_zero()}
    alerts = []
    for key_id in sorted(in_window - {UNATTRIBUTED}):
        hours = sorted(h for h, members in awake.items() if first_day <= h < end and key_id in members)
        woke = next(h for h in hours if not awake[h][key_id].is_zero())
        amount = sum((usd(awake[h][key_id]) for h in hours if h >= woke), Decimal(0))
        if amount < config.wake_min_usd:
            continue
        seen = [day for day, keys in active_days.items() if key_id in keys and day_start(day) < first_day]
        if not seen:
            continue  # new to the lookback: a new key (or silent longer than we look), not a waking one
        last_seen = max(seen)
        quiet_days = (first_day - day_start(last_seen)) // DAY - 1
        if quiet_days < config.dormant_days:
            continue
        awake_hours = list(range(woke, end, HOUR))
        alerts.append(
            Alert(
                kind="dormant_key",
                period=day_label(now),
                subject=f"dormant:{key_id}",
                threshold=ONCE,
                severity="critical",
                detail={
                    **_who(key_id, identities),
                    **_window_detail(awake_hours, now),
                    "woke_at": iso(woke),
                    "spend_usd": _money(amount),
                    "last_used_day": last_seen,
                    "quiet_days": quiet_days,
                    "baseline": {"spend_usd_while_dormant": _money(Decimal(0)), "days": quiet_days},
                    "dormant_days": config.dormant_days,
                    "min_usd": format(config.wake_min_usd, "f"),
                },
                key_id=key_id,
            )
        )
    return alerts


@dataclass(frozen=True)
class ModelUse:
    """One key's use of one model over a period: dollars and tokens."""

    model: str
    usd: Decimal
    tokens: int


def new_model_alerts(
    now: int,
    today: Mapping[str, Sequence[ModelUse]],
    history: Mapping[str, Mapping[str, Collection[str]]],
    config: AnomalyConfig,
    identities: Mapping[str, KeyIdentity],
) -> list[Alert]:
    """Keys using a model new to them. `today`: key -> its models today; `history`: key -> day ->
    its models that day, over the ANOMALY_WEEKS weeks before today (only keys to be judged)."""
    alerts = []
    for key_id, uses in sorted(today.items()):
        days = history.get(key_id, {})
        if key_id == UNATTRIBUTED or len([d for d, models in days.items() if models]) < MIN_HISTORY_DAYS:
            continue
        known = {model for models in days.values() for model in models}
        fresh = sorted(
            (
                u
                for u in uses
                if u.model not in known and not is_item(u.model) and u.usd >= config.wake_min_usd
            ),
            key=lambda u: (-u.usd, u.model),
        )
        if not fresh:
            continue
        alerts.append(
            Alert(
                kind="new_model",
                period=day_label(now),
                subject=f"new_model:{key_id}",
                threshold=ONCE,
                severity="warning",
                detail={
                    **_who(key_id, identities),
                    "date": day_label(now),
                    "data_as_of": iso(now),
                    "new_models": [
                        {"model": u.model, "spend_usd": _money(u.usd), "tokens": u.tokens} for u in fresh
                    ],
                    "spend_usd": _money(sum((u.usd for u in fresh), Decimal(0))),
                    "baseline": {"known_models": sorted(known), "history_days": len(days)},
                    "min_usd": format(config.wake_min_usd, "f"),
                },
                key_id=key_id,
            )
        )
    return alerts


def candidates_for_new_models(
    today: Mapping[str, Sequence[ModelUse]], recent: Mapping[str, Collection[str]], config: AnomalyConfig
) -> list[str]:
    """The keys worth a look at their history: a model today that is not in `recent` (key -> models
    of the days just before), worth at least ANOMALY_WAKE_MIN_USD. Spares the long read in a normal run."""
    return sorted(
        key_id
        for key_id, uses in today.items()
        if any(
            u.model not in recent.get(key_id, ()) and not is_item(u.model) and u.usd >= config.wake_min_usd
            for u in uses
        )
    )


def top_models(
    uses: Mapping[tuple[str, str], ModelUse], identities: Mapping[str, KeyIdentity]
) -> tuple[tuple[Contributor, ...], list[dict[str, Any]]]:
    """The top models by dollars of (key, model) uses: the top key x model pairs as contributors (the
    message's table) and the top models, all keys together, as JSON rows."""
    by_model: dict[str, ModelUse] = {}
    for use in uses.values():
        old = by_model.get(use.model, ModelUse(use.model, Decimal(0), 0))
        by_model[use.model] = ModelUse(use.model, old.usd + use.usd, old.tokens + use.tokens)
    pairs = sorted(uses.items(), key=lambda kv: (-kv[1].usd, -kv[1].tokens, kv[0]))[:TOP_MODELS]
    contributors = []
    for (key_id, model), use in pairs:
        identity = resolve(key_id, identities)
        contributors.append(Contributor(key_id, identity.name, identity.owner, model, use.tokens))
    rows = sorted(by_model.values(), key=lambda u: (-u.usd, -u.tokens, u.model))[:TOP_MODELS]
    return tuple(contributors), [
        {"model": u.model, "spend_usd": _money(u.usd), "tokens": u.tokens} for u in rows
    ]


__all__ = [
    "ANOMALY_KINDS",
    "MIN_BASELINE_WEEKS",
    "MIN_HISTORY_DAYS",
    "AnomalyConfig",
    "AnomalyDim",
    "Baseline",
    "ModelUse",
    "baseline_weeks",
    "candidates_for_new_models",
    "dormant_alerts",
    "new_model_alerts",
    "spend_by_member",
    "spike_alerts",
    "top_models",
    "usd",
    "window_hours",
]
