"""Key hygiene (rotation), pure: which keys of the synced directory need a person's attention.

The rules, each a finding code on a key:

    unused                 a live key not used for `unused_days` (never used: created that long ago)
    rotation_due           a live key created more than `rotation_days` ago
    owner_departed         a live key owned by a user who is no longer in the organization's user list
    service_account_gone   a live key owned by a service account whose project is archived or no longer
                           listed: a service account lives and dies with its project
    unowned                a key with no mapping and no owner: a live directory key without an owner,
                           or a key id seen in usage that neither a mapping nor the directory names

Keys OpenAI no longer lists (our tombstones, `deleted_at`) are gone and need nothing. Each finding
carries the key's 30-day spend, handed in by the caller (chalicelib.query.hygiene takes it from the
same money rule as `/api/keys`); nothing here reads the table or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from chalicelib.dimensions import UNATTRIBUTED
from chalicelib.keys.model import Directory, DirectoryKey, KeyMapping
from chalicelib.periods import DAY, iso

FindingCode = Literal["unused", "rotation_due", "owner_departed", "service_account_gone", "unowned"]
FINDING_CODES: tuple[FindingCode, ...] = (
    "unused",
    "rotation_due",
    "owner_departed",
    "service_account_gone",
    "unowned",
)


@dataclass(frozen=True)
class Spend:
    """A key's spend over the last 30 days: dollars per chalicelib.money, and tokens."""

    cost_usd: Decimal = Decimal(0)
    total_tokens: int = 0


@dataclass(frozen=True)
class Thresholds:
    """The ages that make a key a finding (settings HYGIENE_UNUSED_DAYS, HYGIENE_ROTATION_DAYS)."""

    unused_days: int = 30
    rotation_days: int = 90


@dataclass(frozen=True)
class KeyFindings:
    """One key that needs attention, with why and what it spent."""

    key_id: str
    name: str
    owner: str | None
    team: str | None
    project_id: str | None
    project_name: str | None
    created_at: int | None
    last_used_at: int | None
    findings: tuple[FindingCode, ...]
    spend: Spend = field(default_factory=Spend)

    def as_json(self) -> dict[str, Any]:
        """The contract's HygieneKey object (dollars as a decimal string)."""
        return {
            "key_id": self.key_id,
            "name": self.name,
            "owner": self.owner,
            "team": self.team,
            "project_id": self.project_id,
            "project_name": self.project_name,
            "created_at": iso(self.created_at) if self.created_at is not None else None,
            "last_used_at": iso(self.last_used_at) if self.last_used_at is not None else None,
            "findings": list(self.findings),
            "spend_30d": {
                "cost_usd": format(self.spend.cost_usd, "f"),
                "total_tokens": self.spend.total_tokens,
            },
        }


def _key_findings(
    key: DirectoryKey, mapping: KeyMapping | None, directory: Directory, now: int, limits: Thresholds
) -> list[FindingCode]:
    found: list[FindingCode] = []
    last_activity = key.last_used_at if key.last_used_at is not None else key.created_at
    if last_activity is not None and now - last_activity >= limits.unused_days * DAY:
        found.append("unused")
    if key.created_at is not None and now - key.created_at >= limits.rotation_days * DAY:
        found.append("rotation_due")
    if key.owner_type == "user" and key.owner_id and key.owner_id not in directory.users:
        found.append("owner_departed")
    if key.owner_type == "service_account":
        project = directory.projects.get(key.project_id)
        if project is None or project.archived_at is not None or project.status == "archived":
            found.append("service_account_gone")
    owner = (mapping.owner if mapping else None) or key.owner_name or key.owner_email
    if mapping is None and not owner and key.owner_type is None:
        found.append("unowned")
    return found


def find(
    directory: Directory,
    mappings: Iterable[KeyMapping],
    spend: Mapping[str, Spend],
    now: int,
    limits: Thresholds,
    *,
    unnamed_key_ids: Iterable[str] = (),
) -> list[KeyFindings]:
    """Every key with at least one finding, the biggest 30-day spender first (then by key id).

    `unnamed_key_ids`: ids seen in usage (or recorded as unmapped) that may be named nowhere; those
    that neither a mapping nor the directory knows are `unowned`.
    """
    by_id = {mapping.key_id: mapping for mapping in mappings}
    out: list[KeyFindings] = []
    for key in directory.keys.values():
        if key.deleted_at is not None:
            continue
        mapping = by_id.get(key.key_id)
        codes = _key_findings(key, mapping, directory, now, limits)
        if not codes:
            continue
        project = directory.projects.get(key.project_id)
        out.append(
            KeyFindings(
                key_id=key.key_id,
                name=(mapping.name if mapping else None) or key.name or key.key_id,
                owner=(mapping.owner if mapping else None) or key.owner_name or key.owner_email,
                team=mapping.team if mapping else None,
                project_id=key.project_id,
                project_name=project.name if project else None,
                created_at=key.created_at,
                last_used_at=key.last_used_at,
                findings=tuple(codes),
                spend=spend.get(key.key_id, Spend()),
            )
        )
    for key_id in sorted(set(unnamed_key_ids)):
        if key_id == UNATTRIBUTED or key_id in by_id or key_id in directory.keys:
            continue
        out.append(
            KeyFindings(
                key_id=key_id,
                name=key_id,
                owner=None,
                team=None,
                project_id=None,
                project_name=None,
                created_at=None,
                last_used_at=None,
                findings=("unowned",),
                spend=spend.get(key_id, Spend()),
            )
        )
    return sorted(out, key=lambda item: (-item.spend.cost_usd, item.key_id))


def counts(findings: Iterable[KeyFindings]) -> dict[str, int]:
    """How many keys carry each finding code (every code present, zero or not)."""
    tally: dict[str, int] = dict.fromkeys(FINDING_CODES, 0)
    for item in findings:
        for code in item.findings:
            tally[code] += 1
    return tally
