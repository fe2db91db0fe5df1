// Loading: a refresh loads every section in parallel (the first waits for /api/health's `limits`),
// each shows its own failure, "the API did not answer" goes once in the page's banner.

import { AlertsView } from "./alerts.js";
import { ApiError, getJson, token } from "./api.js";
import { keysQuery, showKeys } from "./compare.js";
import { syncControls } from "./controls.js";
import { $, fill, h, placeholder } from "./dom.js";
import { range, rangeText, widthAllowed } from "./periods.js";
import { renderNotices, renderPools } from "./pools.js";
import { REFRESH_SECONDS, nowSeconds, state, view, writeHash } from "./state.js";
import { clearUsage, renderAsOf, renderModels, renderTable, renderUsage, usageFailed } from "./usage-view.js";

// The chart stacks the period's largest groups and one "Other": the API ranks them (by cost, then
// tokens) and sums the rest per bucket (`top`), so a 1,000-key period stays a small answer; the table
// a page of `state.rows` groups.
const CHART_SERIES = 8;
const usageQuery = (offset, search) => {
  const r = view.range;
  return { start_time: r.start, end_time: r.end, bucket_width: state.bucket, group_by: state.group, top: CHART_SERIES, limit: state.rows, offset, search };
};
const paged = () => state.offset || state.filter;

/** The table's page (`first`: the chart's answer, page 1); by key, with its keys' info (budgets). */
export function loadPage(generation = view.generation, first = null) {
  const load = async () => {
    const data = await (first || getJson("/api/usage", usageQuery(state.offset, state.filter)));
    const ids = state.group === "api_key_id" ? data.groups.map((g) => g.group.api_key_id) : [];
    return [data, ids.length ? (await getJson("/api/keys", { key_ids: ids }).catch(() => ({}))).data : []];
  };
  return section(generation, load, ([data, keys]) => {
    if (data.offset !== state.offset || (data.search || "") !== state.filter) return; // a later ask is coming
    view.page = data;
    view.keysById = new Map((keys || []).map((k) => [k.key_id, k]));
    renderTable();
  }, failed("groups-table", "the table"));
}
const auth = () => import("./auth.js");

const alertsView = new AlertsView({ banner: $("alerts-banner"), table: $("alerts-table"), filters: $("alert-filters"), meta: $("alerts-meta") });
let hygiene;
const loadHygiene = async () => $("hygiene").open && (hygiene ||= new (await import("./hygiene.js")).HygieneView()).load();
$("hygiene").ontoggle = () => loadHygiene().catch(() => {});

/** /api/health's body, from a 200 or a 503 (degraded). */
async function loadHealth() {
  try {
    return await getJson("/api/health");
  } catch (err) {
    if (err instanceof ApiError && err.body && typeof err.body.status === "string") return err.body;
    if (err instanceof ApiError && err.status === 0) throw err;
    return { status: "failed", reason: err.message || "the health check did not answer" };
  }
}

function showHealth(body) {
  const el = $("health-banner");
  if ((body && body.status !== "ok") || !el.hidden) import("./health.js").then((m) => m.renderHealth(el, body, nowSeconds()));
}

/** A section's failure, in place of its content, with a Retry button. */
export const failed = (id, what) => (err) => fill($(id), placeholder(`Could not load ${what}: ${err.message}`, { error: true, retry: refresh }));

function setBusy(busy) {
  document.body.dataset.state = busy ? "loading" : "ready";
  for (const id of ["chart-box", "groups-table", "models-table", "pools"]) $(id).setAttribute("aria-busy", String(busy));
}

