"""`/api/keys`: the key mappings with their last 30 days of usage and budget status, and their edits.

Listed: every key with a mapping or a directory entry, every key recorded as unmapped, and every key
id seen in the period's usage (source `unmapped` when nobody names it). Usage comes from the daily
key aggregates (the 30-day materialized period and the days after it, or one Query covering the 30
days and the budget's month), costs per chalicelib.money (billed when settled, else estimated).

`limit`/`offset`/`search` (chalicelib.query.paging), `sort` (`name`, the default order, or `cost`: the
largest 30-day spend first) and `key_ids` (just these keys: the rows a page shows) send part of the
list, with `count` (the keys matching), cut from the whole list kept in VIEW_MEMO. Without them the
answer is the whole list.

Edits go through chalicelib.keys.validate. POST refuses an existing mapping (409); PATCH
changes only the fields given and, when the body carries the `updated_at` the client read, refuses a
mapping changed since (409); DELETE removes the mapping only: usage history is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, cast

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.keys.model import Budget, KeyIdentity, KeyMapping, UnmappedKey
from chalicelib.keys.resolve import build_identities, resolve
from chalicelib.keys.validate import (
    budget_from,
    key_id_param,
    key_id_value,
    new_mapping,
    validate_active,
    validate_description,
    validate_name,
    validate_optional_text,
)
from chalicelib.money import Settlement, cost_of
from chalicelib.periods import DAY, day_label, day_start, floor_day, iso
from chalicelib.query import answers
from chalicelib.query.memo import VIEW_MEMO
from chalicelib.query.paging import PAGE_PARAMS, Page, cut, parse_page
from chalicelib.query.period import settled_days_of, vouched_period
from chalicelib.query.report import FLAG_BITS, Totals
from chalicelib.query.usage import Stores
from chalicelib.settings import get_settings
from chalicelib.store.directory import identity_writes
from chalicelib.store.meta import Checkpoint
from chalicelib.store.periods import monthly_budgeted
from chalicelib.store.rollups import Item, fingerprint, label_of, members
from chalicelib.usage import Usage
from chalicelib.validation import Params, choice, known_fields, listed, normalize

USAGE_DAYS = 30
CREATE_FIELDS = ("key_id", "name", "owner", "team", "description", "budget", "active")
PATCH_FIELDS = ("name", "owner", "team", "description", "budget", "active", "updated_at")
KEYS_PARAMS = (*PAGE_PARAMS, "sort", "key_ids")
KEYS_SORTS = ("name", "cost")


# -- views --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Usage:
    """Per key: its totals over the 30 days, and (day -> usage) of the days its budget counts."""

    totals: Mapping[str, Totals]
    days: Mapping[str, Mapping[str, Usage]]


def _budget_json(budget: Budget | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {"amount": format(budget.amount, "f"), "unit": budget.unit, "period": budget.period}


def _sum(days: Mapping[str, Usage], first: str, settlement: Settlement) -> Totals:
    # summed column by column (Totals.sum_of): at 1,000 keys the list adds up 31,000 key-days
    parts: list[Totals] = []
    for day, usage in days.items():
        if day < first:
            continue
        settled = settlement.settled(day)
        mask = 0 if settled else FLAG_BITS["provisional"]
        if usage.unpriced_tokens:
            mask |= FLAG_BITS["unpriced"]
        parts.append(Totals.of_usage(usage, cost_of(usage, settled), mask))
    return Totals.sum_of(parts)


def _budget_status(budget: Budget | None, days: Mapping[str, Usage], now: int, settlement: Settlement) -> Any:
    if budget is None:
        return None
    start = _budget_start(budget, now)
    spent = _sum(days, day_label(start), settlement)
    used = Decimal(spent.usage.total_tokens) if budget.unit == "tokens" else spent.cost
    return {
        "used": format(used.normalize() if used else Decimal(0), "f"),
        "limit": format(budget.amount, "f"),
        "percent": round(float(used * 100 / budget.amount), 2) if budget.amount else 0.0,
        "period_start": iso(start),
    }


def _budget_start(budget: Budget, now: int) -> int:
    return floor_day(now) if budget.period == "daily" else day_start(_month_start(now))


def _month_start(now: int) -> str:
    return day_label(now)[:8] + "01"


def key_json(
    identity: KeyIdentity,
    mapping: KeyMapping | None,
    usage: _Usage,
    now: int,
    settlement: Settlement,
) -> dict[str, Any]:
    """The contract's Key object."""
    return {
        "key_id": identity.key_id,
        "name": identity.name,
        "owner": identity.owner,
        "team": identity.team,
        "description": identity.description,
        "budget": _budget_json(identity.budget),
        "active": identity.active,
        "source": identity.source,
        "project_id": identity.project_id,
        "project_name": identity.project_name,
        "redacted_value": identity.redacted_value,
        "updated_at": mapping.updated_at if mapping else None,
        "usage_30d": usage.totals.get(identity.key_id, Totals()).metrics(),
        "budget_status": _budget_status(
            identity.budget, usage.days.get(identity.key_id, {}), now, settlement
        ),
    }


