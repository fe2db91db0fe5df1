"""Key identities: the OpenAI directory sync, and the rules for what a person may say about a key.

`sync_directory` reads every project (archived included), each project's API keys and every user from
OpenAI, and makes the stored directory equal to it (writing only what changed). `needs_sync` tells the
collector when to call it. The validators here are shared by the CLI and the API, and the raw-key
helpers find a key's id from its redacted value without ever keeping or showing the raw key.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from chalicelib.errors import InvalidInput, OpenAIRequestError
from chalicelib.observability import logger
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.store.directory import (
    BUDGET_PERIODS,
    BUDGET_UNITS,
    Budget,
    BudgetPeriod,
    BudgetUnit,
    DirectoryKey,
    DirectoryProject,
    DirectoryStore,
    DirectoryUser,
    KeyIdentity,
    KeyMapping,
    OwnerType,
    unknown_key_ids,
)
from chalicelib.store.rollups import UNATTRIBUTED
from chalicelib.validation import bounded_decimal, clean_text, safe_text

DEFAULT_SYNC_MAX_AGE_HOURS = 6
DEFAULT_UNKNOWN_RETRY_SECONDS = 3600
MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = 1000
MAX_BUDGET = Decimal(10) ** 15
BUDGET_DECIMALS = 6
KEY_ID_PATTERN = re.compile(r"^key_[A-Za-z0-9]+$")
# A redacted value shows a prefix and a suffix around an elision: "sk-abc...def", "sk-…def", "sk-ab***yz".
_ELISION = re.compile(r"\.{2,}|…|\*+")
_MIN_RAW_KEY_LENGTH = 20

Json = dict[str, Any]


# -- validation ------------------------------------------------------------------------------
def validate_key_id(value: Any, param: str = "key_id") -> str:
    """A key id as OpenAI writes it: `key_` followed by letters and digits."""
    if not isinstance(value, str) or not KEY_ID_PATTERN.fullmatch(value.strip()):
        raise InvalidInput(param, "must be a key id: 'key_' followed by letters and digits")
    return value.strip()


def validate_name(value: Any, param: str = "name") -> str:
    """A display name: non-empty after trimming, at most 200 characters, one line of valid text
    (chalicelib.validation.clean_text: no control, bidi-override or invalid Unicode characters)."""
    return cast(str, clean_text(value, param, MAX_NAME_LENGTH))


def validate_optional_text(value: Any, param: str, max_length: int = MAX_NAME_LENGTH) -> str | None:
    """An optional field: None or blank means unset; otherwise valid text, trimmed and bounded."""
    return clean_text(value, param, max_length, required=False)


def parse_budget(amount: Any, unit: Any = "tokens", period: Any = "monthly") -> Budget:
    """A budget from user input: a positive amount within `MAX_BUDGET` (tokens whole, dollars with at
    most `BUDGET_DECIMALS` decimals), a known unit and period."""
    if unit not in BUDGET_UNITS:
        raise InvalidInput("budget_unit", f"must be one of {', '.join(BUDGET_UNITS)}")
    if period not in BUDGET_PERIODS:
        raise InvalidInput("budget_period", f"must be one of {', '.join(BUDGET_PERIODS)}")
    value = bounded_decimal(
        amount, "budget", maximum=MAX_BUDGET, decimals=BUDGET_DECIMALS, integral=unit == "tokens"
    )
    budget_unit: BudgetUnit = "usd" if unit == "usd" else "tokens"
    budget_period: BudgetPeriod = "daily" if period == "daily" else "monthly"
    return Budget(budget_period, budget_unit, value if unit == "usd" else value.to_integral_value())


def validate_raw_key(value: Any, param: str = "api_key") -> str:
    """A raw OpenAI API key (`sk-...`). Error messages never repeat it."""
    if not isinstance(value, str) or not value.strip().startswith("sk-"):
        raise InvalidInput(param, "must be an OpenAI API key starting with 'sk-'")
    raw = value.strip()
    if len(raw) < _MIN_RAW_KEY_LENGTH or any(ch.isspace() for ch in raw):
        raise InvalidInput(param, "does not look like a whole API key")
    return raw


def new_mapping(
    key_id: Any,
    name: Any,
    now: int,
    *,
    owner: Any = None,
    team: Any = None,
    description: Any = None,
    budget: Budget | None = None,
    active: bool = True,
    api_key_sha256: str | None = None,
    api_key_last4: str | None = None,
) -> KeyMapping:
    """A validated mapping created at `now`."""
    return KeyMapping(
        key_id=validate_key_id(key_id),
        name=validate_name(name),
        owner=validate_optional_text(owner, "owner"),
        team=validate_optional_text(team, "team"),
        description=validate_optional_text(description, "description", MAX_TEXT_LENGTH),
        budget=budget,
        active=active,
        api_key_sha256=api_key_sha256,
        api_key_last4=api_key_last4,
        created_at=now,
        updated_at=now,
    )


# -- raw keys --------------------------------------------------------------------------------
def fingerprint(raw_key: str) -> tuple[str, str]:
    """What we keep of a raw key: its SHA-256 (hex) and its last four characters."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest(), raw_key[-4:]


