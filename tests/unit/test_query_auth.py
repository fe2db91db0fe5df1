"""Tokens and roles without AWS: header parsing, the route rule, hashing, the cache."""

from __future__ import annotations

import pytest

from chalicelib import auth
from chalicelib.store.tokens import StoredToken


class FakeTokens:
    """A TokenStore stand-in that counts lookups."""

    def __init__(self, *tokens: StoredToken) -> None:
        self.tokens = {token.token_hash: token for token in tokens}
        self.lookups = 0

    def get(self, token_hash: str) -> StoredToken | None:
        self.lookups += 1
        return self.tokens.get(token_hash)


@pytest.fixture(autouse=True)
def _empty_cache():
    auth.forget()
    yield
    auth.forget()


def test_tokens_are_random_prefixed_and_stored_as_their_sha256():
    first, second = auth.new_token(), auth.new_token()

    assert first != second
    assert first.startswith("out_")
    assert len(auth.hash_token(first)) == 64
    assert auth.hash_token(first) != first


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/api/health", "GET", "public"),
        ("/api/usage", "GET", "viewer"),
        ("/api/keys", "GET", "viewer"),
        ("/api/keys", "POST", "admin"),
        ("/api/keys/{key_id}", "PATCH", "admin"),
        ("/api/keys/{key_id}", "DELETE", "admin"),
        ("/api/usage", "TRACE", "admin"),
        ("/api/alerts", "GET", "viewer"),
        ("/api/whoami", "GET", "viewer"),
        ("/api/tokens", "GET", "admin"),
        ("/api/tokens", "POST", "admin"),
        ("/api/tokens/{token_id}", "DELETE", "admin"),
        ("/api/mappings/import", "POST", "admin"),
    ],
)
def test_reads_need_a_viewer_and_everything_else_an_admin(path, method, expected):
    assert auth.required_role(path, method) == expected


@pytest.mark.parametrize("header", [None, "", "Token abc", "Bearer", "Bearer a b", "Bearer ä"])
def test_malformed_headers_are_unauthorized(header):
    with pytest.raises(auth.Unauthorized):
        auth.bearer_token(header)


def test_roles_rank_and_revoked_tokens_fail():
    viewer, admin, revoked = auth.new_token(), auth.new_token(), auth.new_token()
    store = FakeTokens(
        StoredToken(auth.hash_token(viewer), "viewer", "v", 1),
        StoredToken(auth.hash_token(admin), "admin", "a", 1),
        StoredToken(auth.hash_token(revoked), "admin", "r", 1, revoked_at=2),
    )

    assert auth.authorize(f"Bearer {viewer}", "viewer", open_reads=False, store=store) == "viewer"
    assert auth.authorize(f"Bearer {admin}", "viewer", open_reads=False, store=store) == "admin"
    with pytest.raises(auth.Forbidden):
        auth.authorize(f"Bearer {viewer}", "admin", open_reads=False, store=store)
    with pytest.raises(auth.Unauthorized):
        auth.authorize(f"Bearer {revoked}", "viewer", open_reads=False, store=store)
    assert auth.authorize(None, "viewer", open_reads=True, store=store) is None
    with pytest.raises(auth.Unauthorized):
        auth.authorize(None, "admin", open_reads=True, store=store)


def test_lookups_are_cached_for_a_while_unknown_tokens_included():
    token = auth.new_token()
    store = FakeTokens(StoredToken(auth.hash_token(token), "viewer", "v", 1))

    for _ in range(3):
        auth.role_of(token, store, clock=100.0)
        auth.role_of("out_unknown", store, clock=100.0)
    auth.role_of(token, store, clock=100.0 + auth.CACHE_SECONDS + 1)

    assert store.lookups == 3