def _first_day(now: int) -> str:
    return day_label(now - (USAGE_DAYS - 1) * DAY)


def _window_start(now: int) -> str:
    return min(_first_day(now), _month_start(now))


def _days_by_key(items: list[Item]) -> dict[str, dict[str, Usage]]:
    by_key: dict[str, dict[str, Usage]] = {}
    for item in items:
        day = label_of(item)
        for key_id, usage in members(item).items():
            by_key.setdefault(key_id, {})[day] = usage
    return by_key


def _usage_of_days(items: list[Item], now: int, settlement: Settlement) -> _Usage:
    """Every key's usage from the window's `AD#key` items."""
    by_key = _days_by_key(items)
    first = _first_day(now)
    return _Usage({key: _sum(days, first, settlement) for key, days in by_key.items()}, by_key)


def _usage_of_period(
    stores: Stores,
    stamps: list[Item],
    now: int,
    settlement: Settlement,
    identities: Mapping[str, KeyIdentity],
) -> _Usage | None:
    """Every key's usage from the 30-day materialized period (chalicelib.store.periods) and the
    days around it (after it: not settled yet; before it: the month's first day when the 30 days
    begin later), and for the keys with a monthly budget the month's settled days (summed in the
    period; for a budget set since it was built, from the key's series,
    `query.period.settled_days_of`); None when no valid period serves the window."""
    first = _first_day(now)
    vouched = vouched_period(stores.rollups, USAGE_DAYS, (first, day_label(now)), settlement, stamps)
    if vouched is None:
        return None
    period, month = vouched.period, _month_start(now)
    reaching = (
        monthly_budgeted(identities) if month <= period.last else []
    )  # budgets that count some of the period's days
    summed = period.month_keys if period.month == month else {}
    missing = sorted(key for key in reaching if key not in summed)  # budgets set since it was built
    month_days = [stamp for stamp in vouched.settled if label_of(stamp) >= month]
    budgeted = settled_days_of(stores.rollups, missing, month_days) if missing else {}
    if budgeted is None:
        return None  # too many such keys for their series: read the days
    days = _days_by_key(stores.rollups.stamped_items(vouched.before + vouched.recent))
    totals: dict[str, Totals] = {}
    for key, usage in period.keys.items():
        mask = FLAG_BITS["unpriced"] if usage.unpriced_tokens else 0
        totals[key] = Totals.of_usage(usage, usage.billed_usd, mask)
    for key, of_key in days.items():
        after = _sum(of_key, first, settlement)
        totals[key] = Totals.sum_of([totals[key], after]) if key in totals else after
    for budget_key, of_budget_key in budgeted.items():
        days.setdefault(str(budget_key), {}).update(of_budget_key)
    for key in reaching:
        if key in summed:  # the month's settled days, summed: counted as of the period's last day
            days.setdefault(key, {})[period.last] = summed[key]
    return _Usage(totals, days)


def _settlement(checkpoint: Checkpoint) -> Settlement:
    return Settlement(checkpoint.costs_as_of, billed_by_key=checkpoint.cost_grouping != "project_id")


def _order(entry: dict[str, Any]) -> tuple[int, str, str]:
    rank = {"mapping": 0, "directory": 1, "unmapped": 2}.get(str(entry["source"]), 3)
    return rank, str(entry["name"]).casefold(), str(entry["key_id"])


