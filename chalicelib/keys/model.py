"""The records of key identities: what a person said, what OpenAI lists, and what is shown.

Frozen dataclasses only, no behaviour. chalicelib.store.directory derives its codec from these fields,
so a field added here is stored and read back without touching the store (its type must be one the
codec knows: str, int, bool, Budget, or a Literal of strings, each optionally None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, get_args

BudgetPeriod = Literal["daily", "monthly"]
BudgetUnit = Literal["tokens", "usd"]
OwnerType = Literal["user", "service_account"]
IdentitySource = Literal["mapping", "directory", "unmapped"]

BUDGET_PERIODS: tuple[str, ...] = get_args(BudgetPeriod)
BUDGET_UNITS: tuple[str, ...] = get_args(BudgetUnit)

UNATTRIBUTED_NAME = "Unattributed (no API key)"


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

    `mapped` is False only for source "unmapped": the key has a name from somewhere. The defaults
    are an id known nowhere (chalicelib.keys.resolve layers the directory and the mapping on it).
    """

    key_id: str
    name: str
    owner: str | None = None
    team: str | None = None
    project_id: str | None = None
    description: str | None = None
    budget: Budget | None = None
    active: bool = True
    source: IdentitySource = "unmapped"
    mapped: bool = False
    project_name: str | None = None
    owner_email: str | None = None
    redacted_value: str | None = None


__all__ = [
    "BUDGET_PERIODS",
    "BUDGET_UNITS",
    "UNATTRIBUTED_NAME",
    "Budget",
    "BudgetPeriod",
    "BudgetUnit",
    "Directory",
    "DirectoryKey",
    "DirectoryProject",
    "DirectoryUser",
    "IdentitySource",
    "KeyIdentity",
    "KeyMapping",
    "OwnerType",
    "UnmappedKey",
]