def redacted_parts(redacted_value: str) -> tuple[str, str] | None:
    """The visible prefix and suffix of a redacted key, or None if it shows no elision."""
    match = _ELISION.search(redacted_value)
    if match is None:
        return None
    return redacted_value[: match.start()], redacted_value[match.end() :]


def _redact(value: str) -> str:
    """Keep a redacted value as it is; cut anything that looks whole down to a redaction."""
    if not value or redacted_parts(value) is not None:
        return value
    if len(value) <= 12:
        return "..."
    return f"{value[:6]}...{value[-4:]}"


def match_raw_key(raw_key: str, keys: Iterable[DirectoryKey]) -> DirectoryKey:
    """The one directory key whose redacted value fits `raw_key` (prefix and suffix).

    Raises InvalidInput("api_key", ...) when none or several fit; messages never include the raw key.
    """
    candidates: list[DirectoryKey] = []
    for key in keys:
        parts = redacted_parts(key.redacted_value)
        if parts is None:
            continue
        prefix, suffix = parts
        if not prefix and not suffix:
            continue
        if (
            len(raw_key) > len(prefix) + len(suffix)
            and raw_key.startswith(prefix)
            and raw_key.endswith(suffix)
        ):
            candidates.append(key)
    live = [key for key in candidates if key.deleted_at is None]
    if len(live) == 1 or (not live and len(candidates) == 1):
        return live[0] if live else candidates[0]
    if not candidates:
        raise InvalidInput(
            "api_key",
            "no key in the synced directory matches this API key; run `directory sync` or pass --key-id",
        )
    listed = ", ".join(f"{key.key_id} ({key.name or 'unnamed'}, {key.redacted_value})" for key in candidates)
    raise InvalidInput("api_key", f"this API key matches several directory keys: {listed}; pass --key-id")


