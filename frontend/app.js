// The dashboard: state in the URL hash, one refresh that loads every section in parallel, the token
// dialog, theme, CSV export. Rendering lives in js/*; every name from the API goes in as text.
// Health and alerts banners: js/health.js, js/alerts.js. Admin mode (js/admin.js) is imported only
// when /api/whoami says the token is an admin's: the role always comes from the API. The
// reconciliation and forecast panels sit below the fold: their modules and data load when they
// first scroll into view, then with every refresh (LAZY_PANELS).

import { AlertsView } from "./js/alerts.js";
import { ApiError, apiBase, getJson, token } from "./js/api.js";
import { UsageChart, seriesStyle } from "./js/chart.js";
import { GROUPS, compareModel, groupColumns, modelColumns, rowMatches } from "./js/columns.js";
import { $, fill, h, placeholder } from "./js/dom.js";
import { clock, date, day, dec, int, parseTime, relative, usd, usdNumber, when } from "./js/format.js";
import { loadHealth, renderHealth } from "./js/health.js";
import { PERIODS, DAY, defaultBucket, isoDay, range } from "./js/periods.js";
import { renderNotices, renderPools } from "./js/pools.js";
import { DataTable } from "./js/table.js";

const CONFIG = window.TRACKER_CONFIG || {};
const REFRESH_SECONDS = Number(CONFIG.refreshSeconds) > 0 ? Number(CONFIG.refreshSeconds) : 300;
// The chart stacks the period's largest groups and one "Other": the API ranks them (by cost, then
// tokens) and sums the rest per bucket (`top`), so a 1,000-key period stays a small answer.
const CHART_SERIES = 8;
const HOURLY_MAX_DAYS = 31;

const state = {
  period: "today",
  from: "",
  to: "",
  bucket: "1h",
  group: "owner",
  measure: "tokens",
  filter: "",
  compare: new Set(),
};

const view = {
  generation: 0,
  range: null,
  usage: null,
  models: null,
  keys: [],
  keysById: new Map(),
  compareData: null,
  lastLoad: 0,
  timer: null,
  authPending: null,
  shown: new Set(), // the LAZY_PANELS that have been in view
  role: null,
  admin: null,
};

const groupsTable = new DataTable($("groups-table"), { empty: "No usage in this period." });
const modelsTable = new DataTable($("models-table"), { empty: "No usage in this period." });
const compareTable = new DataTable($("compare-table"), { empty: "Pick keys, then Compare." });
const chart = new UsageChart($("chart"), { onHover: (i) => showReadout(i) });
const alertsView = new AlertsView({ banner: $("alerts-banner"), table: $("alerts-table"), filters: $("alert-filters"), meta: $("alerts-meta") });
let hygiene;
const loadHygiene = async () => $("hygiene").open && (hygiene ||= new (await import("./js/hygiene.js")).HygieneView()).load();
$("hygiene").ontoggle = () => loadHygiene().catch(() => {});

// ---------------------------------------------------------------- state <-> URL and controls

function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  if (params.get("period") in PERIODS) state.period = params.get("period");
  if (GROUPS[params.get("group")]) state.group = params.get("group");
  if (["1h", "1d"].includes(params.get("bucket"))) state.bucket = params.get("bucket");
  else state.bucket = defaultBucket(state.period, range(state.period, nowSeconds()).days || 1);
  if (["tokens", "cost"].includes(params.get("measure"))) state.measure = params.get("measure");
  state.from = params.get("from") || "";
  state.to = params.get("to") || "";
}

function writeHash() {
  const params = new URLSearchParams({ period: state.period, group: state.group, bucket: state.bucket, measure: state.measure });
  if (state.period === "custom") {
    params.set("from", state.from);
    params.set("to", state.to);
  }
  window.history.replaceState(null, "", `#${params}`);
}

