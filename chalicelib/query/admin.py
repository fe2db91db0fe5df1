"""The dashboard's admin routes: who the caller is, viewer tokens, and importing a mappings file.

whoami            `GET /api/whoami`: the caller's role, so the page learns it from the API (viewer
                  shows the read-only page, admin the editing controls); `null` on open read routes
                  without a token. Never the token or its id.
tokens            `GET/POST /api/tokens`, `DELETE /api/tokens/{id}` (admin): list, create (the token
                  is in the answer once, only its hash is stored) and revoke. The API creates viewer
                  tokens only: an admin token grants writes and stays a CLI decision.
mappings import   `POST /api/mappings/import` (admin): the body is the file, `{"key_...": "Name"}` or
                  an `export-mappings --full` document, validated whole before anything is written
                  (chalicelib.cli.mappings owns the format; this is its HTTP door).

The CLI modules these borrow (the token's JSON, the mappings file's format) are imported by the
functions that use them: `whoami`, on every dashboard load, loads none of the CLI.
"""

from __future__ import annotations

from typing import Any

from chalicelib import auth
from chalicelib.errors import InvalidInput
from chalicelib.keys.validate import validate_name
from chalicelib.store.directory import DirectoryStore
from chalicelib.store.tokens import TokenStore
from chalicelib.validation import known_fields

TOKEN_FIELDS = ("name", "role")


def whoami(authorization: str | None, *, open_reads: bool) -> dict[str, Any]:
    """`GET /api/whoami`: {role, can_edit}. The middleware has let the request through already; this
    asks the same question again (from auth's cache) to say which role the token has."""
    role = None
    if (authorization or "").strip() or not open_reads:
        role = auth.authorize(authorization, "viewer", open_reads=False)
    return {"role": role, "can_edit": role == "admin"}


def list_tokens(store: TokenStore | None = None) -> dict[str, Any]:
    """Every token, oldest first (ids, roles, names, dates; never a token or hash)."""
    from chalicelib.cli.tokens import token_json  # noqa: PLC0415 - see the module docstring

    return {"data": [token_json(token) for token in (store or TokenStore()).all()]}


def create_viewer_token(body: dict[str, Any], now: int, store: TokenStore | None = None) -> dict[str, Any]:
    """A new viewer token for `name`; the answer is the only place the token ever appears."""
    from chalicelib.cli.tokens import token_json  # noqa: PLC0415 - see the module docstring

    known_fields(body, TOKEN_FIELDS)
    role = body.get("role", "viewer")
    if role != "viewer":
        raise InvalidInput("role", "the API creates viewer tokens only; make admin tokens with the CLI")
    name = validate_name(body.get("name"))
    token, stored = auth.create_token(store or TokenStore(), "viewer", name, now)
    return {"token": token, **token_json(stored)}


def revoke_token(token_id: str, now: int, store: TokenStore | None = None) -> dict[str, Any]:
    """Revoke a token by its id; this process forgets it at once, others within auth.CACHE_SECONDS."""
    from chalicelib.cli.tokens import token_json  # noqa: PLC0415 - see the module docstring

    revoked = (store or TokenStore()).revoke(token_id, now)
    auth.forget()
    return {"revoked": token_json(revoked)}


def import_mappings(
    document: dict[str, Any], now: int, store: DirectoryStore | None = None
) -> dict[str, Any]:
    """Validate the whole file, then write only what differs from the store."""
    from chalicelib.cli.mappings import parse_document, plan_import  # noqa: PLC0415 - see the module docstring

    try:
        full, incoming = parse_document(document, now)
    except InvalidInput as exc:
        raise InvalidInput("body", exc.message) from exc
    directory = store or DirectoryStore()
    plan = plan_import({m.key_id: m for m in directory.list_mappings()}, incoming, full, now)
    directory.put_mappings(plan.writes)
    return {
        "format": "full" if full else "legacy",
        "entries": len(incoming),
        "added": len(plan.added),
        "updated": len(plan.updated),
        "unchanged": len(plan.unchanged),
        "added_ids": [m.key_id for m in plan.added],
        "updated_ids": [m.key_id for m in plan.updated],
    }