# -- the sync --------------------------------------------------------------------------------
@dataclass
class DirectorySyncReport:
    """What one sync read and wrote."""

    synced_at: int
    projects: int = 0
    keys: int = 0
    users: int = 0
    items_written: int = 0
    unmapped_cleared: list[str] = field(default_factory=list)
    projects_without_keys: list[str] = field(default_factory=list)
    api_calls: int = 0


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _dict(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _opt_str(value: Any, field_name: str = "text", item_id: Any = None) -> str | None:
    """A string from OpenAI's directory, made safe (chalicelib.validation.safe_text) once, here where
    it enters: a name OpenAI accepted may still hold control characters or invalid Unicode, and it
    must never break a read route or a terminal. A replacement is logged (ids only, not the text)."""
    if not isinstance(value, str) or not value:
        return None
    safe = safe_text(unicodedata.normalize("NFC", value).strip() or value, MAX_NAME_LENGTH)
    if safe != value.strip():
        logger.warning(
            "directory text replaced",
            extra={"field": field_name, "item_id": safe_text(str(item_id), 100), "length": len(value)},
        )
    return safe or None


def project_from_json(data: Json) -> DirectoryProject:
    """A project as OpenAI lists it."""
    archived_at = _opt_int(data.get("archived_at"))
    project_id = safe_text(str(data["id"]), MAX_NAME_LENGTH)
    status = _opt_str(data.get("status"), "project.status", project_id) or (
        "archived" if archived_at else "active"
    )
    name = _opt_str(data.get("name"), "project.name", project_id) or ""
    return DirectoryProject(id=project_id, name=name, status=status, archived_at=archived_at)


def user_from_json(data: Json) -> DirectoryUser:
    """A user as OpenAI lists it."""
    user_id = safe_text(str(data["id"]), MAX_NAME_LENGTH)
    return DirectoryUser(
        id=user_id,
        name=_opt_str(data.get("name"), "user.name", user_id) or "",
        email=_opt_str(data.get("email"), "user.email", user_id),
        role=_opt_str(data.get("role"), "user.role", user_id),
    )


def key_from_json(data: Json, project_id: str, users: Mapping[str, DirectoryUser]) -> DirectoryKey:
    """An API key as OpenAI lists it; the owner's name and e-mail fall back to the user list."""
    owner = _dict(data.get("owner"))
    owner_type_raw = owner.get("type")
    owner_type: OwnerType | None = None
    owner_id = owner_name = owner_email = None
    if owner_type_raw == "service_account":
        owner_type = "service_account"
        account = _dict(owner.get("service_account"))
        owner_id = _opt_str(account.get("id"), "service_account.id", data.get("id"))
        owner_name = _opt_str(account.get("name"), "service_account.name", owner_id)
    elif owner_type_raw == "user":
        owner_type = "user"
        person = _dict(owner.get("user"))
        owner_id = _opt_str(person.get("id"), "owner.id", data.get("id"))
        known = users.get(owner_id) if owner_id else None
        owner_name = _opt_str(person.get("name"), "owner.name", owner_id) or (
            known.name if known and known.name else None
        )
        owner_email = _opt_str(person.get("email"), "owner.email", owner_id) or (
            known.email if known else None
        )
    return DirectoryKey(
        key_id=safe_text(str(data["id"]), MAX_NAME_LENGTH),
        name=_opt_str(data.get("name"), "key.name", data.get("id")) or "",
        redacted_value=_redact(
            _opt_str(data.get("redacted_value"), "key.redacted_value", data.get("id")) or ""
        ),
        project_id=project_id,
        owner_type=owner_type,
        owner_id=owner_id,
        owner_name=owner_name,
        owner_email=owner_email,
        created_at=_opt_int(data.get("created_at")),
        last_used_at=_opt_int(data.get("last_used_at")),
    )


def sync_directory(client: OpenAIAdminClient, store: DirectoryStore, now: int) -> DirectorySyncReport:
    """Read projects (archived included), their keys and users from OpenAI; store what changed.

    A project whose key list OpenAI refuses with 404 (e.g. removed between the two calls) keeps
    its stored keys. Unmapped entries of keys the directory now names are cleared.
    """
    calls_before = client.stats.calls
    users = {user.id: user for user in (user_from_json(item) for item in client.users())}
    projects = [project_from_json(item) for item in client.projects()]
    keys: dict[str, DirectoryKey] = {}
    unreadable: list[str] = []
    for project in projects:
        try:
            for item in client.project_api_keys(project.id):
                key = key_from_json(item, project.id, users)
                keys[key.key_id] = key
        except OpenAIRequestError as exc:
            if exc.status != 404:
                raise
            unreadable.append(project.id)
    written = store.replace_directory(
        keys.values(), projects, users.values(), now=now, keep_keys_of=unreadable
    )
    known = {entry.key_id for entry in store.list_unmapped()} & keys.keys()
    store.clear_unmapped(known)
    return DirectorySyncReport(
        synced_at=now,
        projects=len(projects),
        keys=len(keys),
        users=len(users),
        items_written=written,
        unmapped_cleared=sorted(known),
        projects_without_keys=unreadable,
        api_calls=client.stats.calls - calls_before,
    )


def needs_sync(
    last_synced_at: int | None,
    now: int,
    seen_key_ids: Iterable[str | None],
    identities: Mapping[str, KeyIdentity],
    *,
    max_age_hours: int = DEFAULT_SYNC_MAX_AGE_HOURS,
    unknown_retry_seconds: int = DEFAULT_UNKNOWN_RETRY_SECONDS,
) -> bool:
    """Sync when never synced, when the last sync is `max_age_hours` old, or when usage shows a
    key id that neither the directory nor a mapping names ("unattributed" is not a key).

    An unknown id triggers at most one sync per `unknown_retry_seconds`: a key OpenAI no longer
    lists stays unknown after a sync, and must not make every run sync again.
    """
    if last_synced_at is None or now - last_synced_at >= max_age_hours * 3600:
        return True
    if now - last_synced_at < unknown_retry_seconds:
        return False
    return bool(unknown_key_ids(seen_key_ids, identities))


__all__ = [
    "DEFAULT_SYNC_MAX_AGE_HOURS",
    "DEFAULT_UNKNOWN_RETRY_SECONDS",
    "UNATTRIBUTED",
    "DirectorySyncReport",
    "fingerprint",
    "match_raw_key",
    "needs_sync",
    "new_mapping",
    "parse_budget",
    "redacted_parts",
    "sync_directory",
    "validate_key_id",
    "validate_name",
    "validate_optional_text",
    "validate_raw_key",
]
