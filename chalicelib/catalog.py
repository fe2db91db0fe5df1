"""The model catalog: model name -> family -> complimentary pool, the dated price table, dollar estimates.

Owns everything that knows what a model name means: `model_family` (snapshot suffix stripping),
`pool_of` (large / mini / ineligible / unclassified), `PriceTable` (dated list prices, per-stage
overrides, `estimate_usd`), and the two parsers for the Costs API (`model_from_line_item`,
`parse_amount`). The facts live in package data, not code, so a change of OpenAI's programme or
prices is a data change:

- `data/model_families.json`: dated revisions, each the complete lists of families per pool;
- `data/prices.json`: per family (or exact model name) a list of complete entries, each with the
  UTC day it applies from.

Matching rules (see shared/reference/complimentary-tokens.md):

- A family is the model name without a trailing `-YYYY-MM-DD` snapshot date, and nothing else:
  no prefix matching (`gpt-4o-mini` is not `gpt-4o`, `o1-pro` is not `o1`), no stripping of the old
  four-digit `-MMDD` snapshots (`gpt-4-0613`): list those verbatim if they ever matter.
- Fine-tuned models (`ft:gpt-4o-mini-2024-07-18:org::id` in usage rows, `ft-gpt-4o-2024-08-06` in
  Costs line items) have the family `ft:<base family>` (`ft:gpt-4o-mini`), so they group apart from
  their base model, meet across both APIs, and take the fine-tuned price. Fine-tuned inference is
  billed normally, so a fine-tuned family is "ineligible" unless a pool list names it.
- Anything else in no list, and the null model ("unattributed"), is "unclassified".

Money is `Decimal` end to end; estimates and parsed amounts are rounded to 1e-12 USD (`USD_QUANTUM`)
so they stay exact, small, and inside DynamoDB's number range.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.errors import ConfigError, InvalidAmountError
from chalicelib.kinds import PER_CALL
from chalicelib.usage import Usage

Pool = Literal["large", "mini", "ineligible", "unclassified"]
POOLS: tuple[Pool, ...] = get_args(Pool)
LISTED_POOLS: tuple[Pool, ...] = ("large", "mini", "ineligible")

USD_QUANTUM = Decimal("1e-12")
MILLION = Decimal(1_000_000)
SECONDS_PER_MINUTE = Decimal(60)
# Enough digits for any realistic dollar amount at 1e-12 resolution (DynamoDB keeps 38).
_MONEY_CONTEXT = Context(prec=38)

_SNAPSHOT = re.compile(r"-\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$")
_FT_USAGE = "ft:"  # usage rows: ft:<base snapshot>:<org>:<suffix>:<id>
_FT_COSTS = "ft-"  # Costs line items: ft-<base snapshot>, <kind>

PRICE_FIELDS: tuple[str, ...] = (
    "input",
    "cached_input",
    "cache_write_30m",
    "cache_write_12h",
    "output",
    "audio_input",
    "cached_audio_input",
    "audio_output",
    "image_input",
    "cached_image_input",
    "image_output",
    "per_image",
    "per_1m_characters",
    "per_minute",
    # then the per-call items' units (chalicelib.kinds: per_1k_calls, per_session, per_gb_day)
    *dict.fromkeys(measure.price.field for measure in PER_CALL if measure.price),
)
TIERS = ("batch", "flex", "priority")
_ENTRY_META = frozenset({"effective_from", "note"})


# --- names ---------------------------------------------------------------------------------------


def _strip_snapshot(name: str) -> str:
    return _SNAPSHOT.sub("", name)


def model_family(model: str) -> str:
    """The family of a model name: `gpt-4o-mini-2024-07-18` -> `gpt-4o-mini`.

    Only a trailing `-YYYY-MM-DD` is removed. Fine-tuned names map to `ft:<base family>` from
    either spelling (`ft:gpt-4o-2024-08-06:org::id`, `ft-gpt-4o-2024-08-06`).
    """
    name = model.strip()
    if name.startswith(_FT_USAGE):
        base = name[len(_FT_USAGE) :].split(":", 1)[0]
        return _FT_USAGE + _strip_snapshot(base) if base else name
    if name.startswith(_FT_COSTS) and len(name) > len(_FT_COSTS):
        return _FT_USAGE + _strip_snapshot(name[len(_FT_COSTS) :])
    return _strip_snapshot(name)


def model_from_line_item(line_item: str) -> str:
    """The model of a Costs line item: the text before the LAST comma, or the whole text.

    `"gpt-4o-mini-2024-07-18, cached input"` -> `"gpt-4o-mini-2024-07-18"`;
    `"web search tool calls"` -> itself; `", output"` -> `""` (the caller decides what an empty
    model means, normally "unattributed").
    """
    head, comma, _ = line_item.rpartition(",")
    return (head if comma else line_item).strip()


def parse_amount(value: object) -> Decimal:
    """A Costs `amount.value` as an exact Decimal rounded to 1e-12 USD.

    Accepts int, Decimal, float (through its shortest repr, never its binary expansion) and decimal
    strings, including the long forms OpenAI sends (`"0.000004500000000000000000000000000000000"`,
    `"0E-6176"`). Negative values (credits) pass through. Raises `InvalidAmountError` (a ValueError)
    for None, bools, NaN, infinities and anything unparsable.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidAmountError(f"amount is not a number: {value!r}")
    number: Decimal
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise InvalidAmountError(f"amount is not a decimal number: {value[:80]!r}") from exc
    else:
        raise InvalidAmountError(f"amount has an unexpected type {type(value).__name__}")
    if not number.is_finite():
        raise InvalidAmountError(f"amount is not finite: {value!r}")
    return quantize_usd(number)