function syncControls() {
  $("period").value = state.period;
  $("group").value = state.group;
  $("custom-range").hidden = state.period !== "custom";
  $("from").value = state.from;
  $("to").value = state.to;
  const today = isoDay(nowSeconds());
  $("from").max = today;
  $("to").max = today;
  const r = range(state.period, nowSeconds(), state.from, state.to);
  const hourlyAllowed = !r.error && r.days <= HOURLY_MAX_DAYS;
  $("bucket-1h").disabled = !hourlyAllowed;
  if (!hourlyAllowed && state.bucket === "1h") state.bucket = "1d";
  $(`bucket-${state.bucket}`).checked = true;
  $(`metric-${state.measure}`).checked = true;
  $("groups-title").textContent = GROUPS[state.group].section;
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function bindControls() {
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("period").addEventListener("change", () => {
    state.period = $("period").value;
    if (state.period === "custom" && !state.from) {
      const now = nowSeconds();
      state.from = isoDay(now - 6 * DAY);
      state.to = isoDay(now);
    }
    const r = range(state.period, nowSeconds(), state.from, state.to);
    state.bucket = defaultBucket(state.period, r.days || 1);
    changed();
  });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", () => {
      state[id] = $(id).value;
      changed();
    });
  }
  $("group").addEventListener("change", () => {
    state.group = $("group").value;
    changed();
  });
  for (const input of document.querySelectorAll('input[name="bucket"]')) {
    input.addEventListener("change", () => {
      state.bucket = input.value;
      changed();
    });
  }
  for (const input of document.querySelectorAll('input[name="metric"]')) {
    input.addEventListener("change", () => {
      state.measure = input.value;
      writeHash();
      // The measure picks the sort: with Dollars the tables sort by dollars, whatever was clicked before.
      groupsTable.resetSort();
      modelsTable.resetSort();
      renderUsage();
      renderModels();
    });
  }
  $("filter").addEventListener("input", () => {
    state.filter = $("filter").value;
    groupsTable.setFilter(state.filter, rowMatches);
  });
  $("refresh").addEventListener("click", () => refresh());
  $("sign-out").addEventListener("click", () => {
    token.clear();
    askToken().then(() => refresh());
  });
  $("export-groups").addEventListener("click", () => exportTable(groupsTable, `usage-by-${state.group}`));
  $("export-models").addEventListener("click", () => exportTable(modelsTable, "usage-by-model"));
  $("export-compare").addEventListener("click", () => exportTable(compareTable, "key-comparison"));
  $("compare-run").addEventListener("click", () => loadCompare());
  $("compare-clear").addEventListener("click", () => {
    state.compare.clear();
    renderKeyPicker();
  });
  $("compare-filter").addEventListener("input", () => renderKeyPicker());
  window.addEventListener("hashchange", () => {
    readHash();
    syncControls();
    refresh();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() - view.lastLoad > REFRESH_SECONDS * 1000) refresh();
  });
}

function changed() {
  syncControls();
  writeHash();
  refresh();
}

// ---------------------------------------------------------------- theme

function effectiveTheme() {
  return document.documentElement.dataset.theme === "light" ? "light" : "dark"; // theme.js sets it
}

function bindTheme() {
  const button = $("theme-toggle");
  const show = () => button.setAttribute("aria-pressed", String(effectiveTheme() === "light"));
  button.addEventListener("click", () => {
    const next = effectiveTheme() === "light" ? "dark" : "light";
    document.documentElement.dataset.theme = next;
    document.documentElement.dataset.themeChosen = "1"; // theme.js stops following the system
    try {
      window.localStorage.setItem("tracker.theme", next);
    } catch {
      // not persisted; still applied
    }
    show();
    renderChart();
  });
  window.matchMedia("(prefers-color-scheme: light)").addEventListener("change", () => {
    show();
    renderChart();
  });
  show();
}

// ---------------------------------------------------------------- token dialog

/** Show the sign-in dialog (once, however many requests failed); resolves when a token is entered. */
function askToken(message = "") {
  const dialog = $("token-dialog");
  const error = $("token-error");
  error.hidden = !message;
  error.textContent = message;
  if (view.authPending) return view.authPending;
  view.authPending = new Promise((resolve) => {
    const form = $("token-form");
    const input = $("token-input");
    input.value = "";
    const onSubmit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) {
        error.hidden = false;
        error.textContent = "Enter the token.";
        input.focus();
        return;
      }
      token.set(value);
      form.removeEventListener("submit", onSubmit);
      dialog.close();
      view.authPending = null;
      resolve();
    };
    form.addEventListener("submit", onSubmit);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return view.authPending;
}

