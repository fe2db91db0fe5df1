"""Key identities in the table: manual mappings, the synced OpenAI directory and unmapped keys.

The only code that builds these keys:

    pk          sk                    item
    MAP         <key_id>              KeyMapping: name, owner, team, description, budget, active,
                                      api_key_sha256, api_key_last4, created_at, updated_at (and key_id)
    DIR         key#<key_id>          DirectoryKey: name, redacted value, project, owner, dates
    DIR         project#<id>          DirectoryProject: name, status, archived_at
    DIR         user#<id>             DirectoryUser: name, email, role
    UNMAPPED    <key_id>              first_seen, last_seen of a key id with no name anywhere

The records are chalicelib.keys.model's; each item is one record's fields as attributes (None left
out), its id in the sort key, and is written and read by one codec derived from the dataclass fields
(`_Codec`), so that a field is listed once, in the model. Resolving them is chalicelib.keys.resolve's.

The DIR items are also kept as one compressed snapshot (pk DIRSNAP, chalicelib.store.directory_snapshot,
written by `replace_directory` after the items): readers read it (one Query, a few hundred KB at 10,000
keys, instead of 12,000 items and 2.7 MB) and fall back to the items whenever it cannot be trusted.
Reading every identity costs two Queries (MAP and the snapshot), whatever the number of keys. Every
write through this class moves the generations kept with the snapshot, so a cache of names can tell
cheaply that nothing changed (`generations`, chalicelib.query.names).

A raw API key is never stored: a mapping keeps only its SHA-256 and last four characters.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from functools import cache
from itertools import chain
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast, get_args, get_origin, get_type_hints

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.errors import InvalidInput, StoreError
from chalicelib.keys.model import (
    BUDGET_PERIODS,
    BUDGET_UNITS,
    Budget,
    BudgetPeriod,
    BudgetUnit,
    Directory,
    DirectoryKey,
    DirectoryProject,
    DirectoryUser,
    KeyIdentity,
    KeyMapping,
    UnmappedKey,
)
from chalicelib.keys.resolve import build_identities
from chalicelib.store import directory_snapshot as snapshot
from chalicelib.store.table import TableBacked, batch_get, batch_write, is_condition_failure, query_all
from chalicelib.validation import safe_text

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_MAX_STORED_BUDGET_DIGITS = 15  # chalicelib.keys.validate.MAX_BUDGET is 1e15

MAP_PK = "MAP"
DIR_PK = "DIR"
UNMAPPED_PK = "UNMAPPED"

Item = dict[str, Any]
R = TypeVar("R", bound="DataclassInstance")
_Read = Callable[[Mapping[str, Any], str], Any]

_writes = 0


def identity_writes() -> int:
    """How many MAP or DIR writes this process made: a cache of identities built before a write is
    stale when this number moved (chalicelib.query.names)."""
    return _writes


def _wrote() -> None:
    global _writes  # noqa: PLW0603 - one process-wide counter, read by the identity cache
    _writes += 1


# -- attribute readers -----------------------------------------------------------------------
# Text is validated where it enters, but an item written before that rule (or by hand) may hold a
# lone surrogate or control characters: read back, it is made safe so that no read route or
# terminal can break on it. A value of the wrong type reads as unset.
def _str(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    return safe_text(value) if isinstance(value, str) else ""


def _opt_str(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return safe_text(value) if isinstance(value, str) else None


def _opt_int(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return int(value)


def _int(item: Mapping[str, Any], name: str) -> int:
    return _opt_int(item, name) or 0


def _flag(item: Mapping[str, Any], name: str) -> bool:
    return item.get(name) is not False  # on unless stored off: items older than the flag are on


def _budget(item: Mapping[str, Any], name: str) -> Budget | None:
    value = item.get(name)
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


def _one_of(allowed: tuple[Any, ...]) -> _Read:
    def read(item: Mapping[str, Any], name: str) -> str | None:
        value = _opt_str(item, name)
        return value if value in allowed else None

    return read


_READERS: dict[Any, _Read] = {str: _str, int: _int, bool: _flag}
_OPTIONAL_READERS: dict[Any, _Read] = {str: _opt_str, int: _opt_int, Budget: _budget}


def _reader(hint: Any) -> _Read:
    """The reader of one field's type: str, int, bool, or an optional str, int, Budget or Literal."""
    if hint in _READERS:
        return _READERS[hint]
    args = get_args(hint)
    inner = [arg for arg in args if arg is not type(None)] if type(None) in args else []
    if len(inner) == 1 and get_origin(inner[0]) is Literal:
        return _one_of(get_args(inner[0]))
    if len(inner) == 1 and inner[0] in _OPTIONAL_READERS:
        return _OPTIONAL_READERS[inner[0]]
    raise TypeError(f"chalicelib.store.directory has no codec for a field of type {hint!r}")