def quantize_usd(amount: Decimal) -> Decimal:
    """Round to 1e-12 USD (half-even) and drop trailing zeros, never in exponent form."""
    try:
        rounded = amount.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN, context=_MONEY_CONTEXT)
    except InvalidOperation as exc:
        raise InvalidAmountError(f"amount is too large: {amount!r}") from exc
    if not rounded:
        return Decimal(0)
    tidy = rounded.normalize(_MONEY_CONTEXT)
    # normalize() writes 10 as 1E+1; an integral quantize brings back the plain digits.
    return tidy.quantize(Decimal(1)) if cast(int, tidy.as_tuple().exponent) > 0 else tidy


def _as_day(on: date) -> date:
    """The UTC day of a date or datetime (an aware datetime is converted to UTC first)."""
    if isinstance(on, datetime):
        return (on.astimezone(UTC) if on.tzinfo is not None else on).date()
    return on


def _day(value: object, where: str) -> date:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a YYYY-MM-DD date string, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not a YYYY-MM-DD date") from exc


def _read_data(name: str) -> dict[str, Any]:
    # importlib.resources finds the file wherever chalicelib is installed (the Lambda zip included).
    text = (resources.files("chalicelib") / "data" / name).read_text(encoding="utf-8")
    data = json.loads(text, parse_float=Decimal)
    if not isinstance(data, dict):
        raise ConfigError(f"chalicelib/data/{name} must hold a JSON object")
    return data


# --- pools ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyRevision:
    """The pool lists in force from one UTC day on."""

    effective_from: date
    pools: MappingProxyType[str, Pool]

    def families(self, pool: Pool) -> frozenset[str]:
        """The families listed under `pool` (always empty for "unclassified")."""
        return frozenset(family for family, listed in self.pools.items() if listed == pool)


@dataclass(frozen=True)
class FamilyCatalog:
    """Every revision of the pool lists, oldest first, and the date the file was last reviewed."""

    as_of: date
    revisions: tuple[FamilyRevision, ...]

    def revision(self, on: date | None = None) -> FamilyRevision:
        """The revision in force on `on` (the newest when None; the oldest for earlier days)."""
        if on is None:
            return self.revisions[-1]
        starts = [revision.effective_from for revision in self.revisions]
        return self.revisions[max(bisect_right(starts, _as_day(on)) - 1, 0)]


def _parse_revision(raw: object, where: str) -> FamilyRevision:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a revision must be an object")
    pools: dict[str, Pool] = {}
    for pool in LISTED_POOLS:
        names = raw.get(pool, [])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ConfigError(f"{where}: {pool!r} must be a list of family names")
        for name in names:
            if not name or name != model_family(name) or name == UNATTRIBUTED:
                raise ConfigError(f"{where}: {name!r} is not a family name (no snapshot date)")
            if name in pools:
                raise ConfigError(f"{where}: {name!r} is listed under both {pools[name]} and {pool}")
            pools[name] = pool
    return FamilyRevision(_day(raw.get("effective_from"), where), MappingProxyType(pools))


@lru_cache(maxsize=1)
def family_catalog() -> FamilyCatalog:
    """The pool lists of `data/model_families.json`, read and checked once per process."""
    data = _read_data("model_families.json")
    raw_revisions = data.get("revisions")
    if not isinstance(raw_revisions, list) or not raw_revisions:
        raise ConfigError("model_families.json: 'revisions' must be a non-empty list")
    revisions = tuple(
        _parse_revision(raw, f"model_families.json revision {index}")
        for index, raw in enumerate(raw_revisions)
    )
    starts = [revision.effective_from for revision in revisions]
    if starts != sorted(set(starts)):
        raise ConfigError("model_families.json: revisions must have increasing effective_from dates")
    return FamilyCatalog(_day(data.get("as_of"), "model_families.json as_of"), revisions)


