"""Response bodies: usage and costs pages of buckets, directory lists, and their JSON encoding.

Pages count buckets, not rows. Usage buckets align to UTC minute/hour/day boundaries except the first,
which starts at start_time, and the last, which ends at min(end_time, now). Costs buckets are whole
UTC days. `next_page` is an opaque cursor (base64 of the next bucket's start, in the 20-byte layout
of real cursors); the client repeats its query with `page=<next_page>`.

Results carry OpenAI's irregularities on purpose, chosen by a hash of the bucket and group so that
re-reading gives the same answer: completions and decisions rows carry every token field of
openai==3.51.0, but a detail field whose value is 0 is sometimes absent (and a zero cache-write split
sometimes null), as on older rows; now and then an unknown field appears. Cost amounts are sometimes
a number, sometimes a long decimal string ("0E-6176" for zero), and sometimes come with extra keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from decimal import Context, Decimal
from typing import Any

from simulator.errors import invalid
from simulator.hashing import stable_hash
from simulator.org import USAGE_GROUP_FIELDS, CostValue, GroupKey, SyntheticOrg
from simulator.params import CostsQuery, ListQuery, UsageQuery
from simulator.traffic import FIELDS, METRICS, TOKEN_KINDS

# The result `object` of each kind where it is not organization.usage.<kind>.result (openai==3.51.0).
RESULT_OBJECTS = {
    "web_search_calls": "organization.usage.web_searches.result",
    "file_search_calls": "organization.usage.file_searches.result",
}
_NULLABLE_WHEN_ZERO = ("input_cache_write_30m_tokens", "input_cache_write_12h_tokens")
_DETAIL = FIELDS["completions"][len(METRICS["completions"]) :]  # the token detail after the base

DAY = 86400
_CURSOR = struct.Struct(">qIq")
_LONG_DECIMAL = Decimal(10) ** -39
_WIDE = Context(prec=100)
_RAW = re.compile(r'"\\u0000(-?[0-9.E+-]+)\\u0000"')


def usage_page(org: SyntheticOrg, query: UsageQuery, now: int) -> dict[str, Any]:
    """One page of usage buckets."""
    end = min(query.end if query.end is not None else now, now)
    t = query.start if query.page is None else _page_start(query.page, query.start, query.width)
    buckets: list[dict[str, Any]] = []
    while t < end and len(buckets) < query.limit:
        stop = min(end, t - t % query.width + query.width)
        rows = org.usage_rows(query.kind, t, stop, query.group_by, query.filters, now=now, every_field=True)
        results = [_usage_result(query.kind, query.group_by, key, values, t) for key, values in rows]
        buckets.append({"object": "bucket", "start_time": t, "end_time": stop, "results": results})
        t = stop
    has_more = t < end
    return {
        "object": "page",
        "data": buckets,
        "has_more": has_more,
        "next_page": _cursor(end, t) if has_more else None,
    }


def costs_page(org: SyntheticOrg, query: CostsQuery, now: int) -> dict[str, Any]:
    """One page of whole-day cost buckets."""
    end = query.end if query.end is not None else now
    start = query.start if query.page is None else _page_start(query.page, query.start, DAY)
    days = org.cost_days(start, end, now)
    buckets: list[dict[str, Any]] = []
    for day in days[: query.limit]:
        rows = org.cost_rows_detail(day, query.group_by, query.filters, now=now)
        results = [_cost_result(org, query.group_by, key, value, day) for key, value in rows]
        buckets.append({"object": "bucket", "start_time": day, "end_time": day + DAY, "results": results})
    has_more = len(days) > query.limit
    next_page = _cursor(end, days[query.limit]) if has_more else None
    return {"object": "page", "data": buckets, "has_more": has_more, "next_page": next_page}


def list_page(items: list[dict[str, Any]], query: ListQuery) -> dict[str, Any]:
    """A directory list page after `query.after`."""
    start = 0
    if query.after is not None:
        ids = [item["id"] for item in items]
        if query.after not in ids:
            raise invalid("after", f"Invalid 'after': no object with id '{query.after}'.")
        start = ids.index(query.after) + 1
    data = items[start : start + query.limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": start + query.limit < len(items),
    }


def dumps(payload: Any) -> bytes:
    """JSON bytes; a Decimal becomes a JSON number with all its digits (never a float)."""
    text = json.dumps(payload, default=_raw_number, ensure_ascii=False, separators=(",", ":"))
    return _RAW.sub(r"\1", text).encode()


def _raw_number(value: object) -> str:
    if isinstance(value, Decimal):
        return f"\0{format(value, 'f')}\0"
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _cursor(end: int, next_start: int) -> str:
    return "page_" + base64.b64encode(_CURSOR.pack(end, 0, next_start)).decode()


def _page_start(page: str, start: int, width: int) -> int:
    """The next bucket's start from a cursor; 400 when it does not belong to this query."""
    try:
        _end, _zero, next_start = _CURSOR.unpack(base64.b64decode(page.removeprefix("page_"), validate=True))
    except (binascii.Error, struct.error, ValueError):
        raise invalid("page", f"Invalid page cursor: '{page}'.") from None
    if next_start <= start or next_start % width:
        raise invalid("page", f"Invalid page cursor: '{page}' does not continue this query.")
    return int(next_start)


def result_object(kind: str) -> str:
    """The `object` string of a usage result of `kind`."""
    return RESULT_OBJECTS.get(kind, f"organization.usage.{kind}.result")


def _usage_result(
    kind: str, group_by: tuple[str, ...], key: GroupKey, values: dict[str, int], bucket: int
) -> dict[str, Any]:
    result: dict[str, Any] = {"object": result_object(kind), **values}
    if kind in TOKEN_KINDS:
        noise = stable_hash("fields", bucket, key)
        if noise % 3 == 0:  # older rows leave out a zero detail field: absent means 0
            for name in _DETAIL:
                if not values[name]:
                    del result[name]
        elif noise % 5 == 0:
            for name in _NULLABLE_WHEN_ZERO:
                if not values[name]:
                    result[name] = None
        if noise % 7 == 0:
            result["output_reasoning_tokens"] = values["output_tokens"] // 3  # a field no one documents yet
    result |= dict.fromkeys(USAGE_GROUP_FIELDS[kind])
    result |= dict(zip(group_by, key, strict=True))
    return result


def _cost_result(
    org: SyntheticOrg, group_by: tuple[str, ...], key: GroupKey, cost: CostValue, day: int
) -> dict[str, Any]:
    amount, quantity, unit = cost
    noise = stable_hash("cost", day, key)
    value: Decimal | str
    if not amount:
        value = "0E-6176"
    elif noise % 3 == 0:
        value = format(amount.quantize(_LONG_DECIMAL, context=_WIDE), "f")
    else:
        value = amount
    fields = dict(zip(group_by, key, strict=True))
    result: dict[str, Any] = {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": "usd"},
        "line_item": fields.get("line_item"),
        "project_id": fields.get("project_id"),
        "api_key_id": fields.get("api_key_id"),
        "user_id": fields.get("user_id"),
        "api_source": fields.get("api_source"),
        # the SDK: quantity "when group_by=line_item"; null unit where no single unit applies
        "quantity": quantity if "line_item" in fields else None,
        "quantity_unit": unit if "line_item" in fields else None,
    }
    if noise % 5 == 0:
        result["organization_id"] = org.organization_id
    project_id = fields.get("project_id")
    if isinstance(project_id, str) and noise % 2 == 0:
        project = org.directory.project(project_id)
        result["project_name"] = project.name if project else None
    return result
