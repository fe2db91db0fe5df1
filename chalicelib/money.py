"""Dollars: the one rule from OpenAI's bill to every view (docs/money.md).

Every view (reports at 1m/1h/1d in any grouping, keys, comparisons, exports, pools, budget alerts,
the CLI, the dashboard) asks this module what a cell cost; nothing else decides a dollar.

- A day is *billed* (settled) once its Costs data was read `SETTLE_HOURS` after the day ended
  (`Settlement.settled`). A billed day costs exactly what OpenAI billed. A day not billed yet costs
  its estimate (chalicelib.catalog's price table) and is *provisional*.
- The bill is per day; the collector apportions each billed cell of a day over that day's hours by
  their estimated share (`apportion_day`, largest remainder at the storage quantum), so that the hours
  of a day sum exactly to the day's bill in every grouping, and every stored hour and day carries
  `billed_usd`. A report then takes, for every record whatever its width: billed if its day is
  settled, else estimated (`cost_of`). Totals of a period are therefore equal at 1h and 1d and in
  every grouping; live 1m data is never of a settled day, so it is estimated like its hour.
- Costs line items that are not a model (web search tool calls, file search, code interpreter,
  vector storage, fine-tuning training, "Text tokens" ...) are stored as their own kind of member
  `item:<line item>` in the model dimension (`member_of_line_item`), attributed to the key and
  project the Costs API grouped them by; they are never a model and belong to no pool.
- Unpriced: tokens of a model without a price are counted in `unpriced_tokens`; a view shows them as
  unpriced (`cost_text`), never as $0.00.
- Reconciliation (`reconcile`): per billed day, the estimate against the bill, overall and per model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.periods import DAY, day_start
from chalicelib.usage import MONEY_QUANTUM, Usage

if TYPE_CHECKING:
    from chalicelib.store.rollups import Cell

SETTLE_HOURS = 48
"""A day's billed dollars are final once the Costs data was read this long after the day ended."""

Basis = Literal["billed", "estimated"]
ITEM_PREFIX = "item:"
LINE_ITEMS_POOL = "line items"
"""The pool member of non-model line items in a by-pool report (they count against no pool)."""
_MODEL_SUFFIXES_NOT_USAGE = ("training",)  # "<ft model>, training": fine-tuning is an item, not usage
ZERO = Decimal(0)


@dataclass(frozen=True)
class Settlement:
    """Which days are billed (settled). `live` data (1m) is never settled.

    `billed_by_key` records whether Costs were grouped by key; it no longer changes the rule (the
    collector apportions a project's bill to its keys by their estimated share)."""

    costs_as_of: int | None
    billed_by_key: bool = True
    live: bool = False

    def settled(self, day: str) -> bool:
        """True when the day's Costs data was read SETTLE_HOURS after the day ended."""
        if self.live or self.costs_as_of is None:
            return False
        return self.costs_as_of >= day_start(day) + DAY + SETTLE_HOURS * 3600

    def settled_before(self) -> int | None:
        """Every day ending at or before this instant is settled (None before any cost data)."""
        if self.live or self.costs_as_of is None:
            return None
        cutoff = self.costs_as_of - SETTLE_HOURS * 3600
        return cutoff - cutoff % DAY


def cost_of(usage: Usage, settled: bool) -> Decimal:
    """What a cell of a day cost: billed when the day is settled, else estimated."""
    return usage.billed_usd if settled else usage.estimated_usd


def basis_of(settled: bool) -> Basis:
    """The basis of a cell's cost."""
    return "billed" if settled else "estimated"


def day_cost(settlement: Settlement) -> Callable[[str, Usage], Decimal]:
    """(day label, usage) -> USD under `settlement`: what budgets and alerts count."""

    def cost(day: str, usage: Usage) -> Decimal:
        return cost_of(usage, settlement.settled(day))

    return cost


