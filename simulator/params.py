"""Query-string parsing and validation with OpenAI's defaults, limits and 400 messages.

Arrays are accepted in the three forms clients send: repeated keys (`group_by=a&group_by=b`), the
bracket form (`group_by[]=a`) and comma-joined (`group_by=a,b`), except costs `line_items`, whose
values contain commas ("gpt-4o-2024-08-06, input"): those only repeat. A repeated scalar keeps its last
value. Unknown parameters are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from simulator.catalog import SIM_KINDS
from simulator.errors import invalid
from simulator.org import COST_GROUP_FIELDS, USAGE_GROUP_FIELDS, CostFilters, UsageFilters

# bucket_width -> (seconds, default limit, maximum limit); limits count buckets, not rows.
WIDTHS: dict[str, tuple[int, int, int]] = {"1m": (60, 60, 1440), "1h": (3600, 24, 168), "1d": (86400, 7, 31)}
COSTS_LIMIT = (7, 180)
LIST_LIMIT = (20, 100)
# The filters each usage kind takes in openai==3.51.0.
_USAGE_FILTERS: dict[str, frozenset[str]] = {kind.name: kind.filters for kind in SIM_KINDS}
_INTEGER = re.compile(r"-?[0-9]+")


class QueryArgs:
    """The parsed query string of one request."""

    def __init__(self, query: str) -> None:
        self._pairs = parse_qsl(query, keep_blank_values=True)

    def scalar(self, name: str) -> str | None:
        """The last value of `name`, or None when absent."""
        values = [value for key, value in self._pairs if key == name]
        return values[-1] if values else None

    def array(self, name: str, *, commas: bool = True) -> list[str] | None:
        """Every value of `name` in any of the three array forms, or None when absent. `commas=False`
        for values that contain commas themselves (line items such as "gpt-4o, input")."""
        raw = [value for key, value in self._pairs if key in (name, f"{name}[]")]
        if not raw:
            return None
        if not commas:
            return [value for value in raw if value]
        return [part.strip() for value in raw for part in value.split(",") if part.strip()]

    def integer(self, name: str, minimum: int | None = None, maximum: int | None = None) -> int | None:
        """`name` as an integer within bounds, None when absent; 400 otherwise."""
        text = self.scalar(name)
        if text is None:
            return None
        if not _INTEGER.fullmatch(text):
            raise invalid(
                name, f"Invalid type for '{name}': expected an integer, but got '{text}'.", "invalid_type"
            )
        value = int(text)
        if minimum is not None and value < minimum:
            raise invalid(
                name,
                f"Invalid '{name}': integer below minimum value. Expected a value >= {minimum}, "
                f"but got {value} instead.",
                "integer_below_min_value",
            )
        if maximum is not None and value > maximum:
            raise invalid(
                name,
                f"Invalid '{name}': integer above maximum value. Expected a value <= {maximum}, "
                f"but got {value} instead.",
                "integer_above_max_value",
            )
        return value

    def boolean(self, name: str) -> bool | None:
        """`true`/`false` as a bool, None when absent; 400 otherwise."""
        text = self.scalar(name)
        if text is None:
            return None
        if text.lower() not in ("true", "false"):
            raise invalid(
                name, f"Invalid value for '{name}': expected a boolean, but got '{text}'.", "invalid_type"
            )
        return text.lower() == "true"


@dataclass(frozen=True)
class UsageQuery:
    """A validated usage request. `end` is the client's end_time (None: now), not yet clamped."""

    kind: str
    start: int
    end: int | None
    width: int
    limit: int
    page: str | None
    group_by: tuple[str, ...]
    filters: UsageFilters


@dataclass(frozen=True)
class CostsQuery:
    """A validated costs request."""

    start: int
    end: int | None
    limit: int
    page: str | None
    group_by: tuple[str, ...]
    filters: CostFilters


@dataclass(frozen=True)
class ListQuery:
    """A validated directory list request."""

    limit: int
    after: str | None


