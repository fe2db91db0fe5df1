"""The table itself: creation with TTL, paginated queries, batch reads/writes and I/O counters.

One table, `pk` (S) + `sk` (S), TTL attribute `expires_at`, on-demand billing. Each kind of item
has its own submodule of chalicelib.store that builds its keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.errors import StoreError
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table

TTL_ATTRIBUTE = "expires_at"


def is_condition_failure(exc: ClientError) -> bool:
    """True when DynamoDB refused a conditional write because its condition did not hold."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class TableBacked:
    """Base of the item stores: the usage table, given or resolved on first use (never at import)."""

    def __init__(self, table: Table | None = None) -> None:
        self._table = table

    @property
    def table(self) -> Table:
        """The usage table."""
        if self._table is None:
            self._table = aws.dynamodb_table()
        return self._table


def ensure_table(client: DynamoDBClient | None = None, table_name: str | None = None) -> bool:
    """Create the usage table (on-demand, TTL on `expires_at`) unless it exists; True if created."""
    client = client or aws.dynamodb_client()
    name = table_name or get_settings().usage_table
    created = True
    try:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        created = False
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
    return created


@dataclass
class IoStats:
    """DynamoDB work done through this module: requests, items and consumed capacity."""

    requests: int = 0
    items_read: int = 0
    items_written: int = 0
    items_deleted: int = 0
    read_units: float = 0.0
    write_units: float = 0.0

    def add_read(self, response: Mapping[str, Any], items: int) -> None:
        """Count one read request that returned `items` items."""
        self.requests += 1
        self.items_read += items
        self.read_units += _capacity(response.get("ConsumedCapacity"))

    def add_write(self, response: Mapping[str, Any]) -> None:
        """Count one write request (its items are counted by the caller)."""
        self.requests += 1
        self.write_units += _capacity(response.get("ConsumedCapacity"))


def _capacity(consumed: Any) -> float:
    if not consumed:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(float(entry.get("CapacityUnits", 0)) for entry in entries))


STATS = IoStats()
"""Process-wide counters; the benchmark and the collector's metrics read and reset them."""


def reset_stats() -> IoStats:
    """Return the counters so far and start new ones."""
    previous = replace(STATS)
    for name, value in asdict(IoStats()).items():
        setattr(STATS, name, value)
    return previous


def query_all(table: Table, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, following LastEvaluatedKey."""
    kwargs.setdefault("ReturnConsumedCapacity", "TOTAL")
    while True:
        response = table.query(**kwargs)
        items = response.get("Items", [])
        STATS.add_read(response, len(items))
        yield from items
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def batch_get(table: Table, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Get many items by key (100 per request, unprocessed keys retried)."""
    found: list[dict[str, Any]] = []
    client = table.meta.client
    for offset in range(0, len(keys), 100):
        pending: list[Any] = [dict(key) for key in keys[offset : offset + 100]]
        for attempt in range(8):
            if not pending:
                break
            if attempt:
                time.sleep(min(2.0, 0.05 * 2**attempt))  # back off on throttled keys
            response: Any = client.batch_get_item(
                RequestItems={table.name: {"Keys": pending}}, ReturnConsumedCapacity="TOTAL"
            )
            items = response.get("Responses", {}).get(table.name, [])
            STATS.add_read(response, len(items))
            found.extend(items)
            pending = list(response.get("UnprocessedKeys", {}).get(table.name, {}).get("Keys", []))
        if pending:
            raise StoreError(f"DynamoDB left {len(pending)} keys unprocessed after retries")
    return found


def batch_write(
    table: Table, puts: Sequence[Mapping[str, Any]], deletes: Sequence[Mapping[str, str]]
) -> None:
    """Put and delete items in batches of 25, retrying unprocessed items with backoff."""
    requests: list[Any] = [{"PutRequest": {"Item": dict(item)}} for item in puts]
    requests += [{"DeleteRequest": {"Key": dict(key)}} for key in deletes]
    client = table.meta.client
    for offset in range(0, len(requests), 25):
        pending = requests[offset : offset + 25]
        for attempt in range(8):
            if not pending:
                break
            if attempt:
                time.sleep(min(2.0, 0.05 * 2**attempt))  # back off on throttled items
            response: Any = client.batch_write_item(
                RequestItems={table.name: pending}, ReturnConsumedCapacity="TOTAL"
            )
            STATS.add_write(response)
            pending = list(response.get("UnprocessedItems", {}).get(table.name, []))
        if pending:
            raise StoreError(f"DynamoDB left {len(pending)} writes unprocessed after retries")
    STATS.items_written += len(puts)
    STATS.items_deleted += len(deletes)
