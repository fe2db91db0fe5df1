"""Request parsing helpers shared by the API and the CLI: every bad value becomes `InvalidInput` naming
the parameter and what is allowed, never a crash further in.

Query strings arrive as `Params` (name -> every value given, in order), which is what Chalice's
`multi_value_query_params` holds. A list parameter accepts comma lists, repeated names and the
`name[]=` spelling, in any mix: `models=a,b&models=c` and `models[]=a&models[]=b,c` both mean a, b, c.
JSON bodies are bounded (`MAX_BODY_BYTES`, else `BodyTooLarge` -> 413) and must be one object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from chalicelib.errors import InvalidInput

Params = Mapping[str, Sequence[str]]

MAX_BODY_BYTES = 16 * 1024
MAX_LIST_ITEMS = 100
MAX_VALUE_LENGTH = 200
MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01T00:00:00Z: later times are typos, not plans
LIST_SUFFIX = "[]"
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


class BodyTooLarge(InvalidInput):
    """A request body over `MAX_BODY_BYTES` (-> HTTP 413)."""


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
    raise ValueError(f"{name} is not JSON")


def _show(value: str) -> str:
    """A user's value quoted for an error message, cut short."""
    return repr(value if len(value) <= 40 else value[:40] + "...")
