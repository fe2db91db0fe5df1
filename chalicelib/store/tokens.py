"""Dashboard/API tokens under pk `TOKEN`: the only code that builds these keys.

    pk      sk              item
    TOKEN   <sha256 hex>    role (viewer|admin), name, created_at, revoked_at (absent while valid)

A token itself is never stored: the sort key is its SHA-256, so reading the table gives nobody a
usable token. A token's public id is the first `ID_LENGTH` hex digits of that hash (what `tokens list`
shows and `tokens revoke` takes); it is found with one Query on the prefix. Revoked tokens stay, with
`revoked_at`, so that the list shows who had access until when.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast, get_args

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.errors import Conflict, InvalidInput, NotFound, StoreError
from chalicelib.store.table import TableBacked, is_condition_failure, query_all

Role = Literal["viewer", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PK = "TOKEN"  # noqa: S105 - a partition key, not a secret
ID_LENGTH = 12
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class StoredToken:
    """What the table knows about one token (never the token)."""

    token_hash: str
    role: Role
    name: str
    created_at: int
    revoked_at: int | None = None

    @property
    def id(self) -> str:
        """The public id: the hash's first hex digits."""
        return self.token_hash[:ID_LENGTH]

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return int(value)


def _from_item(item: Mapping[str, Any]) -> StoredToken | None:
    role = item.get("role")
    if role not in ROLES:
        return None  # an item we did not write: never grant anything from it
    return StoredToken(
        token_hash=str(item["sk"]),
        role=cast("Role", role),
        name=str(item.get("name", "")),
        created_at=_int(item.get("created_at")) or 0,
        revoked_at=_int(item.get("revoked_at")),
    )


class TokenStore(TableBacked):
    """Reads and writes the TOKEN items."""

    def add(self, token: StoredToken) -> None:
        """Store a new token's hash; refuses to overwrite one."""
        try:
            self.table.put_item(
                Item={
                    "pk": TOKEN_PK,
                    "sk": token.token_hash,
                    "role": token.role,
                    "name": token.name,
                    "created_at": token.created_at,
                },
                ConditionExpression=Attr("pk").not_exists(),
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise Conflict("token", "a token with this hash exists already") from exc
            raise StoreError("storing the token failed") from exc

    def get(self, token_hash: str) -> StoredToken | None:
        """The token with this hash, revoked or not; None when unknown."""
        if len(token_hash) != 64 or set(token_hash) - _HEX:
            return None
        item = self.table.get_item(Key={"pk": TOKEN_PK, "sk": token_hash}).get("Item")
        return _from_item(item) if item else None

    def all(self) -> list[StoredToken]:
        """Every token, oldest first (one paginated Query)."""
        found = [
            _from_item(item) for item in query_all(self.table, KeyConditionExpression=Key("pk").eq(TOKEN_PK))
        ]
        return sorted((token for token in found if token), key=lambda token: (token.created_at, token.id))

    def find(self, token_id: str) -> StoredToken:
        """The one token whose id is `token_id` (NotFound / InvalidInput otherwise)."""
        wanted = token_id.strip().lower()
        if len(wanted) != ID_LENGTH or set(wanted) - _HEX:
            raise InvalidInput("id", f"a token id is {ID_LENGTH} hex digits, as `tokens list` shows")
        items = query_all(
            self.table, KeyConditionExpression=Key("pk").eq(TOKEN_PK) & Key("sk").begins_with(wanted)
        )
        matches = [token for token in (_from_item(item) for item in items) if token]
        if not matches:
            raise NotFound("id", f"no token has the id {wanted}")
        if len(matches) > 1:
            raise InvalidInput("id", f"{wanted} matches several tokens")
        return matches[0]

    def revoke(self, token_id: str, now: int) -> StoredToken:
        """Mark a token revoked (idempotent: a revoked token keeps its first revocation time)."""
        token = self.find(token_id)
        if token.revoked_at is not None:
            return token
        self.table.update_item(
            Key={"pk": TOKEN_PK, "sk": token.token_hash},
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
            ExpressionAttributeValues={":now": now},
        )
        return StoredToken(token.token_hash, token.role, token.name, token.created_at, now)