def parse_usage(kind: str, args: QueryArgs) -> UsageQuery:
    """Validate a usage request for `kind`."""
    start, end = _period(args)
    width_name = args.scalar("bucket_width") or "1d"
    if width_name not in WIDTHS:
        raise invalid(
            "bucket_width",
            f"Invalid value: '{width_name}'. Supported values are: '1m', '1h', and '1d'.",
        )
    width, default_limit, max_limit = WIDTHS[width_name]
    limit = args.integer("limit", 1, max_limit)
    group_by = _group_by(args, USAGE_GROUP_FIELDS[kind])
    accepted = _USAGE_FILTERS[kind]

    def array(name: str) -> frozenset[str] | None:
        return _frozen(args.array(name)) if name in accepted else None  # other kinds ignore it

    filters = UsageFilters(
        project_ids=array("project_ids"),
        user_ids=array("user_ids"),
        api_key_ids=array("api_key_ids"),
        models=array("models"),
        batch=args.boolean("batch") if "batch" in accepted else None,
        sizes=array("sizes"),
        sources=array("sources"),
        context_levels=array("context_levels"),
        vector_store_ids=array("vector_store_ids"),
    )
    page = args.scalar("page")
    return UsageQuery(
        kind, start, end, width, default_limit if limit is None else limit, page, group_by, filters
    )


def parse_costs(args: QueryArgs, refuse_api_key_grouping: bool = False) -> CostsQuery:
    """Validate a costs request; older organizations refuse grouping by api_key_id."""
    start, end = _period(args)
    width_name = args.scalar("bucket_width") or "1d"
    if width_name != "1d":
        raise invalid("bucket_width", f"Invalid value: '{width_name}'. Supported values are: '1d'.")
    limit = args.integer("limit", 1, COSTS_LIMIT[1])
    fields: tuple[str, ...] = COST_GROUP_FIELDS
    if refuse_api_key_grouping:
        fields = tuple(f for f in fields if f != "api_key_id")
    group_by = _group_by(args, fields)
    filters = CostFilters(
        _frozen(args.array("project_ids")),
        _frozen(args.array("api_key_ids")),
        _frozen(args.array("line_items", commas=False)),
    )
    return CostsQuery(
        start, end, COSTS_LIMIT[0] if limit is None else limit, args.scalar("page"), group_by, filters
    )


def parse_list(args: QueryArgs) -> ListQuery:
    """Validate a directory list request (`limit` 1-100, default 20; `after` = the last id seen)."""
    limit = args.integer("limit", 1, LIST_LIMIT[1])
    return ListQuery(LIST_LIMIT[0] if limit is None else limit, args.scalar("after") or None)


def parse_owner_access(args: QueryArgs) -> str:
    """`owner_project_access` of a key listing: active, inactive or any (absent: any, every key)."""
    value = args.scalar("owner_project_access") or "any"
    if value not in ("active", "inactive", "any"):
        raise invalid(
            "owner_project_access",
            f"Invalid value: '{value}'. Supported values are: 'active', 'inactive', and 'any'.",
        )
    return value


def _period(args: QueryArgs) -> tuple[int, int | None]:
    if args.scalar("start_time") is None:
        raise invalid("start_time", "Missing required parameter: 'start_time'.", "missing_required_parameter")
    start = args.integer("start_time", 0)
    end = args.integer("end_time", 0)
    assert start is not None
    if end is not None and end <= start:
        raise invalid("end_time", f"Invalid 'end_time': {end} must be greater than 'start_time' ({start}).")
    return start, end


def _group_by(args: QueryArgs, allowed: tuple[str, ...]) -> tuple[str, ...]:
    fields = args.array("group_by") or []
    for name in fields:
        if name not in allowed:
            supported = ", ".join(f"'{f}'" for f in allowed)
            raise invalid("group_by", f"Invalid value: '{name}'. Supported values are: {supported}.")
    return tuple(dict.fromkeys(fields))


def _frozen(values: list[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values else None  # an empty filter (`models=`) filters nothing
