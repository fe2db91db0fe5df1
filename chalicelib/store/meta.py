"""Bookkeeping items under pk `META`: the collector's checkpoint, its lease, backfill progress.

sk checkpoint              last successful run, data-as-of per source, last failure, and
                           collected_from: the earliest day any backfill or incremental run stored
                           (only ever lowered; /api/usage's coverage reads it with the checkpoint)
sk lease                   which run holds the collector lease, until when (owner, until, taken_at)
sk backfill#<start>#<end>  the last day a backfill of [start, end) completed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.store.table import TableBacked, is_condition_failure, query_all

META = "META"


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Checkpoint:
    """What the last collections left behind. Times are Unix seconds."""

    last_success_at: int | None = None
    usage_as_of: int | None = None
    costs_as_of: int | None = None
    directory_synced_at: int | None = None
    last_run_id: str | None = None
    last_error: str | None = None
    last_error_at: int | None = None
    consecutive_failures: int = 0
    cost_grouping: str | None = None
    collected_from: str | None = None
    rewrites: int = 0
    """Backfill chunks stored so far: each one moves it, as a run moves `usage_as_of`, so that what
    was computed from the aggregates before it is known to be stale (chalicelib.query.answers)."""


@dataclass(frozen=True)
class LeaseAttempt:
    """The outcome of asking for the collector lease: truthy when this run holds it.

    `holder`/`until` name the run that holds it (this one when acquired); `taken_over_from` is the
    run whose expired lease this one replaced (a crashed or killed run), with `stale_until`."""

    acquired: bool
    holder: str | None = None
    until: int | None = None
    taken_over_from: str | None = None
    stale_until: int | None = None

    def __bool__(self) -> bool:
        return self.acquired


class MetaStore(TableBacked):
    """Reads and writes the META items."""

    def checkpoint(self) -> Checkpoint:
        """The checkpoint, or an empty one before the first run."""
        item = self.table.get_item(Key={"pk": META, "sk": "checkpoint"}, ConsistentRead=True).get("Item")
        if not item:
            return Checkpoint()
        return Checkpoint(
            last_success_at=_int_or_none(item.get("last_success_at")),
            usage_as_of=_int_or_none(item.get("usage_as_of")),
            costs_as_of=_int_or_none(item.get("costs_as_of")),
            directory_synced_at=_int_or_none(item.get("directory_synced_at")),
            last_run_id=str(item["last_run_id"]) if item.get("last_run_id") else None,
            last_error=str(item["last_error"]) if item.get("last_error") else None,
            last_error_at=_int_or_none(item.get("last_error_at")),
            consecutive_failures=int(item.get("consecutive_failures", 0)),  # type: ignore[arg-type]
            cost_grouping=str(item["cost_grouping"]) if item.get("cost_grouping") else None,
            collected_from=str(item["collected_from"]) if item.get("collected_from") else None,
            rewrites=int(item.get("rewrites", 0)),  # type: ignore[arg-type]
        )

    def record_success(
        self,
        *,
        run_id: str,
        finished_at: int,
        usage_as_of: int,
        costs_as_of: int | None,
        directory_synced_at: int | None,
        cost_grouping: str | None,
    ) -> bool:
        """Advance the checkpoint; a run older than the recorded one never moves it back."""
        names = ["last_success_at", "usage_as_of", "last_run_id", "consecutive_failures"]
        values: dict[str, Any] = {
            ":last_success_at": finished_at,
            ":usage_as_of": usage_as_of,
            ":last_run_id": run_id,
            ":consecutive_failures": 0,
        }
        for name, value in (
            ("costs_as_of", costs_as_of),
            ("directory_synced_at", directory_synced_at),
            ("cost_grouping", cost_grouping),
        ):
            if value is not None:
                names.append(name)
                values[f":{name}"] = value
        try:
            self.table.update_item(
                Key={"pk": META, "sk": "checkpoint"},
                UpdateExpression="SET "
                + ", ".join(f"{name} = :{name}" for name in names)
                + " REMOVE last_error",
                ConditionExpression="attribute_not_exists(usage_as_of) OR usage_as_of <= :usage_as_of",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def record_directory_sync(self, synced_at: int) -> None:
        """Remember when the key directory was last synced (by a backfill or the CLI)."""
        self.table.update_item(
            Key={"pk": META, "sk": "checkpoint"},
            UpdateExpression="SET directory_synced_at = :at",
            ExpressionAttributeValues={":at": synced_at},
        )

    def record_failure(self, *, run_id: str, failed_at: int, error: str) -> None:
        """Note a failed run without touching what the last success recorded."""
        self.table.update_item(
            Key={"pk": META, "sk": "checkpoint"},
            UpdateExpression="SET last_error = :error, last_error_at = :at, last_failed_run_id = :run "
            "ADD consecutive_failures :one",
            ExpressionAttributeValues={":error": error[:1000], ":at": failed_at, ":run": run_id, ":one": 1},
        )

    def acquire_lease(self, owner: str, now: int, seconds: int) -> LeaseAttempt:
        """Take the collector lease until `now + seconds` unless another live run holds it (a lease
        whose `until` has passed is stale: its run crashed or was killed, and this run takes over)."""
        try:
            old = self.table.put_item(
                Item={"pk": META, "sk": "lease", "owner": owner, "until": now + seconds, "taken_at": now},
                ConditionExpression="attribute_not_exists(pk) OR #until < :now OR #owner = :owner",
                ExpressionAttributeNames={"#until": "until", "#owner": "owner"},
                ExpressionAttributeValues={":now": now, ":owner": owner},
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            held = self.lease()
            return LeaseAttempt(False, *(held or (None, None)))
        previous = str(old["owner"]) if old and old.get("owner") is not None else None
        stale = previous is not None and previous != owner
        return LeaseAttempt(
            True,
            owner,
            now + seconds,
            taken_over_from=previous if stale else None,
            stale_until=_int_or_none(old.get("until")) if stale and old else None,
        )

    def renew_lease(self, owner: str, until: int) -> bool:
        """Extend this run's lease to `until`; False when another run has taken it meanwhile."""
        try:
            self.table.update_item(
                Key={"pk": META, "sk": "lease"},
                UpdateExpression="SET #until = :until",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#until": "until", "#owner": "owner"},
                ExpressionAttributeValues={":until": until, ":owner": owner},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def lease(self) -> tuple[str, int] | None:
        """(holder, until) of the lease as stored, or None when no run holds one."""
        item = self.table.get_item(Key={"pk": META, "sk": "lease"}, ConsistentRead=True).get("Item")
        if not item or item.get("owner") is None or item.get("until") is None:
            return None
        return str(item["owner"]), int(item["until"])  # type: ignore[arg-type]

    def release_lease(self, owner: str) -> None:
        """Give the lease back if this run still holds it."""
        try:
            self.table.delete_item(
                Key={"pk": META, "sk": "lease"},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def backfill_done_through(self, start: str, end: str) -> str | None:
        """The last day a backfill of [start, end) completed, if any."""
        item = self.table.get_item(
            Key={"pk": META, "sk": f"backfill#{start}#{end}"}, ConsistentRead=True
        ).get("Item")
        return str(item["done_through"]) if item else None

    def note_collected_from(self, day: str) -> None:
        """Lower the checkpoint's `collected_from` to `day` (YYYY-MM-DD labels sort as dates); a later
        day leaves it as it is."""
        try:
            self.table.update_item(
                Key={"pk": META, "sk": "checkpoint"},
                UpdateExpression="SET collected_from = :day",
                ConditionExpression="attribute_not_exists(collected_from) OR collected_from > :day",
                ExpressionAttributeValues={":day": day},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def backfill_starts(self) -> list[str]:
        """The first day of every backfill that stored at least one chunk, earliest first."""
        items = query_all(
            self.table,
            KeyConditionExpression=Key("pk").eq(META) & Key("sk").begins_with("backfill#"),
            ConsistentRead=True,
        )
        return sorted(str(item["sk"]).split("#")[1] for item in items if item.get("done_through"))

    def record_backfill_progress(self, start: str, end: str, done_through: str, now: int) -> None:
        """Remember that every day up to and including `done_through` is stored (and from `start`)."""
        self.table.put_item(
            Item={
                "pk": META,
                "sk": f"backfill#{start}#{end}",
                "done_through": done_through,
                "updated_at": now,
            }
        )
        self.table.update_item(  # the chunk's days are rewritten: move the checkpoint
            Key={"pk": META, "sk": "checkpoint"},
            UpdateExpression="ADD rewrites :one",
            ExpressionAttributeValues={":one": 1},
        )
        self.note_collected_from(start)