def cost_text(cost: Decimal | str, unpriced_tokens: int) -> str:
    """Dollars for people; tokens without a price are shown as unpriced, never as $0.00."""
    amount = Decimal(cost)
    if unpriced_tokens and not amount:
        return f"unpriced ({unpriced_tokens:,} tokens)"
    text = f"${amount:,.2f}"
    return f"{text} + unpriced ({unpriced_tokens:,} tokens)" if unpriced_tokens else text


# -- line items ----------------------------------------------------------------------------------
def member_of_line_item(line_item: str) -> str:
    """The model-dimension member of a Costs line item: the model (text before the last comma) for
    `"gpt-4o-mini-2024-07-18, cached input"`; `item:<line item>` for an item that is not a model
    (`"web search tool calls"`, `"Text tokens"`, `"<ft model>, training"`); "" for `", output"` (the
    caller decides what an unknown model means, normally "unattributed")."""
    text = line_item.strip()
    head, comma, tail = text.rpartition(",")
    if not comma:
        return ITEM_PREFIX + text if text else ""
    if tail.strip().lower().startswith(_MODEL_SUFFIXES_NOT_USAGE):
        return ITEM_PREFIX + text
    return head.strip()


def is_item(model: str | None) -> bool:
    """Whether a model-dimension member is a non-model line item."""
    return bool(model) and str(model).startswith(ITEM_PREFIX)


def item_name(model: str) -> str:
    """The line item of an item member, as OpenAI wrote it."""
    return model[len(ITEM_PREFIX) :] if is_item(model) else model


# -- apportionment -------------------------------------------------------------------------------
def apportion(
    total: Decimal, weights: Sequence[Decimal | int], quantum: Decimal = MONEY_QUANTUM
) -> list[Decimal]:
    """`total` split by `weights` in multiples of `quantum` (largest remainder): the parts sum to
    `total` exactly when `total` is a multiple of `quantum`. Zero weights everywhere split evenly."""
    if not weights:
        return []
    sign = -1 if total < 0 else 1
    units = int((abs(total) / quantum).to_integral_value(rounding=ROUND_FLOOR))
    shares = [Decimal(max(w, 0)) for w in weights]
    whole = sum(shares, ZERO)
    if not whole:
        shares, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    with localcontext() as context:
        context.prec = 60  # exact enough that no share is rounded across a whole unit
        exact = [units * share / whole for share in shares]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    left = units - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * quantum * n for n in floors]