def pool_of(model: str | None, on: date | None = None) -> Pool:
    """The complimentary pool a model's tokens count against, by exact family match.

    `on` picks the dated revision (default: the newest). Fine-tuned families are "ineligible"
    unless listed; a null, empty, "unattributed" or unknown model is "unclassified".
    """
    if not model or model.strip() in ("", UNATTRIBUTED):
        return "unclassified"
    family = model_family(model)
    listed = family_catalog().revision(on).pools.get(family)
    if listed is not None:
        return listed
    return "ineligible" if family.startswith(_FT_USAGE) else "unclassified"


def pool_families(pool: Pool, on: date | None = None) -> frozenset[str]:
    """The families listed under `pool` on `on` (default: the newest revision)."""
    return family_catalog().revision(on).families(pool)


# --- prices --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPrice:
    """One dated price entry. Token prices are USD per 1M tokens; None means "no price for this unit"."""

    key: str  # the family or exact model name the entry is filed under
    effective_from: date
    input: Decimal | None = None
    cached_input: Decimal | None = None
    output: Decimal | None = None
    cache_write_30m: Decimal | None = None
    cache_write_12h: Decimal | None = None
    audio_input: Decimal | None = None
    cached_audio_input: Decimal | None = None
    audio_output: Decimal | None = None
    image_input: Decimal | None = None
    cached_image_input: Decimal | None = None
    image_output: Decimal | None = None
    per_image: Decimal | None = None
    per_1m_characters: Decimal | None = None
    per_minute: Decimal | None = None
    per_1k_calls: Decimal | None = None
    per_session: Decimal | None = None
    per_gb_day: Decimal | None = None