function bindDialog() {
  // Escape closes the dialog; the page then says why it is empty and how to sign in.
  $("token-dialog").addEventListener("cancel", () => {
    setTimeout(() => {
      if ($("token-dialog").open || !view.authPending) return;
      showGlobalError("Sign in to see usage.", { signIn: true });
      $("as-of").textContent = "Not signed in";
      if (!view.usage) fill($("chart-placeholder"), placeholder("Sign in to see usage."));
      if ($("pools").getAttribute("aria-busy") !== "false") fill($("pools"), placeholder("Sign in to see the pools."));
    });
  });
}

// ---------------------------------------------------------------- loading

function setBusy(busy) {
  document.body.dataset.state = busy ? "loading" : "ready";
  for (const id of ["chart-box", "groups-table", "models-table", "pools"]) $(id).setAttribute("aria-busy", String(busy));
}

async function refresh() {
  const generation = ++view.generation;
  const now = nowSeconds();
  const r = range(state.period, now, state.from, state.to);
  if (r.error) {
    clearFigures(r.error);
    return;
  }
  $("range-text").classList.remove("error-text");
  view.range = r;
  $("range-text").textContent = rangeText(r);
  setBusy(true);
  hideGlobalError();
  if (!token.get()) await askToken();
  if (generation !== view.generation) return;
  const common = { start_time: r.start, end_time: r.end };
  const tasks = [
    section(generation, () => loadHealth(), (body) => renderHealth($("health-banner"), body, nowSeconds()), () => {}),
    section(generation, () => alertsView.load(), () => {}, () => {}),
    section(generation, loadHygiene, () => {}, () => {}),
    section(generation, () => getJson("/api/whoami"), (who) => {
      view.role = who.role;
    }, () => {
      view.role = null;
    }),
    section(generation, () => getJson("/api/pools"), (data) => {
      renderPools($("pools"), $("pools-meta"), data, nowSeconds());
      renderNotices($("notices"), data, nowSeconds());
    }, (err) => fill($("pools"), placeholder(`Could not load the pools: ${err.message}`, { error: true, retry: refresh }))),
    section(generation, () => getJson("/api/usage", { ...common, bucket_width: state.bucket, group_by: state.group, top: CHART_SERIES }), (data) => {
      view.usage = data;
      renderUsage();
      renderAsOf(data);
    }, (err) => usageFailed(err)),
    section(generation, () => getJson("/api/usage", { ...common, bucket_width: "1d", group_by: ["model", "pool"] }), (data) => {
      view.models = data;
      renderModels();
    }, (err) => fill($("models-table"), placeholder(`Could not load usage by model: ${err.message}`, { error: true, retry: refresh }))),
    ...[...view.shown].map((id) => LAZY_PANELS[id](generation)),
    section(generation, () => getJson("/api/keys"), (data) => {
      view.keys = data.data || [];
      view.keysById = new Map(view.keys.map((k) => [k.key_id, k]));
      renderKeyPicker();
      if (view.usage && state.group === "api_key_id") renderUsage();
    }, (err) => fill($("compare-list"), placeholder(`Could not load the keys: ${err.message}`, { error: true, retry: refresh }))),
  ];
  if (view.compareData && state.compare.size >= 2) tasks.push(loadCompare(generation));
  const outcomes = await Promise.all(tasks);
  if (generation !== view.generation) return;
  if (outcomes.some((o) => o === "unauthorized")) {
    token.clear();
    await askToken("That token was not accepted. Check it and try again.");
    refresh();
    return;
  }
  await showAdmin();
  if (generation !== view.generation) return;
  view.lastLoad = Date.now();
  setBusy(false);
  schedule();
}

/** Admin mode: shown (and its module loaded) only for an admin token, as /api/whoami said. */
async function showAdmin() {
  const panel = $("admin");
  if (view.role !== "admin") {
    panel.hidden = true;
    if (view.admin) {
      fill($("admin-body")); // a token shown once, or the token list, must not outlive the admin's token
      view.admin = null;
    }
    return;
  }
  if (!view.admin) {
    const { AdminPanel } = await import("./js/admin.js");
    view.admin = new AdminPanel($("admin-body"), { onChanged: () => refresh() });
  }
  view.admin.setKeys(view.keys);
  await view.admin.loadTokens();
  panel.hidden = false;
}