def apportion_day(
    day: str,
    hourly: Mapping[tuple[str, Cell], Usage],
    billed: Mapping[Cell, Decimal],
    *,
    by_key: bool = True,
) -> dict[tuple[str, Cell], Decimal]:
    """One day's bill over its hours: (hour, cell) -> billed USD, summing exactly to each billed cell
    (quantized to MONEY_QUANTUM first).

    A billed cell goes onto the hourly cells it matches, by their estimated share: the same cell; or,
    when Costs were grouped by project only (`by_key` false, key unattributed), the same model and
    project under any key. A cell without such usage (a non-model item, a model billed without
    usage) keeps its own cell and is spread over the hours of its key and project's usage (else its
    project's, else the day's, else hour 00)."""
    exact: dict[Cell, list[tuple[str, Cell, Usage]]] = defaultdict(list)
    by_model_project: dict[tuple[str, str], list[tuple[str, Cell, Usage]]] = defaultdict(list)
    hours_of: dict[tuple[str, ...], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (hour, cell), usage in hourly.items():
        exact[cell].append((hour, cell, usage))
        by_model_project[(cell.model, cell.project)].append((hour, cell, usage))
        weight = _weight(usage)
        hours_of[("kp", cell.key, cell.project)][hour] += weight
        hours_of[("p", cell.project)][hour] += weight
        hours_of[("day",)][hour] += weight
    out: dict[tuple[str, Cell], Decimal] = {}
    for cell in sorted(billed, key=lambda c: (c.key, c.model, c.project)):
        amount = billed[cell].quantize(MONEY_QUANTUM)
        targets = exact.get(cell)
        if not targets and not by_key:
            targets = by_model_project.get((cell.model, cell.project))
        if targets:
            # By estimate when any target has one, else by tokens and requests (an unpriced model).
            priced = any(t[2].estimated_usd > 0 for t in targets)
            weights = [t[2].estimated_usd if priced else t[2].total_tokens + t[2].requests for t in targets]
            parts = apportion(amount, weights)
            for (hour, target, _), part in zip(targets, parts, strict=True):
                out[(hour, target)] = out.get((hour, target), ZERO) + part
            continue
        hours = next(
            (
                hours_of[scope]
                for scope in (("kp", cell.key, cell.project), ("p", cell.project), ("day",))
                if scope in hours_of
            ),
            None,
        )
        if not hours:
            hours = {f"{day}T00": Decimal(1)}
        labels = sorted(hours)
        for hour, part in zip(labels, apportion(amount, [hours[h] for h in labels]), strict=True):
            out[(hour, cell)] = out.get((hour, cell), ZERO) + part
    return out


def _weight(usage: Usage) -> Decimal:
    if usage.estimated_usd > 0:
        return usage.estimated_usd
    return Decimal(usage.total_tokens + usage.requests) * TOKEN_WEIGHT


TOKEN_WEIGHT = Decimal("1e-12")  # an hour of unpriced usage still draws a (tiny) share of an item


# -- reconciliation ------------------------------------------------------------------------------
def gap_percent(estimated: Decimal, billed: Decimal) -> float | None:
    """(estimated - billed) / billed in percent, two decimals; None when nothing was billed."""
    if not billed:
        return None
    return round(float((estimated - billed) * 100 / billed), 2)


def _money(value: Decimal) -> str:
    return format(value.normalize() if value else ZERO, "f")


def reconcile(
    days: Mapping[str, Mapping[str, Usage]],
    settlement: Settlement,
    threshold_percent: float,
    *,
    max_models: int = 5,
) -> list[dict[str, Any]]:
    """For each billed day of `days` (day -> model member -> usage), the estimate against the bill,
    overall and per model. A day whose gap passes `threshold_percent` is flagged, naming the models
    (or items) that explain it: those with the largest gaps in dollars, each at least a tenth of the
    day's."""
    answer = []
    for day in sorted(days):
        if not settlement.settled(day):
            continue
        models = days[day]
        estimated = sum((u.estimated_usd for u in models.values()), ZERO)
        billed = sum((u.billed_usd for u in models.values()), ZERO)
        unpriced = sum(u.unpriced_tokens for u in models.values())
        gap = gap_percent(estimated, billed)
        ranked = sorted(
            ((abs(u.estimated_usd - u.billed_usd), model, u) for model, u in models.items()),
            key=lambda entry: (-entry[0], entry[1]),
        )
        day_gap = abs(estimated - billed)
        flagged = (gap is None and estimated > 0) or (gap is not None and abs(gap) > threshold_percent)
        explained = [item_name(model) for off, model, _ in ranked if flagged and off and off * 10 >= day_gap]
        rows = [
            {
                "model": item_name(model),
                "kind": "item" if is_item(model) else "model",
                "estimated_usd": _money(u.estimated_usd),
                "billed_usd": _money(u.billed_usd),
                "gap_usd": _money(u.estimated_usd - u.billed_usd),
                "gap_percent": gap_percent(u.estimated_usd, u.billed_usd),
                "unpriced_tokens": u.unpriced_tokens,
            }
            for _, model, u in ranked
        ]
        answer.append(
            {
                "day": day,
                "estimated_usd": _money(estimated),
                "billed_usd": _money(billed),
                "gap_usd": _money(estimated - billed),
                "gap_percent": gap,
                "unpriced_tokens": unpriced,
                "flagged": flagged,
                "explained_by": explained[:max_models],
                "models": rows,
            }
        )
    return answer


def settled_days(settlement: Settlement, labels: Iterable[str]) -> list[str]:
    """The labels of billed days, in order."""
    return sorted(day for day in labels if settlement.settled(day))
