"""A DynamoDB meter that sees every request, whoever makes it, and DynamoDB's item-size arithmetic.

`chalicelib.store.table.STATS` counts what goes through `query_all`/`batch_get`/`batch_write`; the
single-item calls of the META, MAP and UNMAPPED stores go straight to the table. The bench counts at
the botocore boundary instead: `DynamoMeter.attach(client)` hooks a client's events, asks DynamoDB for
`ReturnConsumedCapacity=TOTAL` on every request that accepts it (a request parameter that changes
nothing else), and tallies requests, items read, bytes read, items written per partition kind and
the capacity DynamoDB reports.

Item sizes follow DynamoDB's published rules (developer guide, "Item sizes and formats"): names and
strings are UTF-8 bytes, a number about one byte per two significant digits plus one, binary its
length, null and boolean one byte, a list or map 3 bytes plus one byte per element.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_WIRE_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
LIST_OVERHEAD = 3
ELEMENT_OVERHEAD = 1
ITEM_STORAGE_OVERHEAD = 100  # bytes DynamoDB adds to each item when it bills storage (indexing)


# -- item sizes --------------------------------------------------------------------------------
def number_size(value: int | float | Decimal) -> int:
    """Bytes of a DynamoDB number: one per two significant digits, plus one."""
    digits = Decimal(str(value)).normalize().as_tuple().digits if value else (0,)
    return math.ceil(len(digits) / 2) + 1


def value_size(value: Any) -> int:
    """Bytes of one attribute value in its Python (boto3 resource) form."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, int | float | Decimal):
        return number_size(value)
    if isinstance(value, Binary):
        return len(value.value)  # type: ignore[attr-defined]  # boto3-stubs omit it
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, Mapping):
        return LIST_OVERHEAD + sum(
            len(str(name).encode("utf-8")) + value_size(item) + ELEMENT_OVERHEAD
            for name, item in value.items()
        )
    if isinstance(value, set | frozenset):
        return sum(value_size(item) for item in value)
    if isinstance(value, list | tuple):
        return LIST_OVERHEAD + sum(value_size(item) + ELEMENT_OVERHEAD for item in value)
    raise TypeError(f"not a DynamoDB value: {type(value).__name__}")


def wire_value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in the low-level client's typed form ({"N": "12"})."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return number_size(Decimal(inner))
    if kind == "B":  # bytes from botocore, base64 text in raw JSON
        return len(base64.b64decode(inner)) if isinstance(inner, str) else len(inner)
    if kind in {"NULL", "BOOL"}:
        return 1
    if kind == "L":
        return LIST_OVERHEAD + sum(wire_value_size(item) + ELEMENT_OVERHEAD for item in inner)
    if kind == "M":
        return LIST_OVERHEAD + sum(
            len(name.encode("utf-8")) + wire_value_size(item) + ELEMENT_OVERHEAD
            for name, item in inner.items()
        )
    if kind == "SS":
        return sum(len(item.encode("utf-8")) for item in inner)
    if kind == "NS":
        return sum(number_size(Decimal(item)) for item in inner)
    if kind == "BS":
        return sum(wire_value_size({"B": item}) for item in inner)
    raise TypeError(f"not a DynamoDB type: {kind}")


def is_wire_item(item: Mapping[str, Any]) -> bool:
    """True for an item in the low-level client's typed form ({"pk": {"S": "..."}})."""
    return bool(item) and all(
        isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _WIRE_TYPES
        for value in item.values()
    )


def item_size(item: Mapping[str, Any]) -> int:
    """Bytes of one item as DynamoDB sizes it (attribute names plus values)."""
    if is_wire_item(item):
        return sum(len(name.encode("utf-8")) + wire_value_size(value) for name, value in item.items())
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def partition_kind(pk: str) -> str:
    """The kind of an item from its partition key: HD, DD, AH, AD, META, MAP, DIR, UNMAPPED, ..."""
    return pk.split("#", 1)[0]


