"""What a usage question asks: the period, the bucket width, the grouping and the filters.

`parse_selection(params, now, hourly_retention_days)` turns the query string of `/api/usage` (and
`/api/export`, and the CLI's options rendered as the same parameters) into a `Selection`, or raises
InvalidInput naming the parameter. Periods snap outward to whole buckets (the rollups hold whole hours
and days), and the response reports the snapped period.

`top` (default DEFAULT_TOP, 0..MAX_TOP) caps the groups each bucket lists: the `top` groups of the
whole period (by cost, then tokens) plus one "other" row summing the rest; 0 lists every group.

Limits: `1d` at most 366 days, `1h` at most 31 days and only within the hourly retention, `1m` (read
live from OpenAI) at most 6 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from chalicelib.dimensions import DIMENSIONS, Dimension
from chalicelib.errors import InvalidInput
from chalicelib.keys.validate import key_id_value
from chalicelib.periods import DAY, HOUR, iso
from chalicelib.validation import Params, integer, listed, normalize, single, text_value

BucketWidth = Literal["1m", "1h", "1d"]
BUCKET_WIDTHS: tuple[BucketWidth, ...] = ("1d", "1h", "1m")
NONE = "none"

MINUTE = 60
WIDTH_SECONDS: dict[BucketWidth, int] = {"1m": MINUTE, "1h": HOUR, "1d": DAY}
MAX_SPAN: dict[BucketWidth, int] = {"1m": 6 * HOUR, "1h": 31 * DAY, "1d": 366 * DAY}
MAX_SPAN_TEXT: dict[BucketWidth, str] = {"1m": "6 hours", "1h": "31 days", "1d": "366 days"}

DEFAULT_TOP = 10
MAX_TOP = 50

FILTERS = ("api_key_ids", "models", "project_ids", "teams")
USAGE_PARAMS = ("start_time", "end_time", "bucket_width", "group_by", "top", *FILTERS)
LIST_PARAMS = ("group_by", *FILTERS)


@dataclass(frozen=True)
class Selection:
    """One usage question. `start`/`end` are snapped to the bucket width; `group_by` is empty for
    `none`; an empty filter admits everything."""

    start: int
    end: int
    bucket_width: BucketWidth
    group_by: tuple[Dimension, ...] = ()
    api_key_ids: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    top: int = DEFAULT_TOP

    @property
    def width(self) -> int:
        """Seconds per bucket."""
        return WIDTH_SECONDS[self.bucket_width]

    def bucket_starts(self) -> range:
        """The start of every bucket in the period."""
        return range(self.start, self.end, self.width)

    def filters(self) -> dict[str, list[str]]:
        """The filters as given (for the response)."""
        return {
            "api_key_ids": list(self.api_key_ids),
            "models": list(self.models),
            "project_ids": list(self.project_ids),
            "teams": list(self.teams),
        }


def _member_value(value: str, param: str) -> str:
    text = text_value(value, param)
    if "#" in text:
        raise InvalidInput(param, "must not contain '#'")
    return text


def _dimensions(params: Params) -> tuple[Dimension, ...]:
    names = listed(params, "group_by", check=lambda value, _param: value, max_items=len(DIMENSIONS) + 1)
    allowed = ", ".join((*DIMENSIONS, NONE))
    for name in names:
        if name != NONE and name not in DIMENSIONS:
            raise InvalidInput("group_by", f"unknown grouping {name[:40]!r}; allowed: {allowed}")
    if NONE in names and len(names) > 1:
        raise InvalidInput("group_by", "'none' cannot be combined with other groupings")
    return tuple(cast(Dimension, name) for name in names if name != NONE)


def _top(params: Params) -> int:
    raw = single(params, "top")
    if raw is None:
        return DEFAULT_TOP
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 3 or int(text) > MAX_TOP:
        raise InvalidInput(
            "top",
            f"must be an integer from 0 to {MAX_TOP} (groups listed per bucket; 0 lists every group), "
            f"got {raw[:20]!r}",
        )
    return int(text)


def _snap(start: int, end: int, width: int) -> tuple[int, int]:
    return start - start % width, end + (-end % width)


def parse_selection(
    params: Params,
    now: int,
    hourly_retention_days: int,
    *,
    allowed: tuple[str, ...] = USAGE_PARAMS,
) -> Selection:
    """A Selection from query parameters (see the module docstring); InvalidInput names the culprit."""
    params = normalize(params, allowed, LIST_PARAMS)
    raw_width = single(params, "bucket_width") or "1d"
    if raw_width not in BUCKET_WIDTHS:
        raise InvalidInput(
            "bucket_width", f"must be one of {', '.join(BUCKET_WIDTHS)}, got {raw_width[:20]!r}"
        )
    width: BucketWidth = raw_width
    start = integer(params, "start_time")
    if start is None:
        raise InvalidInput("start_time", "is required (Unix seconds, inclusive)")
    end = integer(params, "end_time")
    if end is None:
        end = now
    if end <= start:
        raise InvalidInput("end_time", f"must be after start_time ({start}), got {end}")
    if end - start > MAX_SPAN[width]:
        raise InvalidInput(
            "end_time", f"bucket_width {width} allows at most {MAX_SPAN_TEXT[width]} from start_time"
        )
    start, end = _snap(start, end, WIDTH_SECONDS[width])
    if width == "1h":
        oldest = now - now % HOUR - hourly_retention_days * DAY
        if start < oldest:
            raise InvalidInput(
                "start_time",
                f"hourly data is kept for {hourly_retention_days} days: start at {iso(oldest)} or later, "
                "or use bucket_width=1d",
            )
    return Selection(
        start=start,
        end=end,
        bucket_width=width,
        group_by=_dimensions(params),
        api_key_ids=listed(params, "api_key_ids", check=key_id_value),
        models=listed(params, "models", check=_member_value),
        project_ids=listed(params, "project_ids", check=_member_value),
        teams=listed(params, "teams"),
        top=_top(params),
    )
