"""Who is asking: the caller identity of the current request, for the live 1m reads' budgets.

The API middleware (chalicelib.responses) sets it around every request, to the SHA-256 of the
request's token (never the token itself), and chalicelib.query.live counts OpenAI rounds against it.
It lives apart from chalicelib.query.live so that the middleware, which every route and `import app`
load, does not load the live path (its records, cache and store) with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CALLER: ContextVar[str] = ContextVar("live_caller", default="local")


@contextmanager
def caller(identity: str) -> Iterator[None]:
    """Within the block, live reads count against `identity`'s budget (a token's hash)."""
    token = CALLER.set(identity)
    try:
        yield
    finally:
        CALLER.reset(token)


__all__ = ["CALLER", "caller"]
