"""Synthetic traffic: who calls which model, and the events of any one UTC hour.

Each API key uses a few models; a (key, model) pair is a `Stream` with a weight. An hour's events are
drawn from a generator seeded by (seed, hour), so any hour can be computed alone, in any order, in
any process. An event is one burst of requests at a second-precision timestamp; every bucket of every
width is a sum of events, so 1m, 1h and 1d buckets of the same period add up exactly.

The volume follows a daily rhythm (quiet UTC nights) and a weekly one (quiet weekends); on the spike
day one key sends several times its usual traffic. Playground traffic carries no api_key_id.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from simulator.catalog import SimModel, model_info
from simulator.directory import DAY, HOUR, ApiKey, Directory
from simulator.hashing import rng, stable_hash

RandomFn = Callable[[], float]
# (timestamp, cell index, metric values in the kind's internal order); see METRICS.
Event = tuple[int, int, tuple[int, ...]]

# Metric names per kind as the API reports them. Completions events carry one more internal value,
# web search calls, which only the costs endpoint shows (as the "web search tool calls" line item).
METRICS: dict[str, tuple[str, ...]] = {
    "completions": (
        "input_tokens",
        "output_tokens",
        "num_model_requests",
        "input_cached_tokens",
        "input_audio_tokens",
        "output_audio_tokens",
    ),
    "embeddings": ("input_tokens", "num_model_requests"),
    "moderations": ("input_tokens", "num_model_requests"),
    "images": ("images", "num_model_requests"),
    "audio_speeches": ("characters", "num_model_requests"),
    "audio_transcriptions": ("seconds", "num_model_requests"),
}
WEB_SEARCH_INDEX = 6  # position of the internal web search count in a completions event

_HOURLY = (  # UTC hour of day
    *(0.25, 0.2, 0.18, 0.17, 0.2, 0.3, 0.45, 0.6, 0.8, 0.95, 1.0, 1.0),
    *(0.95, 1.0, 1.0, 0.95, 0.9, 0.8, 0.65, 0.55, 0.45, 0.4, 0.35, 0.3),
)
_WEEKDAY = (1.0, 1.0, 1.0, 1.0, 0.95, 0.35, 0.3)  # Monday first
_KIND_WEIGHT = {
    "completions": 1.0,
    "embeddings": 0.6,
    "moderations": 0.4,
    "images": 0.15,
    "audio_speeches": 0.2,
    "audio_transcriptions": 0.2,
}
_GROUP_WEIGHT = {"ineligible": 0.12, "unknown": 0.5}  # expensive previews see little traffic
_GROUP_POPULARITY = {"mini": 4, "large": 3, "ineligible": 1, "embeddings": 1, "moderation": 1}
_SIZES = ("1024x1024", "1024x1792", "1792x1024")
_SOURCES = ("image.generation", "image.edit")
_TIERS = ("default", "flex", "priority")


@dataclass(frozen=True, slots=True)
class Cell:
    """The attributes of one usage row before grouping: what `group_by` can select."""

    kind: str
    api_key_id: str | None
    project_id: str
    user_id: str | None
    model: str
    batch: bool | None
    service_tier: str | None
    size: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class Stream:
    """One key (or the playground, key None) calling one model."""

    key_id: str | None
    model: SimModel
    weight: float
    active_from: int
    active_until: int | None
    cells: tuple[int, ...]  # completions: (interactive, batch); images: size x source; else one
    batch_share: float
    web_search: bool
    cache_ratio: float


class Traffic:
    """The streams of an organization and the events of any hour."""

    def __init__(
        self, seed: int, directory: Directory, models: tuple[str, ...], origin: int, spike_day: int
    ) -> None:
        self.seed = seed
        self.origin = origin
        self.spike_day = spike_day
        self.cells: list[Cell] = []
        self._cell_ids: dict[Cell, int] = {}
        self.streams: list[Stream] = []
        self._build_streams(directory, [model_info(m) for m in models])
        self._cum_weights: list[float] = []
        total = 0.0
        for stream in self.streams:
            total += stream.weight
            self._cum_weights.append(total)
        self._spike_streams = [i for i, s in enumerate(self.streams) if s.key_id == directory.spike_key_id]
        self._spike_set = frozenset(self._spike_streams)
        self._base = 2.0 + 0.12 * len(self.streams)

    def events(self, hour: int) -> dict[str, list[Event]]:
        """Every event of the UTC hour starting at `hour`, per kind, sorted by timestamp."""
        out: dict[str, list[Event]] = {kind: [] for kind in METRICS}
        if hour + HOUR <= self.origin or not self.streams:
            return out
        r = rng(self.seed, "hour", hour)
        weekday = (hour // DAY + 3) % 7
        volume = self._base * _HOURLY[hour % DAY // HOUR] * _WEEKDAY[weekday] * (0.8 + 0.4 * r.random())
        picks = r.choices(range(len(self.streams)), cum_weights=self._cum_weights, k=round(volume))
        spike = hour - hour % DAY == self.spike_day and bool(self._spike_streams)
        if spike:
            picks += [r.choice(self._spike_streams) for _ in range(max(4, round(self._base * 0.6)))]
        for index in picks:
            stream = self.streams[index]
            ts = hour + r.randrange(HOUR)
            cell, values = _draw(stream, r.random, spike and index in self._spike_set)
            if ts < self.origin or ts < stream.active_from:
                continue
            if stream.active_until is not None and ts >= stream.active_until:
                continue
            out[stream.model.kind].append((ts, cell, values))
        for events in out.values():
            events.sort()
        return out

    def _cell(self, cell: Cell) -> int:
        index = self._cell_ids.get(cell)
        if index is None:
            index = self._cell_ids[cell] = len(self.cells)
            self.cells.append(cell)
        return index

    def _build_streams(self, directory: Directory, models: list[SimModel]) -> None:
        active = [k for k in directory.keys if k.id != directory.quiet_key_id]
        assigned = _deal_models(self.seed, active, models)
        for key in active:
            r = rng(self.seed, "key-traffic", key.id)
            key_weight = math.exp(r.gauss(0, 1.1))
            if key.id == directory.spike_key_id:
                key_weight = 3.0  # a steadily busy key, so its spike reads as a spike
            for rank, model in enumerate(assigned[key.id]):
                share = (
                    key_weight * _KIND_WEIGHT[model.kind] * _GROUP_WEIGHT.get(model.group, 1.0) / (rank + 1)
                )
                self._add_stream(key, model, share, r.random, project_id=key.project_id, user_id=key.user_id)
        chat = [m for m in models if m.kind == "completions" and m.group in ("large", "mini")]
        for model, user in zip(chat[:2], directory.users[:2], strict=False):
            random = rng(self.seed, "playground", model.name).random
            self._add_stream(None, model, 0.8, random, project_id=directory.projects[0].id, user_id=user.id)

    def _add_stream(
        self,
        key: ApiKey | None,
        model: SimModel,
        weight: float,
        random: RandomFn,
        *,
        project_id: str,
        user_id: str | None,
    ) -> None:
        key_id = key.id if key else None
        kind = model.kind
        batch_share, web_search, cache_ratio = 0.0, False, 0.0
        if kind == "completions":
            tier = _TIERS[0] if random() < 0.8 else _TIERS[1 + int(random() * 2)]
            batch_share = 0.4 if key and random() < 0.2 else 0.0
            web_search = random() < 0.15
            caching = model.cached_input is not None or model.input is None
            cache_ratio = random() * (0.3 if model.has_audio else 0.6) if caching else 0.0
            cells = tuple(
                self._cell(Cell(kind, key_id, project_id, user_id, model.name, batch, tier, None, None))
                for batch in (False, True)
            )
        elif kind == "images":
            cells = tuple(
                self._cell(Cell(kind, key_id, project_id, user_id, model.name, None, None, size, source))
                for size in _SIZES
                for source in _SOURCES
            )
        else:
            cells = (self._cell(Cell(kind, key_id, project_id, user_id, model.name, None, None, None, None)),)
        self.streams.append(
            Stream(
                key_id=key_id,
                model=model,
                weight=weight,
                active_from=key.active_from if key else self.origin,
                active_until=key.active_until if key else None,
                cells=cells,
                batch_share=batch_share,
                web_search=web_search,
                cache_ratio=cache_ratio,
            )
        )


def _deal_models(seed: int, keys: list[ApiKey], models: list[SimModel]) -> dict[str, list[SimModel]]:
    """Give every key one to three models; every model goes to at least one key."""
    order = sorted(models, key=lambda m: stable_hash(seed, "deal", m.name))
    popular = [m for m in models for _ in range(_GROUP_POPULARITY.get(m.group, 0))] or models
    assigned: dict[str, list[SimModel]] = {k.id: [] for k in keys}
    for i, model in enumerate(order):
        if keys:
            assigned[keys[i % len(keys)].id].append(model)
    for key in keys:
        r = rng(seed, "models", key.id)
        target = 1 + int(r.random() * 3)
        while len(assigned[key.id]) < target:
            model = r.choice(popular)
            if model not in assigned[key.id]:
                assigned[key.id].append(model)
    return assigned


def _draw(stream: Stream, random: RandomFn, spike: bool) -> tuple[int, tuple[int, ...]]:
    """One event's cell and values."""
    model = stream.model
    kind = model.kind
    burst = 4 if spike else 1
    if kind == "completions":
        requests = (1 + int(random() ** 3 * 60)) * burst
        avg_in, avg_out = model.size
        inp = requests * int(avg_in * (0.4 + 1.2 * random()))
        out = requests * int(avg_out * (0.4 + 1.2 * random()))
        cached = int(inp * stream.cache_ratio * random())
        audio_in = int((inp - cached) * 0.6 * random()) if model.has_audio else 0
        audio_out = int(out * 0.6 * random()) if model.has_audio else 0
        batch = stream.batch_share > 0 and random() < stream.batch_share
        web = requests // 3 if stream.web_search else 0
        return stream.cells[int(batch)], (inp, out, requests, cached, audio_in, audio_out, web)
    requests = (1 + int(random() ** 2 * 40)) * burst
    if kind == "embeddings":
        return stream.cells[0], (requests * int(100 + random() * 1500), requests)
    if kind == "moderations":
        return stream.cells[0], (requests * int(50 + random() * 400), requests)
    if kind == "images":
        requests = (1 + int(random() ** 3 * 6)) * burst
        images = requests * (2 if random() < 0.15 else 1)
        return stream.cells[int(random() * len(stream.cells))], (images, requests)
    if kind == "audio_speeches":
        return stream.cells[0], (requests * int(100 + random() * 900), requests)
    return stream.cells[0], (requests * int(5 + random() * 120), requests)