@cache
def _readers(record_type: type[DataclassInstance]) -> dict[str, _Read]:
    hints = get_type_hints(record_type)
    return {f.name: _reader(hints[f.name]) for f in fields(record_type)}


def _stored(value: Any) -> Any:
    return asdict(value) if isinstance(value, Budget) else value


# -- the codec -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Codec(Generic[R]):
    """One kind of item: a record's fields as attributes (None left out: absent and null read back
    the same, and items compare equal), its id in the sort key after `prefix`."""

    record_type: type[R]
    pk: str
    prefix: str = ""
    id_field: str = "key_id"
    id_attribute: bool = False  # MAP items also hold their key_id as an attribute

    def item(self, record: R) -> Item:
        """The item of one record."""
        values = {f.name: _stored(getattr(record, f.name)) for f in fields(record)}
        record_id = values[self.id_field] if self.id_attribute else values.pop(self.id_field)
        attributes = {name: value for name, value in values.items() if value is not None}
        return {"pk": self.pk, "sk": self.prefix + record_id, **attributes}

    def record_id(self, item: Mapping[str, Any]) -> str:
        """The id a stored item is of."""
        return _str(item, "sk").removeprefix(self.prefix)

    def record(self, item: Mapping[str, Any]) -> R:
        """The record read back from its item."""
        values = {name: read(item, name) for name, read in _readers(self.record_type).items()}
        values[self.id_field] = self.record_id(item)
        return self.record_type(**values)


_MAPPING = _Codec(KeyMapping, MAP_PK, id_attribute=True)
_KEY = _Codec(DirectoryKey, DIR_PK, "key#")
_PROJECT = _Codec(DirectoryProject, DIR_PK, "project#", id_field="id")
_USER = _Codec(DirectoryUser, DIR_PK, "user#", id_field="id")
_UNMAPPED = _Codec(UnmappedKey, UNMAPPED_PK)
# which Directory field holds the records of each DIR prefix
_DIRECTORY_PARTS: tuple[tuple[str, _Codec[Any]], ...] = (
    ("keys", _KEY),
    ("projects", _PROJECT),
    ("users", _USER),
)


def mapping_item(mapping: KeyMapping) -> Item:
    """The MAP item of a mapping."""
    return _MAPPING.item(mapping)


def mapping_from_item(item: Mapping[str, Any]) -> KeyMapping:
    """A mapping read back from its MAP item."""
    return _MAPPING.record(item)


def _directory_from_items(items: Iterable[Mapping[str, Any]]) -> Directory:
    directory = Directory()
    for item in items:
        sk = _str(item, "sk")
        for part, codec in _DIRECTORY_PARTS:
            if sk.startswith(codec.prefix):
                getattr(directory, part)[codec.record_id(item)] = codec.record(item)
                break
    return directory


def _items_of(directory: Directory) -> dict[str, Item]:
    """The DIR items of a directory, by sort key (as the codec writes them)."""
    items: dict[str, Item] = {}
    for part, codec in _DIRECTORY_PARTS:
        items.update((item["sk"], item) for item in map(codec.item, getattr(directory, part).values()))
    return items


def _generations(head: snapshot.SnapshotHead) -> tuple[int, int] | None:
    return None if head == snapshot.SnapshotHead() else (head.dir_gen, head.map_gen)