/** An invalid range: say why, and take down every figure that belonged to the previous range. */
function clearFigures(error) {
  ++view.generation; // answers still on their way belong to the old range: drop them
  view.range = null;
  view.usage = null;
  view.models = null;
  const text = $("range-text");
  text.textContent = error;
  text.classList.add("error-text");
  chart.destroy();
  fill($("kpis"));
  fill($("legend"));
  $("chart-note").textContent = "";
  $("chart-readout").textContent = "";
  $("chart-placeholder").hidden = false;
  const why = `No figures: ${error}`;
  fill($("chart-placeholder"), placeholder(why, { error: true }));
  fill($("groups-table"), placeholder(why));
  fill($("models-table"), placeholder(why));
  groupsTable.table = null;
  modelsTable.table = null;
  // The comparison was of the old period too; it runs again (same keys) once the range is valid.
  if (compareTable.table) {
    fill($("compare-table"), placeholder(why));
    compareTable.table = null;
    $("export-compare").disabled = true;
  }
  $("chart").setAttribute("aria-label", "Usage chart: no valid period chosen");
  setBusy(false);
  document.body.dataset.state = "invalid";
}

/** Run one section's request; render or show its error; "unauthorized" tells refresh to ask again. */
// Panels below the fold: each loads its module and its data when it first scrolls into view, then
// with every refresh (`view.shown` holds their element ids).
const LAZY_PANELS = {
  reconciliation: (generation) => section(generation, async () => {
    const [data, module] = await Promise.all([getJson("/api/reconciliation"), import("./js/reconciliation.js")]);
    return { data, module };
  }, ({ data, module }) => module.renderReconciliation($("reconciliation"), data),
  (err) => fill($("reconciliation"), placeholder(`Could not load the reconciliation: ${err.message}`, { error: true, retry: refresh }))),
  forecast: (generation) => section(generation, async () => {
    const module = await import("./js/forecast.js");
    const data = await getJson("/api/forecast", { group_by: "api_key_id", top: module.FORECAST_KEYS });
    return { data, module };
  }, ({ data, module }) => module.renderForecast($("forecast"), $("forecast-meta"), data),
  (err) => fill($("forecast"), placeholder(`Could not load the forecast: ${err.message}`, { error: true, retry: refresh }))),
};

function loadPanelsWhenShown() {
  const show = (id) => {
    if (view.shown.has(id)) return;
    view.shown.add(id);
    LAZY_PANELS[id](view.generation);
  };
  const ids = Object.keys(LAZY_PANELS);
  if (!("IntersectionObserver" in window)) return ids.forEach(show);
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      seen.unobserve(entry.target);
      show(entry.target.id);
    }
  });
  ids.forEach((id) => seen.observe($(id)));
}

async function section(generation, load, render, fail) {
  try {
    const data = await load();
    if (generation === view.generation) render(data);
    return "ok";
  } catch (err) {
    if (generation !== view.generation) return "stale";
    if (err instanceof ApiError && err.unauthorized) return "unauthorized";
    if (err instanceof ApiError && err.status === 0) {
      showGlobalError(err.message); // said once, at the top; each section just says it is empty
      fail(new ApiError(0, "the API did not answer"));
    } else {
      fail(err instanceof ApiError ? err : new ApiError(-1, String(err && err.message ? err.message : err)));
    }
    if (!(err instanceof ApiError)) console.warn(err); // eslint-disable-line no-console
    return "failed";
  }
}

function schedule() {
  clearTimeout(view.timer);
  view.timer = setTimeout(() => {
    if (document.visibilityState === "visible" && !$("token-dialog").open) refresh();
    else schedule();
  }, REFRESH_SECONDS * 1000);
}

function usageFailed(err) {
  view.usage = null;
  chart.destroy();
  fill($("kpis"));
  fill($("legend"));
  $("chart-placeholder").hidden = false;
  fill($("chart-placeholder"), placeholder(`Could not load usage: ${err.message}`, { error: true, retry: refresh }));
  fill($("groups-table"), placeholder(`Could not load usage: ${err.message}`, { error: true, retry: refresh }));
  $("as-of").textContent = "Data unavailable";
}

