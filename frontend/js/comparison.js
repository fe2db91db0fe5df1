// The chosen keys side by side over the page's period (/api/compare), loaded at the first Compare.

import { getJson } from "./api.js";
import { compareModel } from "./columns.js";
import { bounds } from "./compare.js";
import { $, fill, placeholder } from "./dom.js";
import { rangeText } from "./periods.js";
import { section } from "./refresh.js";
import { state, view } from "./state.js";
import { DataTable } from "./table.js";

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