# -- the meter -----------------------------------------------------------------------------------
@dataclass
class DynamoCounts:
    """What a piece of work asked of DynamoDB."""

    requests: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    bytes_read: int = 0
    read_bytes_by_kind: Counter[str] = field(default_factory=Counter)
    items_written: int = 0
    written_by_kind: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    read_units_floor: float = 0.0  # minimum charges DynamoDB Local reports as 0 (reads finding nothing)
    write_units: float = 0.0

    @property
    def billed_read_units(self) -> float:
        """Read units as AWS bills them: reported plus the minimum charge of empty reads."""
        return self.read_units + self.read_units_floor

    def copy(self) -> DynamoCounts:
        """An independent copy."""
        return replace(
            self,
            by_operation=Counter(self.by_operation),
            read_bytes_by_kind=Counter(self.read_bytes_by_kind),
            written_by_kind=Counter(self.written_by_kind),
        )

    def minus(self, earlier: DynamoCounts) -> DynamoCounts:
        """What happened since `earlier` (a copy taken before)."""
        return DynamoCounts(
            requests=self.requests - earlier.requests,
            by_operation=self.by_operation - earlier.by_operation,
            items_read=self.items_read - earlier.items_read,
            bytes_read=self.bytes_read - earlier.bytes_read,
            read_bytes_by_kind=self.read_bytes_by_kind - earlier.read_bytes_by_kind,
            items_written=self.items_written - earlier.items_written,
            written_by_kind=self.written_by_kind - earlier.written_by_kind,
            read_units=round(self.read_units - earlier.read_units, 3),
            read_units_floor=round(self.read_units_floor - earlier.read_units_floor, 3),
            write_units=round(self.write_units - earlier.write_units, 3),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "requests": self.requests,
            "by_operation": dict(sorted(self.by_operation.items())),
            "items_read": self.items_read,
            "bytes_read": self.bytes_read,
            "read_bytes_by_kind": dict(sorted(self.read_bytes_by_kind.items())),
            "items_written": self.items_written,
            "written_by_kind": dict(sorted(self.written_by_kind.items())),
            "read_units": round(self.read_units, 3),
            "read_units_floor": round(self.read_units_floor, 3),
            "billed_read_units": round(self.billed_read_units, 3),
            "write_units": round(self.write_units, 3),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DynamoCounts:
        """Inverse of `as_dict`."""
        return cls(
            requests=int(data["requests"]),
            by_operation=Counter(data.get("by_operation", {})),
            items_read=int(data["items_read"]),
            bytes_read=int(data.get("bytes_read", 0)),
            read_bytes_by_kind=Counter(data.get("read_bytes_by_kind", {})),
            items_written=int(data["items_written"]),
            written_by_kind=Counter(data.get("written_by_kind", {})),
            read_units=float(data["read_units"]),
            read_units_floor=float(data.get("read_units_floor", 0.0)),
            write_units=float(data["write_units"]),
        )


def _pk(key: Mapping[str, Any]) -> str:
    value = key.get("pk")
    if isinstance(value, Mapping):
        value = value.get("S")
    return str(value)


def _capacity(consumed: Any) -> float:
    if not consumed:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(float(entry.get("CapacityUnits", 0)) for entry in entries))


def _write_kinds(operation: str, params: Mapping[str, Any]) -> list[str]:
    """The partition kind of every item a write request asks for."""
    if operation == "PutItem":
        return [partition_kind(_pk(params.get("Item", {})))]
    if operation in {"UpdateItem", "DeleteItem"}:
        return [partition_kind(_pk(params.get("Key", {})))]
    if operation == "BatchWriteItem":
        kinds: list[str] = []
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get(
                    "Key"
                )
                kinds.append(partition_kind(_pk(body or {})))
        return kinds
    if operation == "TransactWriteItems":
        return [
            partition_kind(
                _pk(next(iter(entry.values())).get("Item") or next(iter(entry.values())).get("Key"))
            )
            for entry in params.get("TransactItems", [])
        ]
    return []


def _unprocessed_kinds(parsed: Mapping[str, Any]) -> list[str]:
    kinds: list[str] = []
    for requests in (parsed.get("UnprocessedItems") or {}).values():
        for request in requests:
            body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
            kinds.append(partition_kind(_pk(body or {})))
    return kinds