function rangeText(r) {
  const last = r.end - 1;
  const endText = r.end % DAY === 0 ? date(last) : `${date(r.end)}, ${clock(r.end)} UTC`;
  if (Math.floor(r.start / DAY) === Math.floor(last / DAY)) return `${date(r.start)}, 00:00–${clock(r.end)} UTC`;
  return `${date(r.start)} – ${endText} (${r.days} days)`;
}

// ---------------------------------------------------------------- rendering

function renderAsOf(data) {
  const el = $("as-of");
  const asOf = parseTime(data.data_as_of);
  const settled = parseTime(data.settled_before);
  const now = nowSeconds();
  if (!asOf) {
    fill(el, "No data collected yet: the collector has not finished a run.");
    return;
  }
  const stale = now - asOf > 2 * 3600;
  const age = now - asOf < 60 ? "just now" : relative(asOf, now);
  fill(
    el,
    "Data as of ",
    h("strong", { title: data.data_as_of }, when(asOf, now)),
    ` · ${age}`,
    stale ? [" ", h("span", { class: "chip bad" }, "stale")] : null,
    settled
      ? [" · ", h("span", { class: "chip warn", title: `Billed dollars before ${data.settled_before} are final; later figures may still change` }, "provisional"), ` since ${day(settled)}`]
      : [" · ", h("span", { class: "chip warn", title: "No day has settled yet: figures may still change" }, "provisional")],
  );
}

function measureOf(row) {
  return state.measure === "cost" ? usdNumber(row.cost_usd) : Number(row.total_tokens || 0);
}

function renderUsage() {
  const data = view.usage;
  if (!data) return;
  renderKpis(data);
  renderChart();
  const rows = data.groups || [];
  const subject = GROUPS[state.group];
  groupsTable.setData(rows, groupColumns(state.group, state.measure, rows, view.keysById, data.measures), {
    caption: `${rows.length} ${rows.length === 1 ? subject.noun : subject.plural} · ${rangeText(view.range)}`,
  });
  groupsTable.setFilter(state.filter, rowMatches);
}

function renderKpis(data) {
  const t = data.total || {};
  const kpi = (label, value, sub, title) =>
    h("div", { class: "kpi" }, h("div", { class: "label" }, label), h("div", { class: "value", title: title || null }, value), sub ? h("div", { class: "label" }, sub) : null);
  const unpriced = Number(t.unpriced_tokens || 0);
  fill(
    $("kpis"),
    kpi("Tokens", int(t.total_tokens), `${int(t.input_tokens)} in · ${int(t.output_tokens)} out`),
    kpi("Requests", int(t.requests), `${int(t.cached_tokens)} cached input tokens`),
    kpi("Spend", usd(dec(t.cost_usd)), `billed ${usd(dec(t.billed_usd))} · estimated ${usd(dec(t.estimated_usd))}`, `$${t.cost_usd}`),
    unpriced ? kpi("Unpriced tokens", int(unpriced), "models missing from the price table") : null,
  );
}

