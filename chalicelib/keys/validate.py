"""What a person may say about a key: the one home of the key validators, shared by the CLI and the API.

Each raises chalicelib.errors.InvalidInput naming the parameter; none repeats a raw API key. The
API's body forms (`key_id_param`, `budget_from`, `validate_active`) and the usage filter's key ids
(`key_id_value`) are here too, so that a key id or a budget means the same wherever it is typed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.errors import InvalidInput
from chalicelib.keys.model import BUDGET_PERIODS, BUDGET_UNITS, Budget, BudgetPeriod, BudgetUnit, KeyMapping
from chalicelib.validation import bounded_decimal, clean_text

MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = 1000
MAX_KEY_ID_LENGTH = 100
MAX_BUDGET = Decimal(10) ** 15
BUDGET_DECIMALS = 6
BUDGET_FIELDS = ("amount", "unit", "period")
KEY_ID_PATTERN = re.compile(r"^key_[A-Za-z0-9]+$")
_MIN_RAW_KEY_LENGTH = 20
# parse_budget names its arguments as the CLI's options; a JSON body names them inside `budget`
_BUDGET_PARAMS = {"budget": "budget.amount", "budget_unit": "budget.unit", "budget_period": "budget.period"}


def validate_key_id(value: Any, param: str = "key_id") -> str:
    """A key id as OpenAI writes it: `key_` followed by letters and digits."""
    if not isinstance(value, str) or not KEY_ID_PATTERN.fullmatch(value.strip()):
        raise InvalidInput(param, "must be a key id: 'key_' followed by letters and digits")
    return value.strip()


def key_id_param(value: Any, param: str = "key_id") -> str:
    """A key id from a path or body: `key_` followed by letters and digits, at most 100 characters."""
    if isinstance(value, str) and len(value) > MAX_KEY_ID_LENGTH:
        raise InvalidInput(param, f"a key id has at most {MAX_KEY_ID_LENGTH} characters")
    return validate_key_id(value, param)


def key_id_value(value: str, param: str) -> str:
    """A key id filter value: `key_...` or `unattributed` (traffic without a key)."""
    return value if value == UNATTRIBUTED else key_id_param(value, param)


def validate_name(value: Any, param: str = "name") -> str:
    """A display name: non-empty after trimming, at most 200 characters, one line of valid text
    (chalicelib.validation.clean_text: no control, bidi-override or invalid Unicode characters)."""
    return cast(str, clean_text(value, param, MAX_NAME_LENGTH))


def validate_optional_text(value: Any, param: str, max_length: int = MAX_NAME_LENGTH) -> str | None:
    """An optional field: None or blank means unset; otherwise valid text, trimmed and bounded."""
    return clean_text(value, param, max_length, required=False)


def validate_description(value: Any) -> str | None:
    """An optional description: valid text of at most 1000 characters."""
    return validate_optional_text(value, "description", MAX_TEXT_LENGTH)


def validate_active(value: Any) -> bool:
    """A JSON `active` flag: true or false, nothing truthy."""
    if not isinstance(value, bool):
        raise InvalidInput("active", "must be true or false")
    return value


def parse_budget(amount: Any, unit: Any = "tokens", period: Any = "monthly") -> Budget:
    """A budget from user input: a positive amount within `MAX_BUDGET` (tokens whole, dollars with at
    most `BUDGET_DECIMALS` decimals), a known unit and period."""
    if unit not in BUDGET_UNITS:
        raise InvalidInput("budget_unit", f"must be one of {', '.join(BUDGET_UNITS)}")
    if period not in BUDGET_PERIODS:
        raise InvalidInput("budget_period", f"must be one of {', '.join(BUDGET_PERIODS)}")
    value = bounded_decimal(
        amount, "budget", maximum=MAX_BUDGET, decimals=BUDGET_DECIMALS, integral=unit == "tokens"
    )
    budget_unit: BudgetUnit = "usd" if unit == "usd" else "tokens"
    budget_period: BudgetPeriod = "daily" if period == "daily" else "monthly"
    return Budget(budget_period, budget_unit, value if unit == "usd" else value.to_integral_value())


def budget_from(value: Any) -> Budget | None:
    """A budget object `{amount, unit, period}` (or null) from a JSON body."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput("budget", "must be an object {amount, unit, period} or null")
    unknown = sorted(set(value) - set(BUDGET_FIELDS))
    if unknown:
        raise InvalidInput(f"budget.{unknown[0]}", f"unknown field; allowed: {', '.join(BUDGET_FIELDS)}")
    try:
        return parse_budget(value.get("amount"), value.get("unit", "tokens"), value.get("period", "monthly"))
    except InvalidInput as exc:
        raise InvalidInput(_BUDGET_PARAMS.get(exc.param, "budget"), exc.message) from exc


def validate_raw_key(value: Any, param: str = "api_key") -> str:
    """A raw OpenAI API key (`sk-...`). Error messages never repeat it."""
    if not isinstance(value, str) or not value.strip().startswith("sk-"):
        raise InvalidInput(param, "must be an OpenAI API key starting with 'sk-'")
    raw = value.strip()
    if len(raw) < _MIN_RAW_KEY_LENGTH or any(ch.isspace() for ch in raw):
        raise InvalidInput(param, "does not look like a whole API key")
    return raw


def fingerprint(raw_key: str) -> tuple[str, str]:
    """What we keep of a raw key: its SHA-256 (hex) and its last four characters."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest(), raw_key[-4:]


def new_mapping(
    key_id: Any,
    name: Any,
    now: int,
    *,
    owner: Any = None,
    team: Any = None,
    description: Any = None,
    budget: Budget | None = None,
    active: bool = True,
    api_key_sha256: str | None = None,
    api_key_last4: str | None = None,
) -> KeyMapping:
    """A validated mapping created at `now`."""
    return KeyMapping(
        key_id=validate_key_id(key_id),
        name=validate_name(name),
        owner=validate_optional_text(owner, "owner"),
        team=validate_optional_text(team, "team"),
        description=validate_description(description),
        budget=budget,
        active=active,
        api_key_sha256=api_key_sha256,
        api_key_last4=api_key_last4,
        created_at=now,
        updated_at=now,
    )


__all__ = [
    "BUDGET_DECIMALS",
    "BUDGET_FIELDS",
    "KEY_ID_PATTERN",
    "MAX_BUDGET",
    "MAX_KEY_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
    "budget_from",
    "fingerprint",
    "key_id_param",
    "key_id_value",
    "new_mapping",
    "parse_budget",
    "validate_active",
    "validate_description",
    "validate_key_id",
    "validate_name",
    "validate_optional_text",
    "validate_raw_key",
]
