// The reconciliation panel: per billed day, the estimate against OpenAI's bill (GET /api/reconciliation,
// docs/money.md). Flagged days name the models whose prices are missing or stale.

import { fill, h, placeholder } from "./dom.js";
import { dec, usd } from "./format.js";

const SHOWN_DAYS = 7;

const gapText = (percent) => (percent === null || percent === undefined ? "—" : `${percent > 0 ? "+" : ""}${Number(percent).toFixed(2)}%`);

/** Render the last billed days (newest first) and the period's total into `box`. */
export function renderReconciliation(box, data) {
  const days = [...(data.days || [])].reverse().slice(0, SHOWN_DAYS);
  if (!days.length) {
    fill(box, placeholder("No billed day yet: a day is billed 48 hours after it ends."));
    return;
  }
  const row = (label, item, extra) =>
    h(
      "tr",
      { class: item.flagged ? "flagged" : null },
      h("th", { scope: "row" }, label),
      h("td", { class: "num" }, usd(dec(item.estimated_usd))),
      h("td", { class: "num" }, usd(dec(item.billed_usd))),
      h("td", { class: "num" }, gapText(item.gap_percent)),
      h("td", null, extra),
    );
  const status = (day) =>
    day.flagged
      ? [h("span", { class: "chip bad" }, "gap"), " ", (day.explained_by || []).join(", ")]
      : h("span", { class: "muted" }, "within threshold");
  fill(
    box,
    h(
      "table",
      { class: "recon" },
      h("thead", null, h("tr", null, h("th", null, "Day"), h("th", { class: "num" }, "Estimated"), h("th", { class: "num" }, "Billed"), h("th", { class: "num" }, "Gap"), h("th", null, "Explained by"))),
      h("tbody", null, ...days.map((day) => row(day.day, day, status(day)))),
      h("tfoot", null, row(`${(data.days || []).length} billed days`, data.total, `${(data.flagged_days || []).length} over ${data.threshold_percent}%`)),
    ),
  );
}