function renderChart() {
  const data = view.usage;
  if (!data) return;
  const groups = data.groups || [];
  const buckets = data.buckets || [];
  const box = $("chart-placeholder");
  const keyOf = (row) => JSON.stringify(row.group || {});
  // The named series are the groups the buckets list (the first `top` of `groups`, in its order);
  // every other group is in each bucket's `other` row.
  const named = data.top ? groups.slice(0, data.top) : groups;
  const index = new Map(named.map((g, i) => [keyOf(g), i]));
  const series = named.map((g, i) => ({ label: g.label || "unattributed", values: buckets.map(() => 0), ...seriesStyle(i) }));
  const rest = Number(data.other_groups || 0);
  const subject = GROUPS[state.group];
  const other = { label: `Other (${int(rest)} ${rest === 1 ? subject.noun : subject.plural})`, values: buckets.map(() => 0), ...seriesStyle(0, true) };
  buckets.forEach((bucket, b) => {
    for (const row of bucket.results || []) {
      const target = row.other ? other : series[index.get(keyOf(row))];
      if (target) target.values[b] += measureOf(row);
    }
  });
  const shown = series.filter((s) => s.values.some((v) => v > 0));
  if (other.values.some((v) => v > 0)) shown.push(other);
  const notCollected = uncollectedDays(data);
  const uncollected = buckets.map((b) => notCollected.has(isoDay(b.start_time)));
  if (!buckets.length || !shown.length) {
    chart.destroy();
    box.hidden = false;
    const never = uncollected.length && uncollected.every(Boolean);
    fill(box, placeholder(never ? "Not collected: the tracker holds no data for this period." : "No usage in this period."));
    $("chart-note").textContent = coverageNote(data, notCollected);
    fill($("legend"));
    $("chart").setAttribute("aria-label", "Usage chart: no usage in this period");
    $("chart-readout").textContent = "";
    return;
  }
  const width = state.bucket === "1h" ? 3600 : DAY;
  const provisional = buckets.map((b) => Boolean(b.provisional));
  box.hidden = true;
  chart.render({ x: buckets.map((b) => b.start_time), width, money: state.measure === "cost", series: shown, provisional, uncollected });
  const legend = shown.map((s) => h("li", {}, h("span", { class: `swatch ${s.swatch}`, "aria-hidden": "true" }), h("span", { class: "name", title: s.label }, s.label)));
  if (provisional.some(Boolean)) legend.push(h("li", {}, h("span", { class: "swatch provisional", "aria-hidden": "true" }), h("span", { class: "name" }, "provisional: may still change")));
  if (uncollected.some(Boolean)) legend.push(h("li", { class: "uncollected-key" }, h("span", { class: "swatch uncollected", "aria-hidden": "true" }), h("span", { class: "name" }, "not collected: unknown, not zero")));
  fill($("legend"), legend);
  const measure = state.measure === "cost" ? "dollars" : "tokens";
  const top = shown[0];
  $("chart").setAttribute(
    "aria-label",
    `Stacked bar chart of ${measure} per ${width === DAY ? "day" : "hour"} by ${GROUPS[state.group].noun}, ${buckets.length} bars; largest: ${top.label}. The table below has the figures.`,
  );
  const basis = measure === "dollars" && data.cost_basis === "estimated" ? " (estimated from the price table)" : "";
  $("chart-note").textContent = `${measure === "dollars" ? "Dollars" : "Tokens"} per ${width === DAY ? "day" : "hour"}, stacked by ${GROUPS[state.group].noun}${basis}. ${coverageNote(data, notCollected)}`.trim();
  showReadout(null);
}

/** The report's days before the first collection (coverage.uncollected_days), as a set of labels. */
function uncollectedDays(data) {
  const coverage = data.coverage || {};
  return new Set(coverage.uncollected_days || []);
}

function coverageNote(data, days) {
  if (!days.size) return "";
  const first = data.coverage && data.coverage.collected_from;
  const count = `${days.size} ${days.size === 1 ? "day" : "days"}`;
  const verb = days.size === 1 ? "was" : "were";
  return first ? `${count} before ${date(Date.parse(`${first}T00:00:00Z`) / 1000)} ${verb} never collected (hatched).` : "Nothing has been collected yet.";
}

function showReadout(i) {
  const data = view.usage;
  if (!data || !chart.input) return;
  if (i === null || i === undefined || i < 0) {
    const t = data.total || {};
    $("chart-readout").textContent =
      state.measure === "cost" ? `Total ${usd(dec(t.cost_usd))} · hover or touch the chart for a bucket’s figures` : `Total ${int(t.total_tokens)} tokens · hover or touch the chart for a bucket’s figures`;
    return;
  }
  $("chart-readout").textContent = chart.describe(i);
}

function renderModels() {
  const data = view.models;
  if (!data) return;
  const rows = data.groups || [];
  modelsTable.setData(rows, modelColumns(state.measure, rows, data.measures), {
    caption: `${rows.length} ${rows.length === 1 ? "model" : "models"} · ${rangeText(view.range)}`,
  });
}

// ---------------------------------------------------------------- comparison

function keyLabel(k) {
  return k.name || k.key_id;
}