# -- the store -------------------------------------------------------------------------------
class DirectoryStore(TableBacked):
    """MAP, DIR and UNMAPPED items of the usage table."""

    def _query(self, pk: str, *, consistent: bool = False) -> Iterator[Item]:
        """Every item of one partition (paginated)."""
        return query_all(self.table, KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=consistent)

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
        snapshot.bump_map(self.table)
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
        snapshot.bump_map(self.table)
        self.clear_unmapped([mapping.key_id for mapping in mappings])
        return len(latest)

    def delete_mapping(self, key_id: str) -> bool:
        """Delete one mapping (usage items are never touched); True if it existed."""
        response = self.table.delete_item(Key={"pk": MAP_PK, "sk": key_id}, ReturnValues="ALL_OLD")
        _wrote()
        existed = bool(response.get("Attributes"))
        if existed:
            snapshot.bump_map(self.table)
        return existed

    # -- synced directory --------------------------------------------------------------------
    def directory(self) -> Directory:
        """The whole synced directory: its snapshot (one Query of a few compressed items), or the
        DIR items (one paginated Query) when there is no snapshot it can trust
        (chalicelib.store.directory_snapshot)."""
        return self.directory_at()[0]

    def directory_at(self) -> tuple[Directory, tuple[int, int] | None]:
        """`directory()`, with the generations (`generations`) as read before it, in the same
        requests: a token that MAP read after it is covered by as well."""
        head, found = snapshot.read_at(self.table)
        if found is None:
            found = _directory_from_items(self._query(DIR_PK))
        return found, _generations(head)

    def names_of(
        self, key_ids: Collection[str]
    ) -> tuple[list[KeyMapping], Directory, tuple[int, int] | None]:
        """A few keys' mappings and directory entries (with their projects), and the generations as
        read before them: the names of just these keys for two BatchGetItems, where the whole
        directory is a few hundred KB at 10,000 keys."""
        generations = self.generations()
        wanted = sorted(set(key_ids))
        items = batch_get(
            self.table,
            [{"pk": MAP_PK, "sk": key_id} for key_id in wanted]
            + [{"pk": DIR_PK, "sk": _KEY.prefix + key_id} for key_id in wanted],
        )
        mappings = [mapping_from_item(item) for item in items if item["pk"] == MAP_PK]
        keys = _directory_from_items(item for item in items if item["pk"] == DIR_PK).keys
        projects = sorted({key.project_id for key in keys.values() if key.project_id})
        found = batch_get(
            self.table, [{"pk": DIR_PK, "sk": _PROJECT.prefix + project} for project in projects]
        )
        return mappings, Directory(keys=keys, projects=_directory_from_items(found).projects), generations

    def generations(self) -> tuple[int, int] | None:
        """(DIR generation, MAP generation): both move with every write made through this class, so
        names read after an unchanged pair are still true (one small GetItem); None before anything
        recorded them (a table written by older code), when only reading again tells."""
        return _generations(snapshot.head(self.table))

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

        Reads every DIR item (from the snapshot when it is trusted, else with one paginated Query),
        then writes only items that differ and deletes projects and users that vanished. A key that
        vanished is kept as a tombstone (`deleted_at`, written once, with `now`) because its usage
        history still needs its name; keys of the projects in `keep_keys_of` (whose key list could
        not be read) are left as they are.

        Then the snapshot that readers read instead of the items is written (unless it was trusted
        and nothing changed), the items first and the snapshot last, each step guarded by the
        generation read before the items (chalicelib.store.directory_snapshot); the snapshot's items
        are not counted.
        """
        written = chain(map(_KEY.item, keys), map(_PROJECT.item, projects), map(_USER.item, users))
        wanted: dict[str, Item] = {item["sk"]: item for item in written}

        # the head before the items, whose reading it guards; a trusted snapshot is the items
        before, stored_snapshot = snapshot.read_with_head(self.table, consistent=True)
        if stored_snapshot is not None:
            existing = _items_of(stored_snapshot)
        else:
            existing = {_str(item, "sk"): dict(item) for item in self._query(DIR_PK, consistent=True)}
        puts: list[Item] = [item for sk, item in wanted.items() if existing.get(sk) != item]
        deletes: list[str] = []
        for sk, item in existing.items():
            if sk in wanted:
                continue
            if not sk.startswith(_KEY.prefix):
                deletes.append(sk)
            elif _str(item, "project_id") in keep_keys_of or item.get("deleted_at") is not None:
                continue
            elif now is None:
                deletes.append(sk)
            else:
                puts.append({**item, "deleted_at": now})
        generation: int | None = before.dir_gen
        if puts or deletes:
            generation = snapshot.bump_dir(self.table, generation)
            _wrote()
            batch_write(self.table, puts, [{"pk": DIR_PK, "sk": sk} for sk in deletes])
            _wrote()
            generation = snapshot.bump_dir(self.table, generation)
        true_already = stored_snapshot is not None and not puts and not deletes
        if generation is not None and not true_already:  # None: another writer interleaved
            gone = set(deletes)
            stored = {sk: item for sk, item in existing.items() if sk not in gone}
            stored.update((item["sk"], item) for item in puts)
            raw = snapshot.encode(_directory_from_items(stored.values()))
            snapshot.write(self.table, raw, generation, before)
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
        return [_UNMAPPED.record(item) for item in self._query(UNMAPPED_PK)]

    def clear_unmapped(self, key_ids: Iterable[str]) -> None:
        """Forget the unmapped entries of keys that now have a name (absent ones are no-ops)."""
        unique = sorted(set(key_ids))
        if len(unique) == 1:
            self.table.delete_item(Key={"pk": UNMAPPED_PK, "sk": unique[0]})
        elif unique:
            batch_write(self.table, [], [{"pk": UNMAPPED_PK, "sk": key_id} for key_id in unique])

    # -- identities --------------------------------------------------------------------------
    def identities(self) -> dict[str, KeyIdentity]:
        """Every key with a mapping or a directory entry, resolved (MAP and the directory: two Queries)."""
        return build_identities(self.list_mappings(), self.directory())


__all__ = [
    "DIR_PK",
    "MAP_PK",
    "UNMAPPED_PK",
    "DirectoryStore",
    "identity_writes",
    "mapping_from_item",
    "mapping_item",
]
