"""Pure name resolution of key ids: no table, no network.

Every display name of a key is resolved here: a manual name, owner or team always wins over the
synced one; the directory's owner (user name or e-mail, or service account name) is the default
owner; an id known nowhere shows as itself and is "unmapped"; usage without a key is "unattributed".
A raw API key is named by the one directory key whose redacted value fits it, without keeping it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.errors import InvalidInput
from chalicelib.keys.model import UNATTRIBUTED_NAME, Directory, DirectoryKey, KeyIdentity, KeyMapping

# A redacted value shows a prefix and a suffix around an elision: "sk-abc...def", "sk-…def", "sk-ab***yz".
_ELISION = re.compile(r"\.{2,}|…|\*+")
_SHORT_VALUE = 12  # a "redaction" this short that shows no elision is cut to "..." whole


def _identity(
    key_id: str, mapping: KeyMapping | None, synced: DirectoryKey | None, directory: Directory
) -> KeyIdentity:
    # layered: what the directory says, then every field a person set on top of it
    identity = KeyIdentity(key_id, key_id)
    if synced is not None:
        project = directory.projects.get(synced.project_id) if synced.project_id else None
        identity = replace(
            identity,
            name=synced.name or key_id,
            owner=synced.owner_name or synced.owner_email or None,
            project_id=synced.project_id,
            project_name=project.name if project else None,
            owner_email=synced.owner_email,
            redacted_value=synced.redacted_value,
            active=synced.deleted_at is None,
            source="directory",
            mapped=True,
        )
    if mapping is not None:
        identity = replace(
            identity,
            name=mapping.name,
            owner=mapping.owner or identity.owner,
            team=mapping.team,
            description=mapping.description,
            budget=mapping.budget,
            active=mapping.active,
            source="mapping",
            mapped=True,
        )
    return identity


def build_identities(mappings: Iterable[KeyMapping], directory: Directory) -> dict[str, KeyIdentity]:
    """Resolve every key with a mapping or a directory entry; a manual field always wins."""
    by_id = {mapping.key_id: mapping for mapping in mappings}
    return {
        key_id: _identity(key_id, by_id.get(key_id), directory.keys.get(key_id), directory)
        for key_id in sorted(by_id.keys() | directory.keys.keys())
    }


def resolve(key_id: str | None, identities: Mapping[str, KeyIdentity]) -> KeyIdentity:
    """The identity of any key id: known ones from `identities`, a null id as "unattributed",
    anything else as itself, unmapped."""
    if key_id is None or key_id == UNATTRIBUTED:
        return KeyIdentity(UNATTRIBUTED, UNATTRIBUTED_NAME)
    known = identities.get(key_id)
    return known if known is not None else KeyIdentity(key_id, key_id)


def unknown_key_ids(key_ids: Iterable[str | None], identities: Mapping[str, KeyIdentity]) -> list[str]:
    """The key ids (sorted, unique) that neither a mapping nor the directory names; never
    "unattributed", which is not a key."""
    return sorted({k for k in key_ids if k and k != UNATTRIBUTED and k not in identities})


# -- raw keys --------------------------------------------------------------------------------
def redacted_parts(redacted_value: str) -> tuple[str, str] | None:
    """The visible prefix and suffix of a redacted key, or None if it shows no elision."""
    match = _ELISION.search(redacted_value)
    if match is None:
        return None
    return redacted_value[: match.start()], redacted_value[match.end() :]


def redact(value: str) -> str:
    """Keep a redacted value as it is; cut anything that looks whole down to a redaction."""
    if not value or redacted_parts(value) is not None:
        return value
    if len(value) <= _SHORT_VALUE:
        return "..."
    return f"{value[:6]}...{value[-4:]}"


def _fits(raw_key: str, key: DirectoryKey) -> bool:
    parts = redacted_parts(key.redacted_value)
    if parts is None or parts == ("", ""):
        return False
    prefix, suffix = parts
    return (
        len(raw_key) > len(prefix) + len(suffix) and raw_key.startswith(prefix) and raw_key.endswith(suffix)
    )


def match_raw_key(raw_key: str, keys: Iterable[DirectoryKey]) -> DirectoryKey:
    """The one directory key whose redacted value fits `raw_key` (prefix and suffix).

    Raises InvalidInput("api_key", ...) when none or several fit; messages never include the raw key.
    """
    candidates = [key for key in keys if _fits(raw_key, key)]
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


__all__ = ["build_identities", "match_raw_key", "redact", "redacted_parts", "resolve", "unknown_key_ids"]
