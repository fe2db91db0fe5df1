// The period's usage from /api/usage: "data as of", KPIs, the stacked chart, the tables by group and
// by model.

import { UsageChart, seriesStyle } from "./chart.js";
import { GROUPS, groupColumns, modelColumns } from "./columns.js";
import { $, fill, h, placeholder } from "./dom.js";
import { date, day, dec, int, parseTime, relative, usd, usdNumber, when } from "./format.js";
import { DAY, isoDay, rangeText } from "./periods.js";
import { nowSeconds, page, state, view } from "./state.js";
import { DataTable } from "./table.js";

export const groupsTable = new DataTable($("groups-table"), { empty: "No usage in this period." });
export const modelsTable = new DataTable($("models-table"), { empty: "No usage in this period." });
const chart = new UsageChart($("chart"), { onHover: (i) => showReadout(i) });

export function renderAsOf(data) {
  const el = $("as-of");
  const asOf = parseTime(data.data_as_of);
  const settled = parseTime(data.settled_before);
  const now = nowSeconds();
  if (!asOf) {
    fill(el, "No data collected yet: the collector has not finished a run.");
    return;
  }
  // stale as /api/health judges it
  const stale = Boolean(view.limits) && now - asOf > view.limits.stale_after_seconds;
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

export function renderUsage() {
  const data = view.usage;
  if (!data) return;
  renderKpis(data);
  renderChart();
  renderTable();
}

/** A page of the groups (js/pager.js moves it), totalled with the report's total: the KPIs' figure. */
export function renderTable() {
  const data = view.page;
  if (!data) return;
  const rows = data.groups || [];
  const count = data.group_count ?? rows.length;
  const subject = GROUPS[state.group];
  const search = data.search ? ` matching “${data.search}”` : "";
  groupsTable.empty = search ? `No ${subject.plural}${search}.` : "No usage in this period.";
  groupsTable.setData(rows, groupColumns(state.group, state.measure, rows, view.keysById, data.measures), {
    caption: `${int(count)} ${count === 1 ? subject.noun : subject.plural}${search} · ${rangeText(view.range)}`,
    whole: [{ ...data.total, share_tokens: 1, share_cost: 1 }],
  });
  if (count > rows.length || data.offset || document.getElementById("groups-pager")) import("./pager.js").then((m) => m.renderPager(data));
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

export function renderChart() {
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
  // The report's days before the first collection (coverage.uncollected_days).
  const notCollected = new Set((data.coverage || {}).uncollected_days || []);
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

export function renderModels() {
  const data = view.models;
  if (!data) return;
  const rows = data.groups || [];
  modelsTable.setData(rows, modelColumns(state.measure, rows, data.measures), {
    caption: `${rows.length} ${rows.length === 1 ? "model" : "models"} · ${rangeText(view.range)}`,
  });
}

export function usageFailed(err) {
  view.usage = view.page = null;
  chart.destroy();
  fill($("kpis"));
  fill($("legend"));
  $("chart-placeholder").hidden = false;
  const why = `Could not load usage: ${err.message}`;
  fill($("chart-placeholder"), placeholder(why, { error: true, retry: page.refresh }));
  fill($("groups-table"), placeholder(why, { error: true, retry: page.refresh }));
  $("as-of").textContent = "Data unavailable";
}

/** An invalid range: take down every figure of the previous range and say why (`why`). */
export function clearUsage(why) {
  view.usage = view.page = null;
  view.models = null;
  chart.destroy();
  fill($("kpis"));
  fill($("legend"));
  $("chart-note").textContent = "";
  $("chart-readout").textContent = "";
  $("chart-placeholder").hidden = false;
  fill($("chart-placeholder"), placeholder(why, { error: true }));
  fill($("groups-table"), placeholder(why));
  fill($("models-table"), placeholder(why));
  groupsTable.table = null;
  modelsTable.table = null;
  $("chart").setAttribute("aria-label", "Usage chart: no valid period chosen");
}
