"""The alert ledger: one item per (period, subject, threshold), the memory that makes alerts fire once.

The only code that builds these keys:

    pk ALERT#<period>     sk <subject>#<threshold>
       period     YYYY-MM-DD (daily rules) or YYYY-MM (monthly budgets)
       subject    pool:large, forecast:mini, budget:<key_id>, model:<model>, unmapped:<key_id>
       threshold  a percentage ("80") or "once"

    attributes  kind, subject, threshold, period, state, created_at, attempts, last_attempt_at,
                lease_owner, lease_until, last_error, last_outcome, published_at, message_id,
                expires_at (TTL),
                message {title, structured, attributes}: exactly what is published, frozen when
                the alert was recorded, so a retry sends the same words the first try would have
                (the type, StoredMessage, is chalicelib.alerts.messages'; this module only stores it).

States: `pending` (recorded, not yet accepted by SNS), `published`, `superseded` (recorded without a
message: a higher threshold of the same subject was crossed in the same evaluation).

Every transition is one conditional write (see chalicelib.alerts.engine for why they add up to once):
- `record`: put only if the item does not exist (`attribute_not_exists(pk)`);
- `claim`: pending and no live lease -> take the lease (owner, until) and count the attempt;
- `mark_published`: pending and still ours -> published, lease dropped;
- `release`: still ours -> lease dropped, error and outcome kept (`refused`: SNS said no;
  `unknown`: no answer, SNS may have accepted), state stays pending for the next run.
Every publish attempt is one claim, so `attempts` counts them exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.alerts.messages import StoredMessage
from chalicelib.errors import StoreError
from chalicelib.store.table import TableBacked, is_condition_failure, query_all

AlertState = Literal["pending", "published", "superseded"]
ALERT_PREFIX = "ALERT#"
MAX_ERROR_LENGTH = 500


def alert_key(period: str, subject: str, threshold: str) -> dict[str, str]:
    """The table key of one ledger item."""
    return {"pk": ALERT_PREFIX + period, "sk": f"{subject}#{threshold}"}


def _int(value: Any) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)


@dataclass(frozen=True)
class AlertRecord:
    """One ledger item read back."""

    period: str
    subject: str
    threshold: str
    kind: str
    state: AlertState
    created_at: int
    attempts: int = 0
    last_attempt_at: int | None = None
    published_at: int | None = None
    message_id: str | None = None
    last_error: str | None = None
    last_outcome: str | None = None
    lease_owner: str | None = None
    lease_until: int | None = None
    message: StoredMessage | None = None

    @property
    def alert_id(self) -> str:
        """A stable id of this alert, the same on every retry: `<period>/<subject>#<threshold>`."""
        return f"{self.period}/{self.subject}#{self.threshold}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the message body)."""
        return {
            "alert_id": self.alert_id,
            "period": self.period,
            "subject": self.subject,
            "threshold": self.threshold,
            "kind": self.kind,
            "state": self.state,
            "title": self.message.title if self.message else None,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "last_attempt_at": self.last_attempt_at,
            "published_at": self.published_at,
            "message_id": self.message_id,
            "last_error": self.last_error,
            "last_outcome": self.last_outcome,
        }


def _message_from(value: Any) -> StoredMessage | None:
    if not isinstance(value, Mapping):
        return None
    attributes = value.get("attributes")
    return StoredMessage(
        title=str(value.get("title", "")),
        structured=str(value.get("structured", "")),
        attributes={str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, Mapping) else {},
    )


def record_from_item(item: Mapping[str, Any]) -> AlertRecord:
    """An AlertRecord from its item."""
    subject, _, threshold = str(item["sk"]).rpartition("#")
    state = str(item.get("state", "pending"))
    return AlertRecord(
        period=str(item["pk"])[len(ALERT_PREFIX) :],
        subject=subject,
        threshold=threshold,
        kind=str(item.get("kind", "")),
        state=cast(AlertState, state if state in ("pending", "published", "superseded") else "pending"),
        created_at=_int(item.get("created_at")) or 0,
        attempts=_int(item.get("attempts")) or 0,
        last_attempt_at=_int(item.get("last_attempt_at")),
        published_at=_int(item.get("published_at")),
        message_id=str(item["message_id"]) if item.get("message_id") else None,
        last_error=str(item["last_error"]) if item.get("last_error") else None,
        last_outcome=str(item["last_outcome"]) if item.get("last_outcome") else None,
        lease_owner=str(item["lease_owner"]) if item.get("lease_owner") else None,
        lease_until=_int(item.get("lease_until")),
        message=_message_from(item.get("message")),
    )


