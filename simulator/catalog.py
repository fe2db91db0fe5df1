"""The simulated OpenAI's own model list and price table.

The simulator plays OpenAI, so it bills with its own prices: the tracker's price table
(`chalicelib/data`) is a separate thing that the simulator never reads. `acme-research-1-2026-09-01`
is deliberately absent from every price table and family: OpenAI bills it at $0 here, and the
tracker must show it as unpriced and unclassified.

Prices are USD per 1M tokens (characters for speech), per image, or per audio second. The tools
(web search, file search, code interpreter, vector storage) are billed per call, per session and per
GiB-day of storage; they are non-model line items in the costs endpoint.

`SIM_KINDS` is the simulator's one table of usage kinds: each endpoint's group_by values, filters,
row counters and tool billing, from which the server, the query parser, the traffic's fields and
the billing read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

UNKNOWN_MODEL = "acme-research-1-2026-09-01"
WEB_SEARCH_LINE_ITEM = "web search tool calls"
WEB_SEARCH_PRICE = Decimal("0.01")  # per call
FILE_SEARCH_LINE_ITEM = "file search tool calls"
FILE_SEARCH_PRICE = Decimal("0.0025")  # per call ($2.50 per 1,000)
CODE_INTERPRETER_LINE_ITEM = "code interpreter sessions"
CODE_INTERPRETER_PRICE = Decimal("0.03")  # per session
VECTOR_STORAGE_LINE_ITEM = "vector store storage"
VECTOR_STORAGE_PRICE = Decimal("0.10")  # per GiB-day
DECISIONS_LINE_ITEM = "Text tokens"  # the Decisions API bills all its tokens under one item
MILLION = Decimal(1_000_000)
GIBIBYTE = 2**30
_MODEL_FILTERS = frozenset({"project_ids", "user_ids", "api_key_ids", "models"})


@dataclass(frozen=True, slots=True)
class SimKind:
    """One `/organization/usage/<name>` endpoint as openai==3.51.0 types it: its `group_by` values,
    the filters it takes, every counter of a row (in the order of an event's values; `metrics` of
    them are what every row carries, the rest is token detail a row may omit when 0) and, for a
    tool, the Costs line item and price per call or session it bills (storage bills per GiB-day).
    The simulator's own table: it plays OpenAI and never reads the tracker's (chalicelib/kinds.py)."""

    name: str
    group_fields: tuple[str, ...]
    fields: tuple[str, ...]
    filters: frozenset[str] = _MODEL_FILTERS
    metrics: int = 0  # how many of `fields` every row carries (0: all of them)
    line_item: str | None = None
    price: Decimal | None = None


_MODEL_GROUPS = ("project_id", "user_id", "api_key_id", "model")
_CHAT_GROUPS = (*_MODEL_GROUPS, "batch", "service_tier", "api_source")
_TOKEN_BASE = (
    "input_tokens",
    "output_tokens",
    "num_model_requests",
    "input_cached_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
)
_TOKEN_DETAIL = (
    "input_uncached_tokens",
    "input_text_tokens",
    "input_image_tokens",
    "input_cached_text_tokens",
    "input_cached_audio_tokens",
    "input_cached_image_tokens",
    "input_cache_write_tokens",
    "input_cache_write_30m_tokens",
    "input_cache_write_12h_tokens",
    "output_text_tokens",
    "output_image_tokens",
)
_CHAT_FIELDS = _TOKEN_BASE + _TOKEN_DETAIL
_PROJECT_ONLY = frozenset({"project_ids"})
# Every usage kind of openai==3.51.0 (admin.organization.usage.*), in the SDK's order of appearance.
SIM_KINDS: tuple[SimKind, ...] = (
    SimKind("completions", _CHAT_GROUPS, _CHAT_FIELDS, _MODEL_FILTERS | {"batch"}, len(_TOKEN_BASE)),
    SimKind("embeddings", _MODEL_GROUPS, ("input_tokens", "num_model_requests")),
    SimKind("moderations", _MODEL_GROUPS, ("input_tokens", "num_model_requests")),
    SimKind(
        "images",
        (*_MODEL_GROUPS, "size", "source"),
        ("images", "num_model_requests"),
        _MODEL_FILTERS | {"sizes", "sources"},
    ),
    SimKind("audio_speeches", _MODEL_GROUPS, ("characters", "num_model_requests")),
    SimKind("audio_transcriptions", _MODEL_GROUPS, ("seconds", "num_model_requests")),
    SimKind("decisions", _CHAT_GROUPS, _CHAT_FIELDS, _MODEL_FILTERS | {"batch"}, len(_TOKEN_BASE)),
    SimKind(
        "web_search_calls",
        (*_MODEL_GROUPS, "context_level", "api_source"),
        ("num_requests", "num_model_requests"),
        _MODEL_FILTERS | {"context_levels"},
        line_item=WEB_SEARCH_LINE_ITEM,
        price=WEB_SEARCH_PRICE,
    ),
    SimKind(
        "file_search_calls",
        ("project_id", "user_id", "api_key_id", "vector_store_id"),
        ("num_requests",),
        frozenset({"project_ids", "user_ids", "api_key_ids", "vector_store_ids"}),
        line_item=FILE_SEARCH_LINE_ITEM,
        price=FILE_SEARCH_PRICE,
    ),
    SimKind(
        "code_interpreter_sessions",
        ("project_id",),
        ("num_sessions",),
        _PROJECT_ONLY,
        line_item=CODE_INTERPRETER_LINE_ITEM,
        price=CODE_INTERPRETER_PRICE,
    ),
    SimKind(
        "vector_stores", ("project_id",), ("usage_bytes",), _PROJECT_ONLY, line_item=VECTOR_STORAGE_LINE_ITEM
    ),
)
SIM_KIND: dict[str, SimKind] = {kind.name: kind for kind in SIM_KINDS}
KINDS = tuple(SIM_KIND)


@dataclass(frozen=True, slots=True)
class SimModel:
    """One dated model snapshot as the simulated OpenAI serves and bills it.

    `group` is only a label for people reading the data (large, mini, ineligible, embeddings, ...);
    `size` is the typical input and output tokens per request for completions models.
    """

    name: str
    kind: str
    group: str
    input: Decimal | None = None
    cached_input: Decimal | None = None
    output: Decimal | None = None
    audio_input: Decimal | None = None
    audio_output: Decimal | None = None
    unit: Decimal | None = None  # per image, per 1M characters, per second
    size: tuple[int, int] = (1500, 400)
    token_items: bool = False  # bills as "<model>, input_tokens" (the newer live shape), not ", input"

    @property
    def has_audio(self) -> bool:
        """True for models that take or produce audio tokens."""
        return self.audio_input is not None


def _chat(
    name: str,
    group: str,
    prices: tuple[str, str | None, str],
    size: tuple[int, int] = (1500, 400),
    *,
    token_items: bool = False,
) -> SimModel:
    inp, cached, out = prices
    return SimModel(
        name,
        "completions",
        group,
        input=Decimal(inp),
        cached_input=Decimal(cached) if cached is not None else None,
        output=Decimal(out),
        size=size,
        token_items=token_items,
    )


MODELS: tuple[SimModel, ...] = (
    _chat("gpt-5-2025-08-07", "large", ("1.25", "0.125", "10"), (2500, 900)),
    _chat("gpt-5.1-2025-11-13", "large", ("1.25", "0.125", "10"), (2500, 900), token_items=True),
    _chat("gpt-4.1-2025-04-14", "large", ("2", "0.5", "8"), (3000, 500)),
    _chat("gpt-4o-2024-08-06", "large", ("2.5", "1.25", "10"), (2000, 400)),
    _chat("o3-2025-04-16", "large", ("2", "0.5", "8"), (2000, 1500)),
    _chat("o1-2024-12-17", "large", ("15", "7.5", "60"), (1500, 1800)),
    _chat("gpt-5-mini-2025-08-07", "mini", ("0.25", "0.025", "2"), (1800, 600)),
    _chat("gpt-5-nano-2025-08-07", "mini", ("0.05", "0.005", "0.4"), (1200, 300)),
    _chat("gpt-4.1-mini-2025-04-14", "mini", ("0.4", "0.1", "1.6"), (1500, 350)),
    _chat("gpt-4.1-nano-2025-04-14", "mini", ("0.1", "0.025", "0.4"), (900, 200)),
    _chat("gpt-4o-mini-2024-07-18", "mini", ("0.15", "0.075", "0.6"), (1400, 300)),
    _chat("o4-mini-2025-04-16", "mini", ("1.1", "0.275", "4.4"), (1600, 1200)),
    _chat("o3-mini-2025-01-31", "mini", ("1.1", "0.55", "4.4"), (1600, 1200)),
    _chat("o1-pro-2025-03-19", "ineligible", ("150", None, "600"), (1500, 2000)),
    _chat("gpt-4.5-preview-2025-02-27", "ineligible", ("75", "37.5", "150"), (1500, 400)),
    SimModel(
        "gpt-4o-realtime-preview-2024-12-17",
        "completions",
        "ineligible",
        input=Decimal(5),
        cached_input=Decimal("2.5"),
        output=Decimal(20),
        audio_input=Decimal(40),
        audio_output=Decimal(80),
        size=(1200, 500),
    ),
    SimModel(
        "gpt-4o-audio-preview-2024-12-17",
        "completions",
        "ineligible",
        input=Decimal("2.5"),
        output=Decimal(10),
        audio_input=Decimal(40),
        audio_output=Decimal(80),
        size=(1000, 400),
    ),
    SimModel(UNKNOWN_MODEL, "completions", "unknown", size=(2000, 600)),
    SimModel("text-embedding-3-small", "embeddings", "embeddings", input=Decimal("0.02")),
    SimModel("text-embedding-3-large", "embeddings", "embeddings", input=Decimal("0.13")),
    SimModel("text-embedding-ada-002", "embeddings", "embeddings", input=Decimal("0.1")),
    SimModel("omni-moderation-2024-09-26", "moderations", "moderation", input=Decimal(0)),
    SimModel("dall-e-3", "images", "images", unit=Decimal("0.04")),
    SimModel("gpt-image-1", "images", "images", unit=Decimal("0.042")),
    SimModel("tts-1", "audio_speeches", "tts", unit=Decimal(15)),
    SimModel("tts-1-hd", "audio_speeches", "tts", unit=Decimal(30)),
    SimModel("whisper-1", "audio_transcriptions", "transcription", unit=Decimal("0.0001")),
    SimModel(
        "gpt-4o-mini-transcribe-2025-03-20", "audio_transcriptions", "transcription", unit=Decimal("0.00005")
    ),
)

DEFAULT_MODELS: tuple[str, ...] = tuple(m.name for m in MODELS)
_BY_NAME = {m.name: m for m in MODELS}


def model_info(name: str) -> SimModel:
    """The catalogue entry of `name`; a name the simulator does not know is an unpriced chat model."""
    return _BY_NAME.get(name) or SimModel(name, "completions", "unknown")
