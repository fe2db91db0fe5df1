// The tables' columns: how each value is shown, sorted, totalled and written to CSV.

import { h } from "./dom.js";
import { dec, decString, usd, int, pct, pctNumber } from "./format.js";

const UNATTRIBUTED = "unattributed";

export const GROUPS = {
  owner: { title: "Person", noun: "person", plural: "people", section: "By person" },
  api_key_id: { title: "API key", noun: "API key", plural: "keys", section: "By API key" },
  team: { title: "Team", noun: "team", plural: "teams", section: "By team" },
  model: { title: "Model", noun: "model", plural: "models", section: "By model" },
  project_id: { title: "Project", noun: "project", plural: "projects", section: "By project" },
};

const FLAG_TEXT = {
  unpriced: "no price",
  unmapped: "unmapped",
  provisional: "provisional",
  unattributed: "unattributed",
  line_item: "not a model",
};
const FLAG_CLASS = { unpriced: "chip bad", unmapped: "chip warn", provisional: "chip warn", unattributed: "chip", line_item: "chip" };

function intColumn(id, label) {
  const value = (row) => Number(row[id] || 0);
  return {
    id,
    label,
    num: true,
    sort: value,
    render: (row) => int(value(row)),
    csv: value,
    total: (rows) => {
      const sum = rows.reduce((acc, row) => acc + value(row), 0);
      return { render: int(sum), csv: sum };
    },
  };
}

function moneyColumn(id, label) {
  const value = (row) => dec(row[id]);
  return {
    id,
    label,
    num: true,
    sort: value,
    render: (row) => usd(value(row)),
    title: (row) => `$${decString(value(row))}`,
    csv: (row) => decString(value(row)),
    total: (rows) => {
      const sum = rows.reduce((acc, row) => acc + value(row), 0n);
      return { render: usd(sum), csv: decString(sum), title: `$${decString(sum)}` };
    },
  };
}

/** The cost (docs/money.md: billed where settled, else estimated); tokens without a price are shown as
 * "unpriced", never as $0.00. The CSV keeps the number, so its column sums to the total on screen. */
function costColumn() {
  const column = moneyColumn("cost_usd", "Cost $");
  const unpriced = (row) => Number(row.unpriced_tokens || 0);
  return {
    ...column,
    render: (row) => {
      if (!unpriced(row)) return column.render(row);
      const text = dec(row.cost_usd) ? `${usd(dec(row.cost_usd))} + unpriced` : "unpriced";
      return h("span", { class: "unpriced", title: `${int(unpriced(row))} tokens without a price` }, text);
    },
  };
}

/** Where a row's cost comes from, for the CSV. */
function basisColumn() {
  const basis = (row) => ((row.flags || []).includes("provisional") ? "billed where settled, else estimated" : "billed");
  return { ...textColumn("basis", "Basis", basis), csvOnly: true };
}

function shareColumn(measure) {
  const field = measure === "cost" ? "share_cost" : "share_tokens";
  const value = (row) => Number(row[field] || 0);
  const cell = (fraction) => {
    const bar = h("span");
    bar.style.width = `${Math.min(100, Math.max(0, fraction * 100)).toFixed(1)}%`; // CSSOM: allowed by the CSP
    return h("span", { class: "share" }, h("span", { class: "share-bar", "aria-hidden": "true" }, bar), pct(fraction));
  };
  return {
    id: "share",
    label: measure === "cost" ? "Share of $" : "Share of tokens",
    num: true,
    // Sorted by the exact amount the share is of (a rounded share would tie small rows).
    sort: measure === "cost" ? (row) => dec(row.cost_usd) : (row) => Number(row.total_tokens || 0),
    render: (row) => cell(value(row)),
    csv: (row) => pctNumber(value(row)),
    total: (rows) => {
      const sum = rows.reduce((acc, row) => acc + value(row), 0);
      return { render: pct(sum), csv: pctNumber(sum) };
    },
  };
}

export function metricColumns(measure) {
  return [
    intColumn("input_tokens", "Tokens in"),
    intColumn("output_tokens", "Tokens out"),
    intColumn("cached_tokens", "Cached in"),
    intColumn("requests", "Requests"),
    moneyColumn("billed_usd", "Billed $"),
    moneyColumn("estimated_usd", "Est. $"),
    costColumn(),
    { ...intColumn("unpriced_tokens", "Unpriced tokens"), csvOnly: true },
    basisColumn(),
    shareColumn(measure),
  ];
}

function gbDaysColumn(id, label) {
  const value = (row) => Number(row[id] || 0);
  const show = (n) => n.toFixed(3); // the CSV says what the cell shows (1 MB-day resolution)
  return {
    id,
    label,
    num: true,
    sort: value,
    render: (row) => show(value(row)),
    csv: (row) => show(value(row)),
    total: (rows) => {
      const sum = rows.reduce((acc, row) => acc + value(row), 0);
      return { render: show(sum), csv: show(sum) };
    },
  };
}

/** Per-call measures, each in its own unit (never folded into tokens): the API's `measures` list
 * (declared once, in chalicelib/kinds.py), only those the rows have. */
export function toolColumns(rows, measures) {
  return (measures || [])
    .map((m) => (m.unit === "gb_days" ? gbDaysColumn(m.id, m.label) : intColumn(m.id, m.label)))
    .filter((column) => rows.some((row) => Number(row[column.id] || 0) !== 0));
}