class AlertLedger(TableBacked):
    """Reads and conditionally writes the ALERT# items."""

    def records(self, periods: Iterable[str]) -> list[AlertRecord]:
        """Every ledger item of the given periods (one strongly consistent Query each)."""
        found: list[AlertRecord] = []
        for period in dict.fromkeys(periods):
            items = query_all(
                self.table,
                KeyConditionExpression=Key("pk").eq(ALERT_PREFIX + period),
                ConsistentRead=True,
            )
            found.extend(record_from_item(item) for item in items)
        return found

    def record(
        self,
        *,
        period: str,
        subject: str,
        threshold: str,
        kind: str,
        state: AlertState,
        message: StoredMessage | None,
        now: int,
        expires_at: int,
    ) -> bool:
        """Create the item unless it exists; True when this call created it."""
        item: dict[str, Any] = {
            **alert_key(period, subject, threshold),
            "kind": kind,
            "state": state,
            "created_at": now,
            "attempts": 0,
            "expires_at": expires_at,
        }
        if message is not None:
            item["message"] = {
                "title": message.title,
                "structured": message.structured,
                "attributes": dict(message.attributes),
            }
        try:
            self.table.put_item(Item=item, ConditionExpression=Attr("pk").not_exists())
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise StoreError(f"recording alert {period}/{subject}#{threshold} failed") from exc
        return True

    def claim(
        self, period: str, subject: str, threshold: str, *, owner: str, now: int, lease_seconds: int
    ) -> AlertRecord | None:
        """Take the publishing lease of a pending item with no live lease; the item, or None if it is
        published, superseded, or leased by a live owner."""
        try:
            response = self.table.update_item(
                Key=alert_key(period, subject, threshold),
                UpdateExpression="SET lease_owner = :owner, lease_until = :until, last_attempt_at = :now "
                "ADD attempts :one",
                ConditionExpression="attribute_exists(pk) AND #state = :pending "
                "AND (attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":until": now + lease_seconds,
                    ":now": now,
                    ":one": 1,
                    ":pending": "pending",
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return None
            raise StoreError(f"claiming alert {period}/{subject}#{threshold} failed") from exc
        return record_from_item(response["Attributes"])

    def mark_published(
        self, period: str, subject: str, threshold: str, *, owner: str, message_id: str, now: int
    ) -> bool:
        """Pending and still leased by `owner` -> published; False if the lease was lost meanwhile."""
        try:
            self.table.update_item(
                Key=alert_key(period, subject, threshold),
                UpdateExpression="SET #state = :published, published_at = :now, message_id = :id, "
                "last_outcome = :accepted REMOVE lease_owner, lease_until, last_error",
                ConditionExpression="#state = :pending AND lease_owner = :owner",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":published": "published",
                    ":pending": "pending",
                    ":owner": owner,
                    ":now": now,
                    ":id": message_id,
                    ":accepted": "accepted",
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise StoreError(f"marking alert {period}/{subject}#{threshold} published failed") from exc
        return True

    def release(
        self, period: str, subject: str, threshold: str, *, owner: str, error: str, outcome: str = "unknown"
    ) -> bool:
        """Drop `owner`'s lease after a failed publish, keeping the error and whether SNS may have
        accepted it anyway (`outcome`): the next run retries."""
        try:
            self.table.update_item(
                Key=alert_key(period, subject, threshold),
                UpdateExpression="SET last_error = :error, last_outcome = :outcome "
                "REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":error": error[:MAX_ERROR_LENGTH],
                    ":outcome": outcome,
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise StoreError(f"releasing alert {period}/{subject}#{threshold} failed") from exc
        return True


__all__ = ["ALERT_PREFIX", "AlertLedger", "AlertRecord", "AlertState", "alert_key"]