def _returned_items(operation: str, parsed: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if operation in {"Query", "Scan"}:
        return list(parsed.get("Items") or [])
    if operation == "GetItem":
        return [parsed["Item"]] if parsed.get("Item") else []
    if operation == "BatchGetItem":
        return [item for items in (parsed.get("Responses") or {}).values() for item in items]
    if operation == "TransactGetItems":
        return [entry["Item"] for entry in parsed.get("Responses") or [] if entry.get("Item")]
    return []


class _ClientMeter:
    """A meter hooked into boto3 clients' events (`_hooks`), once per client."""

    def __init__(self) -> None:
        self._attached: set[int] = set()

    def _hooks(self) -> list[tuple[str, Callable[..., None]]]:
        raise NotImplementedError

    def attach(self, client: Any) -> None:
        """Hook one boto3 client (a resource's `meta.client` or a plain client); idempotent."""
        if id(client) in self._attached:
            return
        self._attached.add(id(client))
        for event, handler in self._hooks():
            client.meta.events.register(event, handler, unique_id=f"bench-{event}-{id(self)}")


class DynamoMeter(_ClientMeter):
    """Counts every DynamoDB request of the clients it is attached to."""

    def __init__(self, *, measure_bytes: bool = True) -> None:
        super().__init__()
        self.measure_bytes = measure_bytes
        self.counts = DynamoCounts()

    def _hooks(self) -> list[tuple[str, Callable[..., None]]]:
        return [("provide-client-params.dynamodb.*", self._before), ("after-call.dynamodb.*", self._after)]

    def snapshot(self) -> DynamoCounts:
        """A copy of the counts so far."""
        return self.counts.copy()

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        if model.name in WRITE_OPERATIONS:
            context["bench_write_kinds"] = _write_kinds(model.name, params)
        elif model.name in READ_OPERATIONS:
            context["bench_consistent"] = bool(params.get("ConsistentRead"))

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        counts = self.counts
        counts.requests += 1
        counts.by_operation[model.name] += 1
        units = _capacity(parsed.get("ConsumedCapacity"))
        if model.name in READ_OPERATIONS:
            items = _returned_items(model.name, parsed)
            counts.items_read += len(items)
            counts.read_units += units
            if units == 0:  # DynamoDB bills an empty read its minimum: 1 unit consistent, 0.5 eventual
                counts.read_units_floor += 1.0 if context.get("bench_consistent") else 0.5
            if self.measure_bytes:
                for item in items:
                    size = item_size(item)
                    counts.bytes_read += size
                    counts.read_bytes_by_kind[partition_kind(_pk(item))] += size
        elif model.name in WRITE_OPERATIONS:
            counts.write_units += units
            if "Error" in parsed:
                return
            kinds = Counter(context.get("bench_write_kinds", []))
            kinds.subtract(_unprocessed_kinds(parsed))
            for kind, number in kinds.items():
                if number > 0:
                    counts.written_by_kind[kind] += number
                    counts.items_written += number


@dataclass
class S3Counts:
    """What a piece of work asked of S3 (the materialized answers, chalicelib.store.answers)."""

    gets: int = 0
    puts: int = 0
    get_bytes: int = 0
    put_bytes: int = 0
    missing: int = 0  # GETs of an answer that is not there (404)

    def minus(self, earlier: S3Counts) -> S3Counts:
        """What happened since `earlier` (a copy taken before)."""
        return S3Counts(
            gets=self.gets - earlier.gets,
            puts=self.puts - earlier.puts,
            get_bytes=self.get_bytes - earlier.get_bytes,
            put_bytes=self.put_bytes - earlier.put_bytes,
            missing=self.missing - earlier.missing,
        )

    def as_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return {
            "gets": self.gets,
            "puts": self.puts,
            "get_bytes": self.get_bytes,
            "put_bytes": self.put_bytes,
            "missing": self.missing,
        }


class S3Meter(_ClientMeter):
    """Counts the object GETs and PUTs of the S3 clients it is attached to, and their bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.counts = S3Counts()

    def _hooks(self) -> list[tuple[str, Callable[..., None]]]:
        return [("provide-client-params.s3.PutObject", self._put), ("after-call.s3.GetObject", self._got)]

    def snapshot(self) -> S3Counts:
        """A copy of the counts so far."""
        return replace(self.counts)

    def _put(self, params: dict[str, Any], **_: Any) -> None:
        self.counts.puts += 1
        body = params.get("Body")
        self.counts.put_bytes += len(body) if isinstance(body, bytes | bytearray) else 0

    def _got(self, parsed: dict[str, Any], **_: Any) -> None:
        self.counts.gets += 1
        if "Error" in parsed:  # no such answer (or a failure): the view is computed
            self.counts.missing += 1
        else:
            self.counts.get_bytes += int(parsed.get("ContentLength") or 0)
