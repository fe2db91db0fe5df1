"""Viewer and admin tokens: creating them, and deciding whether a request may proceed.

- A token is `out_` + 43 URL-safe characters (256 random bits). It is shown once, when created, and
  stored only as its SHA-256 (chalicelib.store.tokens); a request's token is hashed and looked up by
  that hash, and the stored hash is compared again with `hmac.compare_digest`.
- Roles: `viewer` may read, `admin` may read and write. `required_role(path, method)` is the one rule:
  `/api/health` is public, GET needs a viewer (`/api/tokens` an admin), every other method an admin.
  With the stage setting OPEN_READ_ROUTES (for private networks) reads need no token; writes always do.
- Lookups are cached per process for `CACHE_SECONDS`, unknown tokens included (so a client retrying
  a bad token does not cost a read per request). A revocation therefore reaches other warm Lambda
  containers within that time; `forget()` empties this process's cache at once.

`Unauthorized` (-> 401) and `Forbidden` (-> 403) carry messages safe to show: never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Literal

from chalicelib.errors import Forbidden, InvalidInput, Unauthorized
from chalicelib.store.tokens import ROLES, Role, StoredToken, TokenStore
from chalicelib.ttl_cache import TTLCache

TOKEN_PREFIX = "out_"  # noqa: S105 - a prefix, not a secret
CACHE_SECONDS = 30
CACHE_MAX_ENTRIES = 1024
PUBLIC_PATHS = frozenset({"/api/health"})
# Reads that are admin business: the token list names who has access.
ADMIN_READ_PATHS = frozenset({"/api/tokens"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BEARER = re.compile(r"Bearer[ \t]+([A-Za-z0-9_\-]{1,200})[ \t]*", re.IGNORECASE)
_RANK: dict[Role, int] = {"viewer": 1, "admin": 2}

Requirement = Literal["public", "viewer", "admin"]


def hash_token(token: str) -> str:
    """The SHA-256 (hex) a token is stored under."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def validate_role(value: str) -> Role:
    """A role name, or InvalidInput naming `role`."""
    for role in ROLES:
        if value == role:
            return role
    raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")


def create_token(store: TokenStore, role: Role, name: str, now: int) -> tuple[str, StoredToken]:
    """Make and store a token; returns (the token, shown once; what is stored)."""
    token = new_token()
    stored = StoredToken(token_hash=hash_token(token), role=role, name=name, created_at=now)
    store.add(stored)
    return token, stored


def required_role(path: str, method: str) -> Requirement:
    """What a route needs: public health, viewer for reads, admin for writes."""
    if path in PUBLIC_PATHS:
        return "public"
    if path in ADMIN_READ_PATHS:
        return "admin"
    return "viewer" if method.upper() in READ_METHODS else "admin"


# Unknown and revoked tokens are cached too, as UNKNOWN (a cached None would read as a miss).
UNKNOWN: Literal["unknown"] = "unknown"
_cache: TTLCache[str, Role | Literal["unknown"]] = TTLCache(CACHE_SECONDS, CACHE_MAX_ENTRIES)


def forget() -> None:
    """Empty this process's token cache (after a revocation; tests)."""
    _cache.clear()


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (Unauthorized otherwise)."""
    if not header or not header.strip():
        raise Unauthorized("an Authorization: Bearer <token> header is required")
    match = _BEARER.fullmatch(header.strip())
    if match is None:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return match.group(1)


def role_of(token: str, store: TokenStore, clock: float | None = None) -> Role | None:
    """The role of a valid token, None for unknown or revoked ones (cached for CACHE_SECONDS)."""
    now = time.monotonic() if clock is None else clock
    token_hash = hash_token(token)
    cached = _cache.get(token_hash, now)
    if cached is not None:
        return None if cached == UNKNOWN else cached
    stored = store.get(token_hash)
    role: Role | None = None
    if stored is not None and stored.active and hmac.compare_digest(stored.token_hash, token_hash):
        role = stored.role
    _cache.put(token_hash, role or UNKNOWN, now)
    return role


def authorize(
    header: str | None, requirement: Requirement, *, open_reads: bool, store: TokenStore | None = None
) -> Role | None:
    """Check a request's Authorization header against what its route needs; returns the caller's role
    (None for public or open routes without a token). Raises Unauthorized or Forbidden."""
    if requirement == "public" or (requirement == "viewer" and open_reads):
        return None
    token = bearer_token(header)
    role = role_of(token, store or TokenStore())
    if role is None:
        raise Unauthorized("the token is unknown or has been revoked")
    if _RANK[role] < _RANK[requirement]:
        raise Forbidden(f"this needs an {requirement} token; yours is a {role} token")
    return role
