// The chosen keys side by side over the page's period (/api/compare), loaded at the first Compare.

import { getJson } from "./api.js";
import { bounds } from "./compare.js";
import { $, fill, h, placeholder } from "./dom.js";
import { dec, decString, int, pct, pctNumber, usd } from "./format.js";
import { rangeText } from "./periods.js";
import { section } from "./refresh.js";
import { state, view } from "./state.js";
import { DataTable } from "./table.js";

// The comparison: one row per measure, one column per key, then the selection's total.
const COMPARE_ROWS = [
  ["Input tokens", "input_tokens", "int"],
  ["Output tokens", "output_tokens", "int"],
  ["Cached tokens", "cached_tokens", "int"],
  ["Total tokens", "total_tokens", "int"],
  ["Requests", "requests", "int"],
  ["Billed $", "billed_usd", "usd"],
  ["Estimated $", "estimated_usd", "usd"],
  ["Cost $ (billed, else est.)", "cost_usd", "usd"],
  ["Share of tokens", "share_tokens", "pct"],
  ["Share of $", "share_cost", "pct"],
];

function compareValue(kind, raw) {
  if (kind === "usd") return { sort: dec(raw), render: usd(dec(raw)), csv: decString(dec(raw)) };
  if (kind === "pct") {
    const n = Number(raw || 0);
    return { sort: n, render: pct(n), csv: pctNumber(n) };
  }
  const n = Number(raw || 0);
  return { sort: n, render: int(n), csv: n };
}

function compareModel(data) {
  const keys = data.keys || [];
  const rows = COMPARE_ROWS.map(([label, field, kind]) => {
    const values = keys.map((k) => compareValue(kind, k[field]));
    const total = kind === "pct" ? null : compareValue(kind, data.total ? data.total[field] : 0);
    let best = -1;
    if (keys.length > 1) {
      values.forEach((v, i) => {
        if (v.sort > 0 && (best < 0 || v.sort > values[best].sort)) best = i;
      });
    }
    return { label, values, total, best };
  });
  const columns = [
    { id: "metric", label: "Measure", render: (row) => row.label, csv: (row) => row.label },
    ...keys.map((k, i) => ({
      id: `key-${i}`,
      label: k.label || (k.group && k.group.api_key_id) || "key",
      num: true,
      render: (row) => (row.best === i ? h("strong", {}, row.values[i].render) : row.values[i].render),
      csv: (row) => row.values[i].csv,
    })),
    {
      id: "total",
      label: "All selected",
      num: true,
      render: (row) => (row.total ? row.total.render : "—"),
      csv: (row) => (row.total ? row.total.csv : ""),
    },
  ];
  return { rows, columns };
}

export const compareTable = new DataTable($("compare-table"), { empty: "Pick keys, then Compare." });

/** Compare the chosen keys over the page's period; "unauthorized" when the token was refused. */
export async function loadCompare(generation = view.generation) {
  const ids = [...state.compare];
  if (ids.length < bounds().min || !view.range) return "ok";
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
    (err) => fill($("compare-table"), placeholder(`Could not compare: ${err.message}`, { error: true, retry: compareNow })),
  );
  $("compare-table").setAttribute("aria-busy", "false");
  return outcome;
}

/** The comparison was of a period no longer valid: take it down (it runs again once one is). */
export function clearComparison(why) {
  if (!compareTable.table) return;
  fill($("compare-table"), placeholder(why));
  compareTable.table = null;
  $("export-compare").disabled = true;
}

export async function compareNow() {
  const generation = view.generation;
  if ((await loadCompare(generation)) === "unauthorized" && generation === view.generation) await (await import("./auth.js")).signInAgain();
}

