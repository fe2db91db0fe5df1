"""Shared state of the live 1m path under pk `LIVE`, so that every API Lambda instance sees it
(instances share no memory): answered windows, and the per-minute counters of OpenAI rounds.

The only code that builds these keys:

    pk LIVE   sk window#<sha256 of base URL, start, end>   data (zlib'd JSON of the records), until
    pk LIVE   sk rate#<scope>#<unix minute>                 count of OpenAI rounds started that minute

Both carry `expires_at` (TTL) so that nothing accumulates; a window read checks `until` itself
because TTL deletes late.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from chalicelib.store.table import TTL_ATTRIBUTE, TableBacked, is_condition_failure

LIVE_PK = "LIVE"
# DynamoDB items hold 400 KB; a window whose records compress to more is kept in memory only.
MAX_WINDOW_BYTES = 350_000


def window_key(base_url: str, start: int, end: int) -> str:
    """The sort key of a window's answer."""
    digest = hashlib.sha256(f"{base_url}|{start}|{end}".encode()).hexdigest()[:32]
    return f"window#{digest}"


class LiveStore(TableBacked):
    """Reads and conditionally writes the LIVE items."""

    def window(self, base_url: str, start: int, end: int, now: int) -> tuple[bytes, int] | None:
        """The stored answer of a window and until when it is fresh, if it still is at `now`."""
        item = self.table.get_item(
            Key={"pk": LIVE_PK, "sk": window_key(base_url, start, end)}, ConsistentRead=True
        ).get("Item")
        if not item or int(item.get("until", 0)) <= now:  # type: ignore[arg-type]
            return None
        until = int(item["until"])  # type: ignore[arg-type]
        data: Any = item.get("data")  # boto3 reads Binary back as boto3.dynamodb.types.Binary
        if isinstance(data, Binary):
            return bytes(cast(Any, data)), until  # Binary has __bytes__; its stubs say otherwise
        return (bytes(data), until) if isinstance(data, bytes | bytearray) else None

    def put_window(self, base_url: str, start: int, end: int, data: bytes, until: int) -> bool:
        """Keep a window's answer until `until`; False (nothing written) when it is too large."""
        if len(data) > MAX_WINDOW_BYTES:
            return False
        self.table.put_item(
            Item={
                "pk": LIVE_PK,
                "sk": window_key(base_url, start, end),
                "data": data,
                "until": until,
                TTL_ATTRIBUTE: until + 3600,
            }
        )
        return True

    def take(self, scope: str, minute: int, limit: int) -> bool:
        """Count one OpenAI round against `scope` in this Unix minute, unless `limit` were exceeded:
        True when counted, False when the minute's budget is spent (one conditional ADD)."""
        try:
            self.table.update_item(
                Key={"pk": LIVE_PK, "sk": f"rate#{scope}#{minute}"},
                UpdateExpression="ADD #count :one SET #ttl = :ttl",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":ttl": (minute + 2) * 60},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True


__all__ = ["LIVE_PK", "MAX_WINDOW_BYTES", "LiveStore", "window_key"]