def list_keys(
    params: Params, now: int, *, stores: Stores | None = None, only: str | None = None
) -> dict[str, Any]:
    """`GET /api/keys`: `{"data": [Key]}` (with `only`, just that key's entry; with paging
    parameters, part of it: `keys_page`).

    Usage comes from the 30-day materialized period and the days after it when the period is
    valid (`_usage_of_period`), else from the window's `AD#key` items. The whole list is kept in
    VIEW_MEMO (chalicelib.query.memo) under what it is computed from: the day of `now` (the 30-day
    window and the budget periods), the checkpoint (settlement; its `directory_synced_at` moves when
    a sync rewrites DIR), the fingerprint of the window's `AD#key` items (from their stamps: keys
    and content hashes, `RollupStore.aggregate_stamps`), the mappings and unmapped keys as read
    (small partitions, read every time so that an edit made by any container shows at once) and
    this process's identity write count. So a warm container skips reading the period, the days
    and the DIR partition and building 1,000 entries."""
    if params:
        return keys_page(params, now, stores=stores)
    stores = stores or Stores.default()
    writes = identity_writes()  # before the reads: a write racing them moves it for the next request
    checkpoint = stores.meta.checkpoint()
    first, last = _window_start(now), day_label(now)
    mappings = {mapping.key_id: mapping for mapping in stores.directory.list_mappings()}
    memo_key: tuple[Any, ...] | None = None
    unmapped: list[UnmappedKey] = []
    items: list[Item] | None = None
    # the window's stamps (keys and content hashes) fingerprint it without reading its 30 items
    stamps = stores.rollups.aggregate_stamps("AD", "key", first, last)
    if only is None:
        unmapped = stores.directory.list_unmapped()
        if stamps is None:  # items written before content hashes: only the items tell
            items = stores.rollups.aggregate_items("AD", "key", first, last)
        memo_key = (
            "keys",
            stores.rollups.table.name,
            day_label(now),
            fingerprint(stamps if stamps is not None else items or []),
            checkpoint,
            writes,
            repr(list(mappings.values())),  # repr: Decimal("10") and ("10.0") print differently
            repr(unmapped),
        )
        kept = VIEW_MEMO.get(memo_key)
        if kept is not None:
            return kept
    identities = build_identities(mappings.values(), stores.directory.directory())
    settlement = _settlement(checkpoint)
    usage = _usage_of_period(stores, stamps, now, settlement, identities) if stamps else None
    if usage is None:
        if items is None:
            items = stores.rollups.aggregate_items("AD", "key", first, last)
        usage = _usage_of_days(items, now, settlement)
    key_ids = set(identities) | set(usage.totals) if only is None else {only}
    key_ids |= {entry.key_id for entry in unmapped}
    key_ids.discard(UNATTRIBUTED)
    data = [
        key_json(resolve(key_id, identities), mappings.get(key_id), usage, now, settlement)
        for key_id in key_ids
    ]
    answer = {"data": sorted(data, key=_order)}
    if memo_key is not None:
        VIEW_MEMO.put(memo_key, answer)
    return answer


def _texts(entry: dict[str, Any]) -> list[str | None]:
    return [entry.get(name) for name in ("name", "key_id", "owner", "team", "project_id", "project_name")]


def _by_cost(entry: dict[str, Any]) -> tuple[Decimal, tuple[int, str, str]]:
    return -Decimal(entry["usage_30d"]["cost_usd"]), _order(entry)


def keys_page(params: Params, now: int, *, stores: Stores | None = None) -> dict[str, Any]:
    """`GET /api/keys` with `limit`/`offset`/`search`/`sort`/`key_ids`: the part of the whole list
    (`list_keys`, memoized) they ask for, with `count` (keys matching `key_ids` and `search`)."""
    params = normalize(params, KEYS_PARAMS, ("key_ids",))
    page = parse_page(params)
    sort = choice(params, "sort", KEYS_SORTS, "name")
    wanted = frozenset(listed(params, "key_ids", check=key_id_value))
    stores = stores or Stores.default()
    settings = get_settings()
    request = answers.keys_request(now, sort, page, wanted)
    kept = answers.served(
        answers.answer_store(stores, settings),
        "keys",
        request,
        lambda: answers.keys_basis(now, stores, settings, stores.meta.checkpoint()),
    )
    if kept is not None:
        return kept
    return keys_page_of(list_keys({}, now, stores=stores)["data"], sort, page, wanted)


