"""The directory sync: OpenAI's projects, API keys and users -> the stored directory.

`sync_directory` reads every project (archived included), each project's API keys and every user from
OpenAI, and makes the stored directory equal to it (writing only what changed). `needs_sync` tells the
collector when to call it. Text from OpenAI is made safe once, here where it enters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import OpenAIRequestError
from chalicelib.keys.model import DirectoryKey, DirectoryProject, DirectoryUser, KeyIdentity, OwnerType
from chalicelib.keys.resolve import redact, unknown_key_ids
from chalicelib.keys.validate import MAX_NAME_LENGTH
from chalicelib.observability import logger
from chalicelib.openai_api import OpenAIAdminClient
from chalicelib.store.directory import DirectoryStore
from chalicelib.validation import safe_text

DEFAULT_SYNC_MAX_AGE_HOURS = 6
DEFAULT_UNKNOWN_RETRY_SECONDS = 3600

Json = dict[str, Any]


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
        redacted_value=redact(
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
    "DirectorySyncReport",
    "key_from_json",
    "needs_sync",
    "project_from_json",
    "sync_directory",
    "user_from_json",
]