function textColumn(id, label, value) {
  return {
    id,
    label,
    sort: (row) => (value(row) || "").toLowerCase(),
    render: (row) => value(row) || "—",
    csv: (row) => value(row) || "",
  };
}

/** The first column: the group's label (text only), with its id underneath when that helps. */
function nameColumn(group) {
  const title = GROUPS[group] ? GROUPS[group].title : "Group";
  // A row grouped by several dimensions (model and pool) is labelled "gpt-4o · large": use this one's.
  const name = (row) => (row.labels && row.labels[group]) || row.label || (row.group && row.group[group]) || "unattributed";
  return {
    id: "name",
    label: title,
    cellClass: "name",
    sort: (row) => name(row).toLowerCase(),
    render: (row) => {
      const id = row.group && row.group[group];
      if (group !== "api_key_id" || !id || id === UNATTRIBUTED) return h("span", { class: "label" }, name(row));
      const project = row.key && (row.key.project_name || row.key.project_id);
      return [
        h("span", { class: "label" }, name(row)),
        h("span", { class: "sub" }, project ? `${project} · ` : "", h("span", { class: "mono" }, id)),
      ];
    },
    csv: (row) => name(row),
    total: () => ({ render: "Total", csv: "Total" }),
  };
}

function budgetText(key) {
  if (!key || !key.budget_status || !key.budget) return null;
  const { budget, budget_status: status } = key;
  const limit = budget.unit === "usd" ? usd(budget.amount) : `${int(budget.amount)} tokens`;
  const per = budget.period === "monthly" ? "month" : "day";
  return { percent: Number(status.percent) || 0, text: `${(Number(status.percent) || 0).toFixed(1)}% of ${limit} per ${per}` };
}

function budgetColumn(keysById) {
  const info = (row) => budgetText(keysById.get(row.group && row.group.api_key_id));
  return {
    id: "budget",
    label: "Budget",
    num: true,
    sort: (row) => (info(row) ? info(row).percent : -1),
    render: (row) => {
      const b = info(row);
      if (!b) return h("span", { class: "muted" }, "—");
      const cls = b.percent >= 100 ? "budget-bad" : b.percent >= 80 ? "budget-warn" : "budget-ok";
      return h("span", { class: cls }, b.text);
    },
    csv: (row) => (info(row) ? info(row).text : ""),
  };
}

// "provisional" is a property of the period's last days, which the header and the chart mark: on
// every row it would only be noise. The notes are the flags that single a row out.
const NOTE_FLAGS = new Set(["unpriced", "unmapped", "unattributed", "line_item"]);
const notes = (row) => (row.flags || []).filter((f) => NOTE_FLAGS.has(f));

function notesColumn() {
  const flags = notes;
  return {
    id: "notes",
    label: "Notes",
    sort: (row) => flags(row).join(" "),
    render: (row) => flags(row).flatMap((f, i) => [i ? " " : null, h("span", { class: FLAG_CLASS[f] || "chip", title: f }, FLAG_TEXT[f] || f)]),
    csv: (row) => flags(row).map((f) => FLAG_TEXT[f] || f).join("; "),
  };
}

// With Dollars the tables sort by each row's dollars (the "Cost $" column: billed where settled,
// else estimated, the API's cost_usd); with Tokens by tokens in.
function defaultSortColumn(measure) {
  return measure === "cost" ? "cost_usd" : "input_tokens";
}

/** Columns of the per-group table for this grouping (`measures`: the report's per-call measures). */
export function groupColumns(group, measure, rows, keysById, measures) {
  const columns = [nameColumn(group)];
  const filled = (column) => rows.some((row) => column.csv(row) !== "");
  if (group === "api_key_id") {
    // The key's id and project are shown under its name; the CSV has them as columns of their own.
    columns.push(
      { ...textColumn("key_id", "Key ID", (row) => row.group && row.group.api_key_id), csvOnly: true },
      { ...textColumn("project", "Project", (row) => row.key && (row.key.project_name || row.key.project_id)), csvOnly: true },
      // A column nobody has filled (no key has a team yet) is only noise.
      ...[textColumn("owner", "Owner", (row) => row.key && row.key.owner), textColumn("team", "Team", (row) => row.key && row.key.team)].filter(filled),
    );
  }
  columns.push(...metricColumns(measure), ...toolColumns(rows, measures));
  columns[columns.findIndex((c) => c.id === defaultSortColumn(measure))].defaultSort = true;
  if (group === "api_key_id" && filled(budgetColumn(keysById))) columns.push(budgetColumn(keysById));
  if (rows.some((row) => notes(row).length)) columns.push(notesColumn());
  return columns;
}

/** Columns of the per-model table: the model, its pool, the metrics, the per-call measures. */
export function modelColumns(measure, rows, measures) {
  const columns = [
    nameColumn("model"),
    textColumn("pool", "Pool", (row) => row.group && row.group.pool),
    ...metricColumns(measure),
    ...toolColumns(rows, measures),
  ];
  columns[columns.findIndex((c) => c.id === defaultSortColumn(measure))].defaultSort = true;
  if (rows.some((row) => notes(row).length)) columns.push(notesColumn());
  return columns;
}
