"""Synthetic traffic: who calls which model, and the events of any one UTC hour.

Each API key uses a few models; a (key, model) pair is a `Stream` with a weight. An hour's events are
drawn from a generator seeded by (seed, hour), so any hour can be computed alone, in any order, in
any process. An event is one burst of requests at a second-precision timestamp; every bucket of every
width is a sum of events, so 1m, 1h and 1d buckets of the same period add up exactly.

The volume follows a daily rhythm (quiet UTC nights) and a weekly one (quiet weekends); on the spike
day one key sends several times its usual traffic. Playground traffic carries no api_key_id.

Chat events carry the SDK's token detail (cached, cache-write 30m/12h, text/audio/image) and bring
the tool usage of their stream: web searches, file searches (naming a vector store of the project),
code interpreter sessions (per project). Decisions streams (a quarter of the keys) draw from their
own generator; each vector store is sampled once a day at midnight (bytes stored that day).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from simulator.catalog import SIM_KINDS, SimModel, model_info
from simulator.directory import DAY, HOUR, ApiKey, Directory, VectorStore
from simulator.hashing import quick_rng, rng, stable_hash
from simulator.scenarios import (
    NEW_MODEL_EVENTS,
    SCENARIO_HOURS,
    SPIKE_EVENTS,
    WAKE_EVENTS,
    Scenario,
    quiet_from,
)

RandomFn = Callable[[], float]
# (timestamp, cell index, metric values in the order of FIELDS[kind]).
Event = tuple[int, int, tuple[int, ...]]

# Every counter per kind as openai==3.51.0 names it, in the order of an event's values. METRICS[kind]
# is a prefix of it: the counters every row carries and that `usage_truth` returns by default; the
# token detail of completions and decisions follows (rows may omit a detail field whose value is 0).
FIELDS: dict[str, tuple[str, ...]] = {kind.name: kind.fields for kind in SIM_KINDS}
METRICS: dict[str, tuple[str, ...]] = {
    kind.name: kind.fields[: kind.metrics] if kind.metrics else kind.fields for kind in SIM_KINDS
}
TOKEN_KINDS = ("completions", "decisions")
WEB_SEARCH_INDEX = 6  # a raw chat draw's 7th value: its web searches (web_search_calls usage)

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
_CONTEXT_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Cell:
    """The attributes of one usage row before grouping: what `group_by` can select."""

    kind: str
    api_key_id: str | None
    project_id: str
    user_id: str | None
    model: str | None  # None for the project-level tools (file search, code interpreter, storage)
    batch: bool | None
    service_tier: str | None
    size: str | None
    source: str | None
    api_source: str = "unlabeled"  # "agents_api" for traffic attributed to the Agents API
    context_level: str | None = None  # web search context size
    vector_store_id: str | None = None


@dataclass(frozen=True, slots=True)
class Tools:
    """How a completions stream uses the priced token dimensions and the tools.

    Drawn from its own generator, so adding a dimension never changes the older draws."""

    write_ratio: float = 0.0  # share of uncached text input written to the prompt cache
    long_share: float = 0.0  # share of cache writes with 12-hour retention
    image_share: float = 0.0  # share of input that is image tokens
    image_out: bool = False
    web_cell: int | None = None  # cell of its web_search_calls usage
    file_cell: int | None = None  # cell of its file_search_calls usage
    session_cell: int | None = None  # cell of its code_interpreter_sessions usage


@dataclass(frozen=True, slots=True)
class Stream:
    """One key (or the playground, key None) calling one model."""

    key_id: str | None
    model: SimModel
    weight: float
    active_from: int
    active_until: int | None
    cells: tuple[int, ...]  # completions, decisions: (interactive, batch); images: size x source; else one
    batch_share: float
    web_search: bool
    cache_ratio: float
    kind: str = ""  # the usage kind (decisions streams use chat models); "" means the model's kind
    tools: Tools = Tools()


class Traffic:
    """The streams of an organization and the events of any hour."""

    def __init__(
        self,
        seed: int,
        directory: Directory,
        models: tuple[str, ...],
        origin: int,
        spike_day: int | None,
        *,
        scenarios: tuple[str, ...] = (),
        scenario_start: int = 0,
        dormant_days: int = 10,
    ) -> None:
        self.seed = seed
        self.origin = origin
        self.spike_day = spike_day
        self.cells: list[Cell] = []
        self._cell_ids: dict[Cell, int] = {}
        self.streams: list[Stream] = []
        self.decision_streams: list[Stream] = []
        self._keyed_chat = 0  # keyed chat streams built so far
        self._stores: dict[str, list[VectorStore]] = {}
        for store in directory.vector_stores:
            self._stores.setdefault(store.project_id, []).append(store)
        self._models = [model_info(m) for m in models]
        self._build_streams(directory, self._models)
        self._cum_weights = _cumulative(self.streams)
        self._decision_weights = _cumulative(self.decision_streams)
        self._spike_streams = [i for i, s in enumerate(self.streams) if s.key_id == directory.spike_key_id]
        self._spike_set = frozenset(self._spike_streams)
        self._base = 2.0 + 0.12 * len(self.streams)
        self._storage = [
            (
                store,
                self._cell(Cell("vector_stores", None, store.project_id, None, None, None, None, None, None)),
            )
            for store in directory.vector_stores
        ]
        self.scenarios: tuple[Scenario, ...] = ()
        self._scenario_streams: dict[str, Stream] = {}
        if scenarios:
            self._build_scenarios(directory, scenarios, scenario_start, dormant_days)

    def events(self, hour: int) -> dict[str, list[Event]]:
        """Every event of the UTC hour starting at `hour`, per kind, sorted by timestamp."""
        out: dict[str, list[Event]] = {kind: [] for kind in FIELDS}
        if hour + HOUR <= self.origin or not self.streams:
            return out
        r = rng(self.seed, "hour", hour)
        # Token splits and tools draw from their own generator, so the older draws stay put.
        detail = quick_rng(self.seed, "detail", hour).random
        weekday = (hour // DAY + 3) % 7
        rhythm = _HOURLY[hour % DAY // HOUR] * _WEEKDAY[weekday]
        volume = self._base * rhythm * (0.8 + 0.4 * r.random())
        picks = r.choices(range(len(self.streams)), cum_weights=self._cum_weights, k=round(volume))
        spike = hour - hour % DAY == self.spike_day and bool(self._spike_streams)
        if spike:
            picks += [r.choice(self._spike_streams) for _ in range(max(4, round(self._base * 0.6)))]
        for index in picks:
            stream = self.streams[index]
            ts = hour + r.randrange(HOUR)
            cell, values = _draw(stream, r.random, spike and index in self._spike_set)
            if stream.model.kind == "completions":
                values = self._tool_events(out, ts, stream, values, detail)
            if self._inactive(stream, ts):
                continue
            out[stream.model.kind].append((ts, cell, values))
        self._decision_events(out, hour, rhythm)
        self._scenario_events(out, hour)
        if hour % DAY == 0:
            self._storage_events(out, hour)
        for events in out.values():
            events.sort()
        return out

    def _inactive(self, stream: Stream, ts: int) -> bool:
        if ts < self.origin or ts < stream.active_from:
            return True
        if any(scenario.silenced(stream.key_id, ts) for scenario in self.scenarios):
            return True
        return stream.active_until is not None and ts >= stream.active_until

    # -- scenarios (simulator.scenarios) ---------------------------------------------------------
    def _build_scenarios(
        self, directory: Directory, names: tuple[str, ...], start: int, dormant_days: int
    ) -> None:
        """One ordinary key per scenario (listed, in use all period, not special), in SCENARIO_NAMES
        order; the new-model key gets a priced chat model it never used."""
        special = {directory.xss_key_id, directory.quiet_key_id, directory.new_key_id}
        chat_streams: dict[str, Stream] = {}
        used: dict[str, set[str]] = {}
        for stream in self.streams:
            if stream.key_id is None:
                continue
            used.setdefault(stream.key_id, set()).add(stream.model.name)
            if stream.model.kind == "completions" and stream.model.group in ("large", "mini"):
                chat_streams.setdefault(stream.key_id, stream)
        candidates = [
            key
            for key in directory.keys[3:]
            if key.listed
            and key.active_until is None
            and key.id not in special
            and key.id in chat_streams
            and key.active_from <= self.origin
        ]
        chat_models = [m for m in self._models if m.kind == "completions" and m.group in ("large", "mini")]
        chosen: list[Scenario] = []
        for name, key in zip(names, candidates, strict=False):
            stream = chat_streams[key.id]
            if name == "new_model":
                fresh = [m for m in chat_models if m.name not in used[key.id]]
                if not fresh:
                    continue
                random = rng(self.seed, "scenario-stream", key.id, fresh[0].name).random
                self._add_stream(key, fresh[0], 1.0, random, project_id=key.project_id, user_id=key.user_id)
                stream = self.streams.pop()  # not a normal stream: the normal draws stay as they were
            quiet = quiet_from(start, dormant_days) if name == "dormant" else None
            end = start + SCENARIO_HOURS * HOUR
            chosen.append(Scenario(name, key.id, stream.model.name, start, end, quiet))
            self._scenario_streams[name] = stream
        self.scenarios = tuple(chosen)

    def _scenario_events(self, out: dict[str, list[Event]], hour: int) -> None:
        for scenario in self.scenarios:
            if not scenario.active(hour):
                continue
            stream = self._scenario_streams[scenario.name]
            r = rng(self.seed, "scenario", scenario.name, hour)
            count = {"spike": SPIKE_EVENTS, "dormant": WAKE_EVENTS}.get(scenario.name, NEW_MODEL_EVENTS)
            for _ in range(count):
                ts = hour + r.randrange(HOUR)
                cell, values = _draw(stream, r.random, scenario.name != "new_model")
                out["completions"].append((ts, cell, _split(stream, values, r.random)))

    def _tool_events(
        self, out: dict[str, list[Event]], ts: int, stream: Stream, values: tuple[int, ...], detail: RandomFn
    ) -> tuple[int, ...]:
        """The completions values with their token detail; the event's tool calls go to `out`."""
        tools = stream.tools
        full = _split(stream, values, detail)
        requests = values[2]
        if self._inactive(stream, ts):
            return full
        searches = values[WEB_SEARCH_INDEX]
        if tools.web_cell is not None and searches:
            with_search = max(1, int(searches * (0.5 + 0.5 * detail())))
            out["web_search_calls"].append((ts, tools.web_cell, (searches, with_search)))
        if tools.file_cell is not None:
            out["file_search_calls"].append((ts, tools.file_cell, (1 + int(requests * detail()),)))
        if tools.session_cell is not None and detail() < 0.5:
            out["code_interpreter_sessions"].append((ts, tools.session_cell, (1 + requests // 20,)))
        return full

    def _decision_events(self, out: dict[str, list[Event]], hour: int, rhythm: float) -> None:
        if not self.decision_streams:
            return
        r = quick_rng(self.seed, "decisions", hour)
        count = round(max(2.0, len(self.decision_streams) * 0.15) * rhythm * (0.6 + 0.8 * r.random()))
        picks = r.choices(range(len(self.decision_streams)), cum_weights=self._decision_weights, k=count)
        for index in picks:
            stream = self.decision_streams[index]
            ts = hour + r.randrange(HOUR)
            cell, values = _draw(stream, r.random, False)
            values = _split(stream, values, r.random)
            if not self._inactive(stream, ts):
                out["decisions"].append((ts, cell, values))

    def _storage_events(self, out: dict[str, list[Event]], day: int) -> None:
        """One storage sample per vector store per day, at midnight: a 1d bucket shows the day's bytes."""
        if day < self.origin:
            return
        index = (day - self.origin) // DAY
        for store, cell in self._storage:
            if store.until is None or day < store.until:
                out["vector_stores"].append((day, cell, (store.size_on(index),)))

    def _cell(self, cell: Cell) -> int:
        index = self._cell_ids.get(cell)
        if index is None:
            index = self._cell_ids[cell] = len(self.cells)
            self.cells.append(cell)
        return index

    def _build_streams(self, directory: Directory, models: list[SimModel]) -> None:
        active = [k for k in directory.keys if k.id != directory.quiet_key_id]
        assigned = _deal_models(self.seed, active, models)
        deciders: list[tuple[ApiKey, SimModel, float]] = []
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
            chat = [m for m in assigned[key.id] if m.kind == "completions" and m.group in ("large", "mini")]
            if chat:
                deciders.append((key, chat[0], key_weight))
        # A quarter of the keys that use a chat model also call the Decisions API; at least one key
        # still in use does, so every period has decisions.
        chosen = [d for d in deciders if stable_hash(self.seed, "decisions", d[0].id) % 4 == 0]
        if not any(key.active_until is None for key, _model, _weight in chosen):
            chosen += [d for d in deciders if d[0].active_until is None][:1]
        for key, model, weight in chosen:
            self._add_decisions(key, model, weight)
        chat = [m for m in models if m.kind == "completions" and m.group in ("large", "mini")]
        for model, user in zip(chat[:2], directory.users[:2], strict=False):
            random = rng(self.seed, "playground", model.name).random
            self._add_stream(None, model, 0.8, random, project_id=directory.projects[0].id, user_id=user.id)

    def _add_decisions(self, key: ApiKey, model: SimModel, weight: float) -> None:
        random = quick_rng(self.seed, "decision-stream", key.id).random
        source = "agents_api" if random() < 0.3 else "unlabeled"
        cells = tuple(
            self._cell(
                Cell(
                    "decisions",
                    key.id,
                    key.project_id,
                    key.user_id,
                    model.name,
                    batch,
                    "default",
                    None,
                    None,
                    source,
                )
            )
            for batch in (False, True)
        )
        self.decision_streams.append(
            Stream(
                key_id=key.id,
                model=model,
                weight=weight,
                active_from=key.active_from,
                active_until=key.active_until,
                cells=cells,
                batch_share=0.2 if random() < 0.5 else 0.0,
                web_search=False,
                cache_ratio=random() * 0.5,
                kind="decisions",
                tools=self._tools(self.cells[cells[0]], model, random, with_tools=False),
            )
        )

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
        tools = Tools()
        if kind == "completions":
            tier = _TIERS[0] if random() < 0.8 else _TIERS[1 + int(random() * 2)]
            batch_share = 0.4 if key and random() < 0.2 else 0.0
            if key is not None and self._keyed_chat < 3:
                # The first keyed chat streams make sure batch, flex and priority rows exist to price.
                batch_share = 0.4 if self._keyed_chat == 0 else batch_share
                tier = {1: "flex", 2: "priority"}.get(self._keyed_chat, tier)
                self._keyed_chat += 1
            web_search = random() < 0.15
            caching = model.cached_input is not None or model.input is None
            cache_ratio = random() * (0.3 if model.has_audio else 0.6) if caching else 0.0
            extra = quick_rng(self.seed, "stream-tools", key_id, model.name).random
            source = "agents_api" if key and extra() < 0.25 else "unlabeled"
            cells = tuple(
                self._cell(
                    Cell(kind, key_id, project_id, user_id, model.name, batch, tier, None, None, source)
                )
                for batch in (False, True)
            )
            tools = self._tools(self.cells[cells[0]], model, extra, with_tools=True, web=web_search)
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
                kind=kind,
                tools=tools,
            )
        )

    def _tools(
        self, base: Cell, model: SimModel, random: RandomFn, *, with_tools: bool, web: bool = False
    ) -> Tools:
        """The token dimensions and tools of a chat stream whose cell is `base` (audio models write no
        cache and see no images)."""
        write_ratio = random() * 0.3 if random() < 0.5 and not model.has_audio else 0.0
        long_share = random() if write_ratio and random() < 0.5 else 0.0
        image_share = random() * 0.3 if random() < 0.3 and not model.has_audio else 0.0
        image_out = image_share > 0 and random() < 0.3
        web_cell = file_cell = session_cell = None
        if with_tools and web:
            level = _CONTEXT_LEVELS[int(random() * 3)]
            web_cell = self._cell(
                replace(base, kind="web_search_calls", batch=None, service_tier=None, context_level=level)
            )
        stores = self._stores.get(base.project_id, [])
        if with_tools and base.api_key_id is not None and stores and random() < 0.2:
            store = stores[int(random() * len(stores))]
            file_cell = self._cell(
                replace(
                    base,
                    kind="file_search_calls",
                    model=None,
                    batch=None,
                    service_tier=None,
                    vector_store_id=store.id,
                )
            )
        if with_tools and base.api_key_id is not None and random() < 0.15:
            session_cell = self._cell(
                Cell("code_interpreter_sessions", None, base.project_id, None, None, None, None, None, None)
            )
        return Tools(write_ratio, long_share, image_share, image_out, web_cell, file_cell, session_cell)


def _cumulative(streams: list[Stream]) -> list[float]:
    total, out = 0.0, []
    for stream in streams:
        total += stream.weight
        out.append(total)
    return out


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
    if kind == "completions":  # decisions streams draw their tokens the same way
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


def _split(stream: Stream, values: tuple[int, ...], random: RandomFn) -> tuple[int, ...]:
    """A chat event's values in FIELDS order: the base counters and their SDK token detail.

    input_tokens = uncached (text + audio + image) + cached (text + audio + image) + cache writes;
    output_tokens = text + audio + image. The cache writes and images are carved out of the text that
    the older draws called uncached input, so the base counters (and the bill) stay as they were."""
    inp, out, requests, cached, audio_in, audio_out = values[:6]
    tools, has_audio = stream.tools, stream.model.has_audio
    text_part = inp - cached - audio_in
    write = int(text_part * tools.write_ratio * random()) if tools.write_ratio else 0
    write_12h = int(write * tools.long_share)
    image_in = int((text_part - write) * tools.image_share * random()) if tools.image_share else 0
    text_in = text_part - write - image_in
    cached_audio = int(cached * 0.5 * random()) if has_audio else 0
    cached_image = int(cached * tools.image_share * random()) if tools.image_share else 0
    out_image = int((out - audio_out) * 0.2 * random()) if tools.image_out else 0
    return (
        inp,
        out,
        requests,
        cached,
        audio_in,
        audio_out,
        audio_in + text_in + image_in,
        text_in,
        image_in,
        cached - cached_audio - cached_image,
        cached_audio,
        cached_image,
        write,
        write - write_12h,
        write_12h,
        out - audio_out - out_image,
        out_image,
    )