def keys_page_of(
    entries: list[dict[str, Any]], sort: str, page: Page, wanted: frozenset[str]
) -> dict[str, Any]:
    """The page of the whole list (`list_keys`' entries) that `sort`, `page` and `wanted` ask for."""
    if wanted:
        entries = [entry for entry in entries if entry["key_id"] in wanted]
    if sort == "cost":
        entries = sorted(entries, key=_by_cost)
    rows, count = cut(entries, page, _texts)
    return {"data": rows, **page.fields("count", count), "sort": sort}


def _one(key_id: str, now: int, stores: Stores) -> dict[str, Any]:
    return cast(dict[str, Any], list_keys({}, now, stores=stores, only=key_id)["data"][0])


# -- edits --------------------------------------------------------------------------------------
def create_key(body: Mapping[str, Any], now: int, *, stores: Stores | None = None) -> dict[str, Any]:
    """`POST /api/keys`: a new mapping (409 when the key has one)."""
    stores = stores or Stores.default()
    known_fields(body, CREATE_FIELDS)
    key_id = key_id_param(body.get("key_id"))
    mapping = new_mapping(
        key_id,
        body.get("name"),
        now,
        owner=body.get("owner"),
        team=body.get("team"),
        description=validate_description(body.get("description")),
        budget=budget_from(body.get("budget")),
        active=validate_active(body.get("active", True)),
    )
    if stores.directory.get_mapping(key_id) is not None:
        raise Conflict("key_id", f"{key_id} already has a mapping: change it with PATCH /api/keys/{key_id}")
    try:
        stores.directory.put_mapping(mapping, must_not_exist=True)
    except Conflict:
        raise
    except InvalidInput as exc:  # the store's conditional write lost a race with another writer
        raise Conflict("key_id", f"{key_id} already has a mapping") from exc
    return _one(key_id, now, stores)


def update_key(
    key_id: str, body: Mapping[str, Any], now: int, *, stores: Stores | None = None
) -> dict[str, Any]:
    """`PATCH /api/keys/{key_id}`: change the given fields of an existing mapping."""
    stores = stores or Stores.default()
    key_id = key_id_param(key_id)
    known_fields(body, PATCH_FIELDS)
    changes = {name for name in body if name != "updated_at"}
    if not changes:
        raise InvalidInput("body", f"give at least one of {', '.join(PATCH_FIELDS[:-1])}")
    existing = stores.directory.get_mapping(key_id)
    if existing is None:
        raise NotFound("key_id", f"{key_id} has no mapping: create one with POST /api/keys")
    expected = body.get("updated_at")
    if expected is not None:
        if isinstance(expected, bool) or not isinstance(expected, int):
            raise InvalidInput("updated_at", "must be the integer updated_at the mapping was read with")
        if expected != existing.updated_at:
            raise Conflict("updated_at", f"the mapping of {key_id} changed since it was read; read it again")
    updated = replace(
        existing,
        name=validate_name(body["name"]) if "name" in body else existing.name,
        owner=validate_optional_text(body["owner"], "owner") if "owner" in body else existing.owner,
        team=validate_optional_text(body["team"], "team") if "team" in body else existing.team,
        description=validate_description(body["description"])
        if "description" in body
        else existing.description,
        budget=budget_from(body["budget"]) if "budget" in body else existing.budget,
        active=validate_active(body["active"]) if "active" in body else existing.active,
        # strictly increasing, so that two edits within one second still tell apart
        updated_at=max(now, existing.updated_at + 1),
    )
    try:
        stores.directory.put_mapping(updated, expected_updated_at=existing.updated_at)
    except InvalidInput as exc:
        raise Conflict("updated_at", f"the mapping of {key_id} changed meanwhile; read it again") from exc
    return _one(key_id, now, stores)


def delete_key(key_id: str, *, stores: Stores | None = None) -> dict[str, Any]:
    """`DELETE /api/keys/{key_id}`: remove the mapping; the key's usage stays."""
    stores = stores or Stores.default()
    key_id = key_id_param(key_id)
    if not stores.directory.delete_mapping(key_id):
        raise NotFound("key_id", f"{key_id} has no mapping")
    return {"key_id": key_id, "deleted": True}