def _price_value(value: object, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ConfigError(f"{where}: a price must be a decimal string or number, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ConfigError(f"{where}: {value!r} is not a decimal number") from exc
    if not number.is_finite() or number < 0:
        raise ConfigError(f"{where}: a price must be a finite non-negative number, got {value!r}")
    return number


def _price_fields(raw: dict[str, Any], where: str) -> dict[str, Decimal | None]:
    unknown = set(raw) - set(PRICE_FIELDS) - _ENTRY_META
    if unknown:
        raise ConfigError(f"{where}: unknown price fields {sorted(unknown)}; known: {list(PRICE_FIELDS)}")
    return {name: _price_value(raw[name], f"{where}.{name}") for name in PRICE_FIELDS if name in raw}


def _parse_entries(key: str, raw: object, where: str) -> tuple[ModelPrice, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: {key!r} must map to a non-empty list of dated entries")
    entries: list[ModelPrice] = []
    for index, item in enumerate(raw):
        at = f"{where} {key}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: an entry must be an object")
        entries.append(ModelPrice(key, _day(item.get("effective_from"), at), **_price_fields(item, at)))
    starts = [entry.effective_from for entry in entries]
    if starts != sorted(set(starts)):
        raise ConfigError(f"{where}: {key!r} entries must have increasing effective_from dates")
    return tuple(entries)


def _in_force(entries: tuple[ModelPrice, ...], on: date) -> ModelPrice | None:
    index = bisect_right([entry.effective_from for entry in entries], on) - 1
    return entries[index] if index >= 0 else None


def _apply_override(
    entries: tuple[ModelPrice, ...], key: str, raw: object, where: str
) -> tuple[ModelPrice, ...]:
    """Patch `key`'s entries with one override.

    Without `effective_from` the given fields replace those of every dated entry (a stage's own
    price for all time); with it, a new entry starts that day from the entry then in force.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the override of {key!r} must be an object of price fields")
    # Any: replace() would otherwise check every field against Decimal | None.
    patch: dict[str, Any] = dict(_price_fields(raw, f"{where} {key}"))
    if "effective_from" not in raw:
        if not entries:
            return (ModelPrice(key, date.min, **patch),)
        return tuple(replace(entry, **patch) for entry in entries)
    start = _day(raw["effective_from"], f"{where} {key}")
    base = _in_force(entries, start) or ModelPrice(key, start)
    added = replace(base, effective_from=start, **patch)
    kept = [entry for entry in entries if entry.effective_from != start]
    return tuple(sorted([*kept, added], key=lambda entry: entry.effective_from))


@dataclass(frozen=True)
class TierMultiplier:
    """A dated price multiplier of one processing tier (batch, flex, priority) on model prices."""

    effective_from: date
    multiplier: Decimal


_NO_TIERS: MappingProxyType[str, tuple[TierMultiplier, ...]] = MappingProxyType({})


@dataclass(frozen=True)
class PriceTable:
    """Dated prices by family or exact model name. Build with `PriceTable.load(overrides_json)`."""

    as_of: date
    entries: MappingProxyType[str, tuple[ModelPrice, ...]]
    tiers: MappingProxyType[str, tuple[TierMultiplier, ...]] = field(default_factory=lambda: _NO_TIERS)

    @classmethod
    def load(cls, overrides_json: str = "") -> PriceTable:
        """The packaged table patched with a stage's overrides (cached per overrides string).

        `overrides_json` maps a family or model name to a partial price object, e.g.
        `{"gpt-4o": {"input": "2.00"}, "my-model": {"input": "1", "output": "2",
        "effective_from": "2026-01-01"}}`. Malformed overrides raise ConfigError.
        """
        return _load_table(overrides_json.strip())

    def price_for(self, model: str, on: date) -> ModelPrice | None:
        """The entry in force on `on`: the exact model name's first, else its family's; None if unpriced."""
        day = _as_day(on)
        name = model.strip()
        for key in dict.fromkeys((name, model_family(name))):
            entry = _in_force(self.entries.get(key, ()), day)
            if entry is not None:
                return entry
        return None

    def multiplier(self, on: date, *, batch: bool = False, service_tier: str | None = None) -> Decimal | None:
        """The factor on list prices for a row's processing: batch wins over its tier; the default
        (and any unlisted) tier is 1; None when a listed tier has no multiplier yet on `on`."""
        tier = "batch" if batch else (service_tier or "").strip().lower()
        entries = self.tiers.get(tier)
        if entries is None:
            return Decimal(1)
        index = bisect_right([entry.effective_from for entry in entries], _as_day(on)) - 1
        return entries[index].multiplier if index >= 0 else None

    def estimate_usd(
        self, model: str, usage: Usage, on: date, *, batch: bool = False, service_tier: str | None = None
    ) -> Decimal | None:
        """List-price dollars for `usage` of `model` on day `on`, or None when unpriced.

        Token fields as the SDK defines them: `input_tokens` is all input, of which `cached_tokens`
        (its audio and image parts at their cached prices, the rest at `cached_input`, else `input`)
        and cache writes (`cache_write_30m`/`_12h`, else `input`); the uncached rest splits into
        audio (`audio_input`), image (`image_input`, else `input`) and text (`input`). Output:
        audio (`audio_output`), image (`image_output`, else `output`), text (`output`). Images,
        characters and seconds bill at their units. The sum is multiplied by the tier's dated
        multiplier (batch and flex about half, priority about double). Per-call items (web and file
        searches, code interpreter sessions, vector storage GB-days) bill at their own `tool:*`
        entries, whatever the model. A non-zero quantity whose unit has no price makes the whole
        estimate None: the caller counts those tokens as unpriced, never as $0.
        """
        day = _as_day(on)
        total = Decimal(0)
        model_terms = _model_terms(usage)
        if any(quantity for quantity, _, _ in model_terms):
            price = self.price_for(model, day)
            factor = self.multiplier(day, batch=batch, service_tier=service_tier)
            if price is None or factor is None:
                return None
            subtotal = _sum_terms(price, model_terms)
            if subtotal is None:
                return None
            total += _MONEY_CONTEXT.multiply(subtotal, factor)
        for measure in PER_CALL:
            count = getattr(usage, measure.field)
            if count and measure.price:
                rate = self._tool_rate(measure.price.entry, measure.price.field, day)
                if rate is None:
                    return None
                cost = _MONEY_CONTEXT.multiply(measure.quantity(count), rate)
                total += _MONEY_CONTEXT.divide(cost, measure.price.per)
        return quantize_usd(total)

    def _tool_rate(self, key: str, unit: str, on: date) -> Decimal | None:
        entry = _in_force(self.entries.get(key, ()), on)
        rate: Decimal | None = getattr(entry, unit) if entry is not None else None
        return rate


# (quantity, the price field that bills it, fallbacks in order, per how many units)
_Term = tuple[int, tuple[str, ...], Decimal]


def _model_terms(usage: Usage) -> tuple[_Term, ...]:
    """What a model's prices bill, each quantity once: parts never exceed their whole (inconsistent
    rows clamp at zero rather than subtract money)."""
    cache_writes = usage.cache_write_30m_tokens + usage.cache_write_12h_tokens
    cached_media = usage.cached_audio_tokens + usage.cached_image_tokens
    uncached = max(usage.input_tokens - usage.cached_tokens - cache_writes, 0)
    text_input = max(uncached - usage.audio_input_tokens - usage.image_input_tokens, 0)
    text_output = max(usage.output_tokens - usage.audio_output_tokens - usage.image_output_tokens, 0)
    return (
        (text_input, ("input",), MILLION),
        (max(usage.cached_tokens - cached_media, 0), ("cached_input", "input"), MILLION),
        (usage.cached_audio_tokens, ("cached_audio_input", "audio_input"), MILLION),
        (usage.cached_image_tokens, ("cached_image_input", "cached_input", "input"), MILLION),
        (usage.cache_write_30m_tokens, ("cache_write_30m", "input"), MILLION),
        (usage.cache_write_12h_tokens, ("cache_write_12h", "input"), MILLION),
        (usage.audio_input_tokens, ("audio_input",), MILLION),
        (usage.image_input_tokens, ("image_input", "input"), MILLION),
        (text_output, ("output",), MILLION),
        (usage.audio_output_tokens, ("audio_output",), MILLION),
        (usage.image_output_tokens, ("image_output", "output"), MILLION),
        (usage.images, ("per_image",), Decimal(1)),
        (usage.characters, ("per_1m_characters",), MILLION),
        (usage.seconds, ("per_minute",), SECONDS_PER_MINUTE),
    )


def _sum_terms(price: ModelPrice, terms: tuple[_Term, ...]) -> Decimal | None:
    total = Decimal(0)
    for quantity, names, per in terms:
        if not quantity:
            continue
        rate = next((r for r in (getattr(price, name) for name in names) if r is not None), None)
        if rate is None:
            return None
        total += _MONEY_CONTEXT.divide(_MONEY_CONTEXT.multiply(Decimal(quantity), rate), per)
    return total


def _parse_tiers(raw: object) -> MappingProxyType[str, tuple[TierMultiplier, ...]]:
    if raw is None:
        return _NO_TIERS
    if not isinstance(raw, dict) or set(raw) - set(TIERS):
        raise ConfigError(f"prices.json: 'tier_multipliers' must be an object with keys among {list(TIERS)}")
    tiers: dict[str, tuple[TierMultiplier, ...]] = {}
    for tier, entries in raw.items():
        where = f"prices.json tier_multipliers.{tier}"
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{where}: must be a non-empty list of dated entries")
        parsed = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: an entry must be an object")
            factor = _price_value(entry.get("multiplier"), f"{where}.multiplier")
            if factor is None:
                raise ConfigError(f"{where}: an entry needs a multiplier")
            parsed.append(TierMultiplier(_day(entry.get("effective_from"), where), factor))
        starts = [entry.effective_from for entry in parsed]
        if starts != sorted(set(starts)):
            raise ConfigError(f"{where}: entries must have increasing effective_from dates")
        tiers[tier] = tuple(parsed)
    return MappingProxyType(tiers)


@lru_cache(maxsize=1)
def _packaged_prices() -> tuple[
    date, dict[str, tuple[ModelPrice, ...]], MappingProxyType[str, tuple[TierMultiplier, ...]]
]:
    data = _read_data("prices.json")
    raw_prices = data.get("prices")
    if not isinstance(raw_prices, dict) or not raw_prices:
        raise ConfigError("prices.json: 'prices' must be a non-empty object")
    table = {key: _parse_entries(key, raw, "prices.json") for key, raw in raw_prices.items()}
    return _day(data.get("as_of"), "prices.json as_of"), table, _parse_tiers(data.get("tier_multipliers"))


@lru_cache(maxsize=8)
def _load_table(overrides_json: str) -> PriceTable:
    as_of, packaged, tiers = _packaged_prices()
    table = dict(packaged)
    if overrides_json:
        try:
            overrides = json.loads(overrides_json, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"PRICE_OVERRIDES is not valid JSON: {exc.msg} at position {exc.pos}") from exc
        if not isinstance(overrides, dict):
            raise ConfigError("PRICE_OVERRIDES must be a JSON object mapping a model family to prices")
        for raw_key, raw in cast(dict[str, Any], overrides).items():
            key = raw_key.strip()
            if not key:
                raise ConfigError("PRICE_OVERRIDES: a model family name is empty")
            table[key] = _apply_override(table.get(key, ()), key, raw, "PRICE_OVERRIDES")
    return PriceTable(as_of, MappingProxyType(table), tiers)
