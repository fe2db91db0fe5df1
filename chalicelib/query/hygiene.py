"""`/api/hygiene` and the CLI's `hygiene`: the key hygiene findings of now (chalicelib.hygiene).

Reads the mappings, the synced directory and the unmapped keys, and takes every key's 30-day spend
from `/api/keys`' own computation (chalicelib.query.keys, per chalicelib.money), so that the dollars
of a finding are the dollars the Keys view shows for the same key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib import hygiene
from chalicelib.periods import iso
from chalicelib.query.keys import list_keys
from chalicelib.query.usage import Stores
from chalicelib.settings import Settings, get_settings
from chalicelib.validation import Params, normalize


def thresholds(settings: Settings | None = None) -> hygiene.Thresholds:
    """The stage's hygiene thresholds."""
    settings = settings or get_settings()
    return hygiene.Thresholds(settings.hygiene_unused_days, settings.hygiene_rotation_days)


def findings(now: int, *, stores: Stores | None = None) -> list[hygiene.KeyFindings]:
    """Every key with a hygiene finding now, biggest 30-day spender first."""
    stores = stores or Stores.default()
    keys = list_keys({}, now, stores=stores)["data"]
    spend = {
        str(entry["key_id"]): hygiene.Spend(
            Decimal(str(entry["usage_30d"]["cost_usd"])), int(entry["usage_30d"]["total_tokens"])
        )
        for entry in keys
    }
    unnamed = [str(entry["key_id"]) for entry in keys if entry["source"] == "unmapped"]
    return hygiene.find(
        stores.directory.directory(),
        stores.directory.list_mappings(),
        spend,
        now,
        thresholds(),
        unnamed_key_ids=unnamed,
    )


def hygiene_report(params: Params, now: int, *, stores: Stores | None = None) -> dict[str, Any]:
    """`GET /api/hygiene` (no parameters): `{"as_of", "thresholds", "counts", "data": [HygieneKey]}`."""
    normalize(params, ())
    found = findings(now, stores=stores)
    limits = thresholds()
    return {
        "as_of": iso(now),
        "thresholds": {"unused_days": limits.unused_days, "rotation_days": limits.rotation_days},
        "counts": hygiene.counts(found),
        "data": [item.as_json() for item in found],
    }
