"""Pages and search of a view's rows: `limit`, `offset` and `search` of `/api/usage`'s `groups` and of
`/api/keys`' `data`, parsed and applied in one place.

A page is cut from the rows the view already built (and kept in its memo), in the view's order:
`search` keeps the rows whose shown texts contain it (case-insensitive, Unicode casefold), the count
is of the rows that match, then `offset` skips and `limit` keeps. Without any of the three a view
answers as it always did (every row, no paging fields).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.errors import InvalidInput
from chalicelib.validation import Params, single, text_value

PAGE_PARAMS = ("limit", "offset", "search")
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_SEARCH_LENGTH = 100

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page:
    """Which rows to send: matching `search` (None: all), from `offset`, at most `limit` (None: all)."""

    limit: int | None = None
    offset: int = 0
    search: str | None = None

    @property
    def asked(self) -> bool:
        """Whether the request named any paging parameter (else the view's answer is unchanged)."""
        return self.limit is not None or self.offset > 0 or self.search is not None

    def fields(self, count_name: str, count: int) -> dict[str, Any]:
        """The paging fields of an answer: what was asked and how many rows match."""
        return {count_name: count, "limit": self.limit, "offset": self.offset, "search": self.search}


def _bounded(params: Params, name: str, minimum: int, maximum: int, what: str) -> int | None:
    raw = single(params, name)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 7 or not minimum <= int(text) <= maximum:
        raise InvalidInput(name, f"must be an integer from {minimum} to {maximum} ({what}), got {raw[:20]!r}")
    return int(text)


def parse_page(params: Params) -> Page:
    """The Page of (normalized) query parameters; InvalidInput names a bad one."""
    limit = _bounded(params, "limit", 1, MAX_LIMIT, "rows per page")
    offset = _bounded(params, "offset", 0, MAX_OFFSET, "rows skipped")
    raw_search = single(params, "search")
    search = None
    if raw_search is not None and raw_search.strip():
        search = text_value(raw_search, "search", MAX_SEARCH_LENGTH)
    return Page(limit=limit, offset=offset or 0, search=search)


def matches(texts: Iterable[str | None], needle: str) -> bool:
    """Whether any of `texts` contains `needle` (already casefolded)."""
    return any(text and needle in text.casefold() for text in texts)


def cut(
    rows: Sequence[Row], page: Page, texts: Callable[[Row], Iterable[str | None]]
) -> tuple[list[Row], int]:
    """The page's rows and how many rows match its search (`texts(row)`: what the row shows)."""
    if page.search is None:
        found: Sequence[Row] = rows
    else:
        needle = page.search.casefold()
        found = [row for row in rows if matches(texts(row), needle)]
    end = None if page.limit is None else page.offset + page.limit
    return list(found[page.offset : end]), len(found)
