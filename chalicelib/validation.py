"""Request parsing helpers shared by the API and the CLI: every bad value becomes `InvalidInput` naming
the parameter and what is allowed, never a crash further in.

Query strings arrive as `Params` (name -> every value given, in order), which is what Chalice's
`multi_value_query_params` holds. A list parameter accepts comma lists, repeated names and the
`name[]=` spelling, in any mix: `models=a,b&models=c` and `models[]=a&models[]=b,c` both mean a, b, c.
JSON bodies are bounded (`MAX_BODY_BYTES`, else `BodyTooLarge` -> 413) and must be one object.

It also owns the one rule for free text (names, owners, teams, descriptions), whatever its source:
valid Unicode (no lone surrogates), no control characters (C0/C1 incl. NUL, CR/LF, TAB, ESC, BEL, DEL),
no line/paragraph separators and no bidi overrides/isolates (RLO and friends can make a name read
backwards), NFC-normalised, trimmed and bounded. `clean_text` refuses a user's text that breaks it
(InvalidInput naming the field); `safe_text` replaces what breaks it (U+FFFD) for text we must keep
anyway (a name synced from OpenAI, an item already stored); `terminal_text` escapes a line for a
terminal. Numbers a user gives (budgets) go through `bounded_decimal`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.errors import BodyTooLarge, InvalidInput

Params = Mapping[str, Sequence[str]]

MAX_BODY_BYTES = 16 * 1024
MAX_LIST_ITEMS = 100
MAX_VALUE_LENGTH = 200
MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01T00:00:00Z: later times are typos, not plans
LIST_SUFFIX = "[]"
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
# Bidi embeddings/overrides/isolates and marks: category Cf, but unlike other Cf characters (ZWJ in
# emoji sequences) they have no place in a name and can disguise one.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
REPLACEMENT = "\ufffd"
MAX_NUMBER_LENGTH = 40  # characters of a number as text: beyond, no budget is meant


def normalize(params: Params, allowed: Collection[str], lists: Collection[str] = ()) -> dict[str, list[str]]:
    """`params` with `name[]` folded into `name` for list parameters; an unknown name is refused (a
    misspelt filter must not silently widen a report)."""
    out: dict[str, list[str]] = {}
    for raw_name, values in params.items():
        name = raw_name.removesuffix(LIST_SUFFIX) if raw_name.endswith(LIST_SUFFIX) else raw_name
        if name not in allowed or (name != raw_name and name not in lists):
            raise InvalidInput(raw_name, f"unknown parameter; allowed: {', '.join(sorted(allowed))}")
        out.setdefault(name, []).extend(values)
    return out


def single(params: Params, name: str) -> str | None:
    """The one value of `name`, or None when absent; given twice is an error."""
    values = params.get(name) or []
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput(name, "give this parameter once")
    return values[0]


def integer(params: Params, name: str, *, minimum: int = 0, maximum: int = MAX_TIMESTAMP) -> int | None:
    """An integer parameter within [minimum, maximum], or None when absent."""
    raw = single(params, name)
    if raw is None:
        return None
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise InvalidInput(name, f"must be an integer (Unix seconds), got {_show(raw)}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidInput(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def choice(params: Params, name: str, allowed: Sequence[str], default: str) -> str:
    """One of `allowed`, or `default` when absent."""
    raw = single(params, name)
    if raw is None:
        return default
    if raw not in allowed:
        raise InvalidInput(name, f"must be one of {', '.join(allowed)}, got {_show(raw)}")
    return raw


def listed(
    params: Params,
    name: str,
    *,
    check: Callable[[str, str], str] | None = None,
    max_items: int = MAX_LIST_ITEMS,
) -> tuple[str, ...]:
    """The unique values of a list parameter, in order; `check(value, name)` validates each one."""
    values: list[str] = []
    for raw in params.get(name) or []:
        for part in raw.split(","):
            value = part.strip()
            if not value:
                continue
            value = check(value, name) if check else text_value(value, name)
            if value not in values:
                values.append(value)
    if len(values) > max_items:
        raise InvalidInput(name, f"at most {max_items} values, got {len(values)}")
    return tuple(values)


def text_value(value: Any, name: str, max_length: int = MAX_VALUE_LENGTH) -> str:
    """A non-empty, single-line string of at most `max_length` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(name, "must be a non-empty string")
    text = value.strip()
    if len(text) > max_length:
        raise InvalidInput(name, f"each value must be at most {max_length} characters")
    if any(not ch.isprintable() for ch in text):
        raise InvalidInput(name, "must not contain control characters")
    return text