function renderKeyPicker() {
  const list = $("compare-list");
  const text = $("compare-filter").value.trim().toLowerCase();
  const keys = [...view.keys].sort((a, b) => Number(dec(b.usage_30d && b.usage_30d.cost_usd) - dec(a.usage_30d && a.usage_30d.cost_usd)) || keyLabel(a).localeCompare(keyLabel(b)));
  const visible = text ? keys.filter((k) => [k.name, k.owner, k.team, k.key_id, k.project_name].some((v) => v && String(v).toLowerCase().includes(text))) : keys;
  if (!keys.length) {
    fill(list, placeholder("No keys yet."));
  } else if (!visible.length) {
    fill(list, placeholder("No keys match."));
  } else {
    fill(
      list,
      visible.map((k) => {
        const box = h("input", { type: "checkbox", value: k.key_id, checked: state.compare.has(k.key_id) });
        box.addEventListener("change", () => {
          if (box.checked) state.compare.add(k.key_id);
          else state.compare.delete(k.key_id);
          updateCompareButton();
        });
        return h("label", {}, box, h("span", {}, keyLabel(k), h("span", { class: "sub" }, [k.owner, k.project_name].filter(Boolean).join(" · ") || k.key_id)));
      }),
    );
  }
  updateCompareButton();
}

function updateCompareButton() {
  const n = state.compare.size;
  $("compare-count").textContent = n > 20 ? `${n} selected: 20 at most` : `${n} selected`;
  $("compare-run").disabled = n < 2 || n > 20;
}

async function loadCompare(generation = view.generation) {
  const ids = [...state.compare];
  if (ids.length < 2 || !view.range) return "ok";
  $("compare-table").setAttribute("aria-busy", "true");
  const outcome = await section(
    generation,
    () => getJson("/api/compare", { api_key_ids: ids, start_time: view.range.start, end_time: view.range.end }),
    (data) => {
      view.compareData = data;
      const model = compareModel(data);
      compareTable.setData(model.rows, model.columns, { caption: `${(data.keys || []).length} keys · ${rangeText(view.range)}` });
      $("export-compare").disabled = false;
    },
    (err) => fill($("compare-table"), placeholder(`Could not compare: ${err.message}`, { error: true, retry: () => loadCompare() })),
  );
  $("compare-table").setAttribute("aria-busy", "false");
  if (outcome === "unauthorized" && generation === view.generation) {
    token.clear();
    await askToken("That token was not accepted. Check it and try again.");
    refresh();
  }
  return outcome;
}

// ---------------------------------------------------------------- export

// js/csv.js is fetched on the first export, not with the page: most visits never export.
async function exportTable(table, stem) {
  if (!table.table || !view.range) return;
  const r = view.range;
  const name = `${stem}-${isoDay(r.start)}-to-${isoDay(r.end - 1)}.csv`;
  const rows = table.csvRows();
  const { download, toCsv } = await import("./js/csv.js");
  download(name, toCsv(rows));
}

// ---------------------------------------------------------------- errors

function showGlobalError(message, { signIn = false } = {}) {
  const banner = $("global-error");
  const parts = [h("span", {}, message)];
  if (signIn) {
    const button = h("button", { type: "button", class: "btn primary" }, "Sign in");
    button.addEventListener("click", () => askToken().then(() => refresh()));
    parts.push(button);
  } else {
    const button = h("button", { type: "button", class: "btn" }, "Retry");
    button.addEventListener("click", () => refresh());
    parts.push(button);
  }
  fill(banner, parts);
  banner.className = signIn ? "banner warn" : "banner error";
  banner.hidden = false;
}

function hideGlobalError() {
  $("global-error").hidden = true;
}

document.addEventListener("securitypolicyviolation", (event) => {
  if (!event.violatedDirective.startsWith("connect-src")) return;
  showGlobalError(
    `This page's Content-Security-Policy does not allow the API at ${event.blockedURI}: publish the dashboard with ` +
      "`python -m deploy publish-dashboard` (or serve it with `python -m devstack.dashboard`), which adds the API's origin.",
  );
});

// ---------------------------------------------------------------- start

function start() {
  if (CONFIG.stage && CONFIG.stage !== "prod") {
    $("stage").textContent = CONFIG.stage;
    $("stage").hidden = false;
  }
  if (!apiBase() && window.location.protocol === "file:") {
    showGlobalError("config.js names no API: serve the page with `python -m devstack.dashboard --api-url URL`.");
    return;
  }
  readHash();
  syncControls();
  writeHash();
  bindControls();
  bindTheme();
  bindDialog();
  refresh();
  loadPanelsWhenShown();
}

start();

