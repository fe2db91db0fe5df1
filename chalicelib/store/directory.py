"""Key identities in the table: manual mappings, the synced OpenAI directory and unmapped keys.

The only code that builds these keys:

    pk          sk                    item
    MAP         <key_id>              KeyMapping: name, owner, team, description, budget, active,
                                      api_key_sha256, api_key_last4, created_at, updated_at
    DIR         key#<key_id>          DirectoryKey: name, redacted value, project, owner, dates
    DIR         project#<id>          DirectoryProject: name, status, archived_at
    DIR         user#<id>             DirectoryUser: name, email, role
    UNMAPPED    <key_id>              first_seen, last_seen of a key id with no name anywhere

Every display name of a key is resolved here (`identities`, `resolve`): a manual name, owner or team
always wins over the synced one; the directory's owner (user name or e-mail, or service account name)
is the default owner; an id known nowhere shows as itself and is "unmapped". Reading every identity
costs two paginated Queries (MAP and DIR), whatever the number of keys.

A raw API key is never stored: a mapping keeps only its SHA-256 and last four characters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast, get_args

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.errors import InvalidInput, StoreError
from chalicelib.store.rollups import UNATTRIBUTED
from chalicelib.store.table import TableBacked, batch_write, is_condition_failure, query_all
from chalicelib.validation import safe_text

BudgetPeriod = Literal["daily", "monthly"]
BudgetUnit = Literal["tokens", "usd"]
OwnerType = Literal["user", "service_account"]
IdentitySource = Literal["mapping", "directory", "unmapped"]

BUDGET_PERIODS: tuple[str, ...] = get_args(BudgetPeriod)
BUDGET_UNITS: tuple[str, ...] = get_args(BudgetUnit)

UNATTRIBUTED_NAME = "Unattributed (no API key)"
_MAX_STORED_BUDGET_DIGITS = 15  # chalicelib.directory.MAX_BUDGET is 1e15

MAP_PK = "MAP"
DIR_PK = "DIR"
UNMAPPED_PK = "UNMAPPED"
_KEY_PREFIX = "key#"
_PROJECT_PREFIX = "project#"
_USER_PREFIX = "user#"

Item = dict[str, Any]

_writes = 0


def identity_writes() -> int:
    """How many MAP or DIR writes this process made: a cache of identities built before a write is
    stale when this number moved (chalicelib.query.names)."""
    return _writes


def _wrote() -> None:
    global _writes  # noqa: PLW0603 - one process-wide counter, read by the identity cache
    _writes += 1


# -- item types ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """A spending limit on one key: `amount` tokens or dollars per UTC day or month."""

    period: BudgetPeriod
    unit: BudgetUnit
    amount: Decimal


@dataclass(frozen=True)
class KeyMapping:
    """What a person said about a key. Set fields win over the synced directory."""

    key_id: str
    name: str
    owner: str | None = None
    team: str | None = None
    description: str | None = None
    budget: Budget | None = None
    active: bool = True
    api_key_sha256: str | None = None
    api_key_last4: str | None = None
    created_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True)
class DirectoryKey:
    """One API key as OpenAI's directory lists it (never the raw key: only its redacted value).

    `deleted_at` is ours: when a key vanishes from OpenAI its entry is kept with the time it was
    first missed, because its usage history still needs a name.
    """

    key_id: str
    name: str
    redacted_value: str
    project_id: str
    owner_type: OwnerType | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    created_at: int | None = None
    last_used_at: int | None = None
    deleted_at: int | None = None


@dataclass(frozen=True)
class DirectoryProject:
    """One project, archived ones included."""

    id: str
    name: str
    status: str
    archived_at: int | None = None


@dataclass(frozen=True)
class DirectoryUser:
    """One member of the organization."""

    id: str
    name: str
    email: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Directory:
    """The whole synced directory, by id."""

    keys: dict[str, DirectoryKey] = field(default_factory=dict)
    projects: dict[str, DirectoryProject] = field(default_factory=dict)
    users: dict[str, DirectoryUser] = field(default_factory=dict)


@dataclass(frozen=True)
class UnmappedKey:
    """A key id seen in usage with no mapping and no directory entry."""

    key_id: str
    first_seen: int
    last_seen: int


@dataclass(frozen=True)
class KeyIdentity:
    """Everything shown about a key id, resolved from its mapping, the directory, or neither.

    `mapped` is False only for source "unmapped": the key has a name from somewhere.
    """

    key_id: str
    name: str
    owner: str | None
    team: str | None
    project_id: str | None
    description: str | None
    budget: Budget | None
    active: bool
    source: IdentitySource
    mapped: bool
    project_name: str | None = None
    owner_email: str | None = None
    redacted_value: str | None = None


# -- attribute helpers -----------------------------------------------------------------------
def _compact(item: Item) -> Item:
    """Drop None attributes: absent and null read back the same, and items compare equal."""
    return {name: value for name, value in item.items() if value is not None}


def _str(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    return safe_text(value) if isinstance(value, str) else ""


def _opt_str(item: Mapping[str, Any], name: str) -> str | None:
    # Text is validated where it enters, but an item written before that rule (or by hand) may
    # hold a lone surrogate or control characters: read back, it is made safe so that no read
    # route or terminal can break on it.
    value = item.get(name)
    return safe_text(value) if isinstance(value, str) else None


def _opt_int(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return int(value)


def _budget_item(budget: Budget | None) -> Item | None:
    if budget is None:
        return None
    return {"period": budget.period, "unit": budget.unit, "amount": budget.amount}


def _budget_from(value: Any) -> Budget | None:
    if not isinstance(value, Mapping):
        return None
    period, unit, amount = value.get("period"), value.get("unit"), value.get("amount")
    if period not in BUDGET_PERIODS or unit not in BUDGET_UNITS or not isinstance(amount, (int, Decimal)):
        return None
    amount = Decimal(amount)
    # a stored amount outside what a user may set (zero, negative, beyond 1e15) is no budget at all:
    # shown as none rather than dividing by it or formatting a 126-digit number
    if not amount.is_finite() or amount <= 0 or amount.adjusted() > _MAX_STORED_BUDGET_DIGITS:
        return None
    return Budget(cast("BudgetPeriod", period), cast("BudgetUnit", unit), amount)


def mapping_item(mapping: KeyMapping) -> Item:
    """The MAP item of a mapping."""
    return _compact(
        {
            "pk": MAP_PK,
            "sk": mapping.key_id,
            "key_id": mapping.key_id,
            "name": mapping.name,
            "owner": mapping.owner,
            "team": mapping.team,
            "description": mapping.description,
            "budget": _budget_item(mapping.budget),
            "active": mapping.active,
            "api_key_sha256": mapping.api_key_sha256,
            "api_key_last4": mapping.api_key_last4,
            "created_at": mapping.created_at,
            "updated_at": mapping.updated_at,
        }
    )


def mapping_from_item(item: Mapping[str, Any]) -> KeyMapping:
    """A mapping read back from its MAP item."""
    return KeyMapping(
        key_id=_str(item, "sk"),
        name=_str(item, "name"),
        owner=_opt_str(item, "owner"),
        team=_opt_str(item, "team"),
        description=_opt_str(item, "description"),
        budget=_budget_from(item.get("budget")),
        active=item.get("active") is not False,
        api_key_sha256=_opt_str(item, "api_key_sha256"),
        api_key_last4=_opt_str(item, "api_key_last4"),
        created_at=_opt_int(item, "created_at") or 0,
        updated_at=_opt_int(item, "updated_at") or 0,
    )


def directory_key_item(key: DirectoryKey) -> Item:
    """The DIR item of an API key."""
    return _compact(
        {
            "pk": DIR_PK,
            "sk": _KEY_PREFIX + key.key_id,
            "name": key.name,
            "redacted_value": key.redacted_value,
            "project_id": key.project_id,
            "owner_type": key.owner_type,
            "owner_id": key.owner_id,
            "owner_name": key.owner_name,
            "owner_email": key.owner_email,
            "created_at": key.created_at,
            "last_used_at": key.last_used_at,
            "deleted_at": key.deleted_at,
        }
    )


def directory_project_item(project: DirectoryProject) -> Item:
    """The DIR item of a project."""
    return _compact(
        {
            "pk": DIR_PK,
            "sk": _PROJECT_PREFIX + project.id,
            "name": project.name,
            "status": project.status,
            "archived_at": project.archived_at,
        }
    )


def directory_user_item(user: DirectoryUser) -> Item:
    """The DIR item of a user."""
    return _compact(
        {
            "pk": DIR_PK,
            "sk": _USER_PREFIX + user.id,
            "name": user.name,
            "email": user.email,
            "role": user.role,
        }
    )


def _owner_type(value: str | None) -> OwnerType | None:
    return cast("OwnerType", value) if value in ("user", "service_account") else None


def _directory_from_items(items: Iterable[Mapping[str, Any]]) -> Directory:
    directory = Directory()
    for item in items:
        sk = _str(item, "sk")
        if sk.startswith(_KEY_PREFIX):
            key_id = sk.removeprefix(_KEY_PREFIX)
            directory.keys[key_id] = DirectoryKey(
                key_id=key_id,
                name=_str(item, "name"),
                redacted_value=_str(item, "redacted_value"),
                project_id=_str(item, "project_id"),
                owner_type=_owner_type(_opt_str(item, "owner_type")),
                owner_id=_opt_str(item, "owner_id"),
                owner_name=_opt_str(item, "owner_name"),
                owner_email=_opt_str(item, "owner_email"),
                created_at=_opt_int(item, "created_at"),
                last_used_at=_opt_int(item, "last_used_at"),
                deleted_at=_opt_int(item, "deleted_at"),
            )
        elif sk.startswith(_PROJECT_PREFIX):
            project_id = sk.removeprefix(_PROJECT_PREFIX)
            directory.projects[project_id] = DirectoryProject(
                id=project_id,
                name=_str(item, "name"),
                status=_str(item, "status"),
                archived_at=_opt_int(item, "archived_at"),
            )
        elif sk.startswith(_USER_PREFIX):
            user_id = sk.removeprefix(_USER_PREFIX)
            directory.users[user_id] = DirectoryUser(
                id=user_id,
                name=_str(item, "name"),
                email=_opt_str(item, "email"),
                role=_opt_str(item, "role"),
            )
    return directory


# -- identity resolution (pure) ----------------------------------------------------------------
def _directory_owner(key: DirectoryKey) -> str | None:
    return key.owner_name or key.owner_email or None


def build_identities(mappings: Iterable[KeyMapping], directory: Directory) -> dict[str, KeyIdentity]:
    """Resolve every key with a mapping or a directory entry; a manual field always wins."""
    by_id = {mapping.key_id: mapping for mapping in mappings}
    identities: dict[str, KeyIdentity] = {}
    for key_id in sorted(by_id.keys() | directory.keys.keys()):
        mapping = by_id.get(key_id)
        synced = directory.keys.get(key_id)
        project_id = synced.project_id if synced else None
        project = directory.projects.get(project_id) if project_id else None
        synced_owner = _directory_owner(synced) if synced else None
        if mapping is not None:
            identities[key_id] = KeyIdentity(
                key_id=key_id,
                name=mapping.name,
                owner=mapping.owner or synced_owner,
                team=mapping.team,
                project_id=project_id,
                description=mapping.description,
                budget=mapping.budget,
                active=mapping.active,
                source="mapping",
                mapped=True,
                project_name=project.name if project else None,
                owner_email=synced.owner_email if synced else None,
                redacted_value=synced.redacted_value if synced else None,
            )
        elif synced is not None:
            identities[key_id] = KeyIdentity(
                key_id=key_id,
                name=synced.name or key_id,
                owner=synced_owner,
                team=None,
                project_id=project_id,
                description=None,
                budget=None,
                active=synced.deleted_at is None,
                source="directory",
                mapped=True,
                project_name=project.name if project else None,
                owner_email=synced.owner_email,
                redacted_value=synced.redacted_value,
            )
    return identities


def resolve(key_id: str | None, identities: Mapping[str, KeyIdentity]) -> KeyIdentity:
    """The identity of any key id: known ones from `identities`, a null id as "unattributed",
    anything else as itself, unmapped."""
    if key_id is None or key_id == UNATTRIBUTED:
        return KeyIdentity(
            key_id=UNATTRIBUTED,
            name=UNATTRIBUTED_NAME,
            owner=None,
            team=None,
            project_id=None,
            description=None,
            budget=None,
            active=True,
            source="unmapped",
            mapped=False,
        )
    known = identities.get(key_id)
    if known is not None:
        return known
    return KeyIdentity(
        key_id=key_id,
        name=key_id,
        owner=None,
        team=None,
        project_id=None,
        description=None,
        budget=None,
        active=True,
        source="unmapped",
        mapped=False,
    )


def unknown_key_ids(key_ids: Iterable[str | None], identities: Mapping[str, KeyIdentity]) -> list[str]:
    """The key ids (sorted, unique) that neither a mapping nor the directory names; never
    "unattributed", which is not a key."""
    return sorted({k for k in key_ids if k and k != UNATTRIBUTED and k not in identities})


# -- the store -------------------------------------------------------------------------------


class DirectoryStore(TableBacked):
    """MAP, DIR and UNMAPPED items of the usage table."""

    def _query(self, pk: str) -> Iterator[Item]:
        """Every item of one partition (paginated)."""
        return query_all(self.table, KeyConditionExpression=Key("pk").eq(pk))

    # -- manual mappings ---------------------------------------------------------------------
    def get_mapping(self, key_id: str) -> KeyMapping | None:
        """The mapping of one key, or None."""
        item = self.table.get_item(Key={"pk": MAP_PK, "sk": key_id}, ConsistentRead=True).get("Item")
        return mapping_from_item(item) if item else None

    def list_mappings(self) -> list[KeyMapping]:
        """Every mapping, by key id (one paginated Query)."""
        return [mapping_from_item(item) for item in self._query(MAP_PK)]

    def put_mapping(
        self, mapping: KeyMapping, *, expected_updated_at: int | None = None, must_not_exist: bool = False
    ) -> None:
        """Write one mapping and forget the key's unmapped entry.

        `must_not_exist` refuses to overwrite an existing mapping; `expected_updated_at` refuses to
        overwrite one that changed since it was read (optimistic check). Both raise InvalidInput.
        """
        kwargs: dict[str, Any] = {}
        if must_not_exist:
            kwargs["ConditionExpression"] = Attr("pk").not_exists()
        elif expected_updated_at is not None:
            kwargs["ConditionExpression"] = Attr("updated_at").eq(expected_updated_at)
        try:
            self.table.put_item(Item=mapping_item(mapping), **kwargs)
        except ClientError as exc:
            _wrote()  # a failed write may still have raced another: read again to be sure
            if not is_condition_failure(exc):
                raise StoreError(f"writing the mapping of {mapping.key_id} failed") from exc
            if must_not_exist:
                raise InvalidInput("key_id", f"{mapping.key_id} already has a mapping") from exc
            raise InvalidInput(
                "updated_at", f"the mapping of {mapping.key_id} changed since it was read; read it again"
            ) from exc
        _wrote()
        self.clear_unmapped([mapping.key_id])

    def put_mappings(self, mappings: Sequence[KeyMapping]) -> int:
        """Write many mappings unconditionally in batches and forget their unmapped entries;
        returns the number of mappings written."""
        if not mappings:
            return 0
        latest = {mapping.key_id: mapping_item(mapping) for mapping in mappings}
        _wrote()
        batch_write(self.table, list(latest.values()), [])
        _wrote()
        self.clear_unmapped([mapping.key_id for mapping in mappings])
        return len(latest)

    def delete_mapping(self, key_id: str) -> bool:
        """Delete one mapping (usage items are never touched); True if it existed."""
        response = self.table.delete_item(Key={"pk": MAP_PK, "sk": key_id}, ReturnValues="ALL_OLD")
        _wrote()
        return bool(response.get("Attributes"))

    # -- synced directory --------------------------------------------------------------------
    def directory(self) -> Directory:
        """The whole synced directory (one paginated Query)."""
        return _directory_from_items(self._query(DIR_PK))

    def replace_directory(
        self,
        keys: Iterable[DirectoryKey],
        projects: Iterable[DirectoryProject],
        users: Iterable[DirectoryUser],
        *,
        now: int | None = None,
        keep_keys_of: Collection[str] = (),
    ) -> int:
        """Make the DIR partition equal to what OpenAI lists; returns the items written.

        Reads every DIR item with one paginated Query, then writes only items that differ and deletes
        projects and users that vanished. A key that vanished is kept as a tombstone (`deleted_at`,
        written once, with `now`) because its usage history still needs its name; keys of the
        projects in `keep_keys_of` (whose key list could not be read) are left as they are.
        """
        wanted: dict[str, Item] = {}
        for key in keys:
            wanted[_KEY_PREFIX + key.key_id] = directory_key_item(key)
        for project in projects:
            wanted[_PROJECT_PREFIX + project.id] = directory_project_item(project)
        for user in users:
            wanted[_USER_PREFIX + user.id] = directory_user_item(user)

        existing = {_str(item, "sk"): dict(item) for item in self._query(DIR_PK)}
        puts: list[Item] = [item for sk, item in wanted.items() if existing.get(sk) != item]
        deletes: list[str] = []
        for sk, item in existing.items():
            if sk in wanted:
                continue
            if not sk.startswith(_KEY_PREFIX):
                deletes.append(sk)
            elif _str(item, "project_id") in keep_keys_of or item.get("deleted_at") is not None:
                continue
            elif now is None:
                deletes.append(sk)
            else:
                puts.append({**item, "deleted_at": now})
        if not puts and not deletes:
            return 0
        _wrote()
        batch_write(self.table, puts, [{"pk": DIR_PK, "sk": sk} for sk in deletes])
        _wrote()
        return len(puts) + len(deletes)

    # -- unmapped keys -----------------------------------------------------------------------
    def record_unmapped(self, key_ids: Iterable[str], now: int) -> list[str]:
        """Record key ids seen without any name; returns those recorded for the first time.

        One conditional write per id: `first_seen` is set only if absent and the old values come
        back, so of two concurrent runs exactly one sees an id as new. "unattributed" is no key and
        is ignored.
        """
        newly: list[str] = []
        for key_id in sorted({k for k in key_ids if k and k != UNATTRIBUTED}):
            try:
                response = self.table.update_item(
                    Key={"pk": UNMAPPED_PK, "sk": key_id},
                    UpdateExpression="SET first_seen = if_not_exists(first_seen, :now), last_seen = :now",
                    ConditionExpression="attribute_not_exists(last_seen) OR last_seen < :now",
                    ExpressionAttributeValues={":now": now},
                    ReturnValues="UPDATED_OLD",
                )
            except ClientError as exc:
                if is_condition_failure(exc):  # already seen at this time or later: not new
                    continue
                raise StoreError(f"recording unmapped key {key_id} failed") from exc
            if "first_seen" not in response.get("Attributes", {}):
                newly.append(key_id)
        return newly

    def list_unmapped(self) -> list[UnmappedKey]:
        """Every key recorded as unmapped (one paginated Query)."""
        return [
            UnmappedKey(_str(item, "sk"), _opt_int(item, "first_seen") or 0, _opt_int(item, "last_seen") or 0)
            for item in self._query(UNMAPPED_PK)
        ]

    def clear_unmapped(self, key_ids: Iterable[str]) -> None:
        """Forget the unmapped entries of keys that now have a name (absent ones are no-ops)."""
        unique = sorted(set(key_ids))
        if len(unique) == 1:
            self.table.delete_item(Key={"pk": UNMAPPED_PK, "sk": unique[0]})
        elif unique:
            batch_write(self.table, [], [{"pk": UNMAPPED_PK, "sk": key_id} for key_id in unique])

    # -- identities --------------------------------------------------------------------------
    def identities(self) -> dict[str, KeyIdentity]:
        """Every key with a mapping or a directory entry, resolved (two paginated Queries)."""
        return build_identities(self.list_mappings(), self.directory())