def json_object(raw: bytes | str | None, *, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request body as a JSON object: at most `max_bytes`, UTF-8, valid JSON, an object; numbers
    with a fraction come back as Decimal (money is never a float)."""
    data = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
    if len(data) > max_bytes:
        raise BodyTooLarge("body", f"must be at most {max_bytes} bytes, got {len(data)}")
    if not data.strip():
        raise InvalidInput("body", "a JSON object is required")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput("body", "must be valid JSON (UTF-8)") from exc
    if not isinstance(document, dict):
        raise InvalidInput("body", "must be a JSON object")
    return document


def known_fields(body: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Refuse fields a body may not carry (a typo would otherwise be ignored)."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidInput(unknown[0], f"unknown field; allowed: {', '.join(sorted(allowed))}")


def _no_constant(name: str) -> Any:
    # json's parse_constant hook: a ValueError is its contract; json_object turns it into InvalidInput
    raise ValueError(f"{name} is not JSON")


def _show(value: str) -> str:
    """A user's value quoted for an error message, cut short."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


# -- free text ------------------------------------------------------------------------------------
def _bad_char(ch: str) -> bool:
    return ch in _BIDI or unicodedata.category(ch) in _BAD_CATEGORIES


def clean_text(value: Any, name: str, max_length: int, *, required: bool = True) -> str | None:
    """A user's text field: a string of valid Unicode with no control, separator or bidi characters,
    NFC-normalised and trimmed, at most `max_length` characters. Blank is None when not `required`."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string" if not required else "must be a non-empty string")
    if len(value) > 4 * max_length:  # refuse before normalising a huge string
        raise InvalidInput(name, f"must be at most {max_length} characters, got {len(value)}")
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise InvalidInput(name, "must be valid Unicode text (it holds a lone surrogate or invalid UTF-8)")
    if any(_bad_char(ch) for ch in value):
        raise InvalidInput(name, "must be one line of text without control or bidi-override characters")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        if required:
            raise InvalidInput(name, "must be a non-empty string")
        return None
    if len(text) > max_length:
        raise InvalidInput(name, f"must be at most {max_length} characters, got {len(text)}")
    return text


def safe_text(value: str, max_length: int | None = None) -> str:
    """`value` with every character `clean_text` refuses replaced by U+FFFD, cut to `max_length`:
    for text we keep or show although it breaks the rule (synced from OpenAI, stored earlier)."""
    if value.isascii() and value.isprintable() and (max_length is None or len(value) <= max_length):
        return value  # the common case, without a per-character pass
    text = "".join(REPLACEMENT if _bad_char(ch) else ch for ch in value)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + "\u2026"
    return text


def terminal_text(line: str) -> str:
    """A line safe to write to a terminal: control and bidi characters shown as escapes (`\\x1b`),
    lone surrogates (invalid UTF-8 from argv or a stored name) as U+FFFD, the rest as is."""
    if line.isprintable():
        return line
    out: list[str] = []
    for ch in line:
        category = unicodedata.category(ch)
        if category == "Cs":
            out.append(REPLACEMENT)
        elif ch in _BIDI or category in ("Cc", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def bounded_decimal(
    value: Any, name: str, *, maximum: Decimal, decimals: int, integral: bool = False
) -> Decimal:
    """A positive number given as JSON number or text, as a Decimal in (0, maximum] with at most
    `decimals` decimal places (none when `integral`). NaN, infinities, zero, negatives, exponents
    beyond the bounds (1e999999999, 1e-999999999) and over-long text are refused without arithmetic
    that could overflow."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidInput(name, "must be a number")
    text = str(value).strip() if not isinstance(value, Decimal) else None
    if text is not None and len(text) > MAX_NUMBER_LENGTH:
        raise InvalidInput(name, f"must be a number of at most {MAX_NUMBER_LENGTH} characters")
    try:
        number = value if isinstance(value, Decimal) else Decimal(text or "")
    except InvalidOperation as exc:
        raise InvalidInput(name, f"must be a number, got {_show(str(value))}") from exc
    if not number.is_finite():
        raise InvalidInput(name, "must be a finite number (not NaN or Infinity)")
    if number <= 0:
        raise InvalidInput(name, "must be greater than 0")
    # adjusted() is the exponent of the leading digit: comparing it first keeps 1E+999999999999999999
    # from ever being compared or rounded as a number
    if number.adjusted() > maximum.adjusted() or number > maximum:
        raise InvalidInput(name, f"must be at most {maximum:,}")
    places = 0 if integral else decimals
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        trimmed = number.normalize() if number.adjusted() >= -places else None
        trimmed_exponent = trimmed.as_tuple().exponent if trimmed is not None else None
        if not isinstance(trimmed_exponent, int) or trimmed_exponent < -places:
            what = "a whole number" if integral else f"a number with at most {decimals} decimals"
            raise InvalidInput(name, f"must be {what}")
        number = trimmed if trimmed is not None else number
    return number