export async function refresh() {
  const generation = ++view.generation;
  const health = loadHealth();
  health.catch(() => {}); // not unhandled when this refresh stops early
  if (!view.limits) {
    view.limits = (await health.catch(() => null))?.limits || null;
    if (generation !== view.generation) return;
    if (view.limits) {
      syncControls(); // hourly buckets may not be allowed after all
      writeHash();
    }
  }
  const now = nowSeconds();
  const r = range(state.period, now, state.from, state.to);
  const error = r.error || (widthAllowed(r, "1d", now, view.limits) ? null : "The period is longer than the API allows.");
  if (error) {
    clearFigures(error);
    return;
  }
  $("range-text").classList.remove("error-text");
  view.range = r;
  $("range-text").textContent = rangeText(r);
  setBusy(true);
  $("global-error").hidden = true;
  if (!token.get()) await (await auth()).askToken();
  if (generation !== view.generation) return;
  const common = { start_time: r.start, end_time: r.end };
  const chart = getJson("/api/usage", usageQuery(0, ""));
  chart.catch(() => {});
  const tasks = [
    section(generation, () => health, showHealth, () => {}),
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
    }, failed("pools", "the pools")),
    section(generation, () => chart, (data) => {
      view.usage = data;
      if (!paged()) view.page = data;
      renderUsage();
      renderAsOf(data);
    }, (err) => usageFailed(err)),
    loadPage(generation, paged() ? null : chart),
    section(generation, () => getJson("/api/usage", { ...common, bucket_width: "1d", group_by: ["model", "pool"] }), (data) => {
      view.models = data;
      renderModels();
    }, failed("models-table", "usage by model")),
    ...[...view.shown].map((id) => loadPanel(id, generation)),
    section(generation, keysQuery, showKeys, failed("compare-list", "the keys")),
  ];
  if (view.compareData) tasks.push(later("./comparison.js", (m) => m.loadCompare(generation)));
  const outcomes = await Promise.all(tasks);
  if (generation !== view.generation) return;
  if (outcomes.some((o) => o === "unauthorized")) {
    await (await auth()).signInAgain();
    return;
  }
  if (view.role === "admin" || view.admin) await (await auth()).showAdmin();
  if (generation !== view.generation) return;
  view.lastLoad = Date.now();
  setBusy(false);
  schedule();
}

/** An invalid range: say why, and take down every figure that belonged to the previous range. */
function clearFigures(error) {
  ++view.generation; // answers still on their way belong to the old range: drop them
  view.range = null;
  const text = $("range-text");
  text.textContent = error;
  text.classList.add("error-text");
  const why = `No figures: ${error}`;
  clearUsage(why);
  if (view.compareData) import("./comparison.js").then((m) => m.clearComparison(why));
  setBusy(false);
  document.body.dataset.state = "invalid";
}

// A module that cannot be fetched fails its section, not the refresh.
const later = (module, run) => import(module).then(run, () => "failed");

function loadPanel(id, generation) {
  return later("./panels.js", (panels) => panels.PANELS[id](generation));
}

function schedule() {
  clearTimeout(view.timer);
  view.timer = setTimeout(() => {
    if (document.visibilityState === "visible" && !$("token-dialog")?.open) refresh();
    else schedule();
  }, REFRESH_SECONDS * 1000);
}

export function loadPanelsWhenShown() {
  const show = (id) => {
    if (view.shown.has(id)) return;
    view.shown.add(id);
    loadPanel(id, view.generation);
  };
  const ids = ["reconciliation", "forecast"];
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

/** Run one section's request; render or show its error; "unauthorized" tells refresh to ask again. */
export async function section(generation, load, render, fail) {
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

/** The banner above everything; `signIn` is the sign-in action (a Retry button without one). */
export function showGlobalError(message, signIn = null) {
  const banner = $("global-error");
  const button = h("button", { type: "button", class: signIn ? "btn primary" : "btn" }, signIn ? "Sign in" : "Retry");
  button.addEventListener("click", () => (signIn ? signIn() : refresh()));
  fill(banner, h("span", {}, message), button);
  banner.className = signIn ? "banner warn" : "banner error";
  banner.hidden = false;
}

document.addEventListener("securitypolicyviolation", (event) => {
  if (!event.violatedDirective.startsWith("connect-src")) return;
  showGlobalError(
    `This page's Content-Security-Policy does not allow the API at ${event.blockedURI}: publish the dashboard with ` +
      "`python -m deploy publish-dashboard` (or serve it with `python -m devstack.dashboard`), which adds the API's origin.",
  );
});
