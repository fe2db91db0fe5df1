"""What usage is grouped by: the one home of the grouping vocabulary and of the "unattributed" member.

    Dimension   what a question groups by (`group_by` of /api/usage, /api/export and the CLI)
    Base        what a stored aggregate is keyed by (`<dim>` of AD#<dim>, AH#<dim>: chalicelib.store.rollups)
    BASE_OF     the stored aggregate each grouping is read from: owner and team are the keys' owners and
                teams, a pool is a set of models
    UNATTRIBUTED  the member of usage that carries no key, model or project (OpenAI's null group)

Imports nothing from chalicelib, so that the store, the query layer and the catalog can all use it.
"""

from __future__ import annotations

from typing import Literal, get_args

Dimension = Literal["api_key_id", "model", "project_id", "pool", "owner", "team"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)

Base = Literal["key", "model", "project"]
BASES: tuple[Base, ...] = get_args(Base)

BASE_OF: dict[Dimension, Base] = {
    "api_key_id": "key",
    "owner": "key",
    "team": "key",
    "model": "model",
    "pool": "model",
    "project_id": "project",
}

UNATTRIBUTED = "unattributed"

__all__ = ["BASES", "BASE_OF", "DIMENSIONS", "UNATTRIBUTED", "Base", "Dimension"]
