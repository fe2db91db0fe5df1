"""`tokens`: the dashboard/API tokens (chalicelib.auth).

tokens create --role viewer|admin --name NAME   prints the new token ONCE; only its hash is kept
tokens list                                     id, role, name, created, revoked
tokens revoke ID                                the token stops working (within 30 s everywhere)
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from chalicelib import auth
from chalicelib.cli.common import add_command, emit
from chalicelib.cli.keys import text_table
from chalicelib.errors import InvalidInput
from chalicelib.keys.validate import validate_name
from chalicelib.periods import iso
from chalicelib.query import clock
from chalicelib.store.tokens import ROLES, StoredToken, TokenStore

if TYPE_CHECKING:
    from chalicelib.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add `tokens create|list|revoke`."""
    tokens = add_command(subparsers, "tokens", summary="dashboard/API tokens", handler=_without_action)
    actions = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    create = add_command(actions, "create", summary="create a token (printed once)", handler=run_create)
    create.add_argument("--role", required=True, choices=ROLES, help="viewer reads; admin also edits keys")
    create.add_argument("--name", required=True, help="who or what uses it")
    add_command(actions, "list", summary="list tokens (never the tokens themselves)", handler=run_list)
    revoke = add_command(actions, "revoke", summary="revoke a token by its id", handler=run_revoke)
    revoke.add_argument("id", metavar="ID", help="the id `tokens list` shows")


def _without_action(args: argparse.Namespace) -> int:
    """Never reached: argparse requires an action."""
    raise InvalidInput("ACTION", "choose create, list or revoke")


def token_json(token: StoredToken) -> dict[str, Any]:
    """A stored token as JSON: id, role, name, dates (never the hash)."""
    return {
        "id": token.id,
        "role": token.role,
        "name": token.name,
        "created_at": iso(token.created_at),
        "revoked_at": iso(token.revoked_at) if token.revoked_at else None,
        "active": token.active,
    }


def run_create(args: argparse.Namespace) -> int:
    """Create a token and print it once."""
    name = validate_name(args.name)
    token, stored = auth.create_token(TokenStore(), auth.validate_role(args.role), name, clock.now())
    emit(
        args,
        {"token": token, **token_json(stored)},
        [
            f"created {stored.role} token {stored.id} for {name!r}:",
            "",
            f"    {token}",
            "",
            "it is shown only now: only its SHA-256 is stored. Send it as 'Authorization: Bearer <token>'.",
        ],
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print every token's id, role, name and dates."""
    tokens = TokenStore().all()
    rows = [
        [t.id, t.role, t.name, iso(t.created_at), iso(t.revoked_at) if t.revoked_at else "-"] for t in tokens
    ]
    lines = text_table(["ID", "ROLE", "NAME", "CREATED", "REVOKED"], rows) if rows else ["no tokens yet"]
    emit(args, {"tokens": [token_json(token) for token in tokens]}, lines)
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke one token."""
    token = TokenStore().revoke(args.id, clock.now())
    auth.forget()
    emit(
        args,
        {"revoked": token_json(token)},
        [f"revoked {token.role} token {token.id} ({token.name!r}); other running APIs forget it within 30 s"],
    )
    return 0
