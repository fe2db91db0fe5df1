// The month-end forecast panel (GET /api/forecast?group_by=api_key_id): the organization's month so
// far, forecast and range, then the keys with the largest forecasts beside their monthly budgets, and
// the day a key's forecast reaches its budget. The method is the API's (docs/operations.md "Forecasts").

import { fill, h, placeholder } from "./dom.js";
import { dec, usd } from "./format.js";

export const FORECAST_KEYS = 10;

const MONTH = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
const dayText = (label) => MONTH.format(new Date(`${label}T00:00:00Z`));
const range = (item) => `${usd(dec(item.low_usd))} – ${usd(dec(item.high_usd))}`;

function budgetCell(row) {
  if (row.budget_usd === null || row.budget_usd === undefined) return h("span", { class: "muted" }, "no monthly $ budget");
  const of = `${usd(dec(row.budget_usd))} (${Math.round(row.forecast_percent)}%)`;
  if (row.over_budget) return [of, " ", h("span", { class: "chip bad" }, "over budget")];
  if (row.on_track_to_exceed) return [of, " ", h("span", { class: "chip bad", title: row.on_track_to_exceed }, `exceeds ${dayText(row.on_track_to_exceed)}`)];
  return [of, " ", h("span", { class: "muted" }, "within budget")];
}

/** Render the forecast answer into `box` and its one-line summary into `meta`. */
export function renderForecast(box, meta, data) {
  const total = data.total;
  const method = data.method;
  fill(
    meta,
    `${data.month}, day ${data.day_of_month} of ${data.days_in_month}: `,
    h("strong", { class: "forecast-total" }, usd(dec(total.forecast_usd))),
    ` forecast (range ${range(total)}), ${usd(dec(total.month_to_date_usd))} so far. `,
    h("span", { class: "muted" }, `Run rate of the last ${method.window_days} days × weekday shape.`),
  );
  if (!data.groups.length) {
    fill(box, placeholder("No spend in the last weeks: nothing to forecast."));
    return;
  }
  const row = (item) =>
    h(
      "tr",
      { class: item.on_track_to_exceed || item.over_budget ? "flagged" : null },
      h("th", { scope: "row" }, item.label),
      h("td", { class: "num" }, usd(dec(item.month_to_date_usd))),
      h("td", { class: "num" }, usd(dec(item.forecast_usd))),
      h("td", { class: "num" }, range(item)),
      h("td", null, budgetCell(item)),
    );
  fill(
    box,
    h(
      "table",
      { class: "forecast" },
      h("thead", null, h("tr", null, h("th", null, "Key"), h("th", { class: "num" }, "So far"), h("th", { class: "num" }, "Forecast"), h("th", { class: "num" }, "Range"), h("th", null, "Monthly budget"))),
      h("tbody", null, ...data.groups.map(row)),
      h("tfoot", null, h("tr", null, h("th", { scope: "row" }, "Organization"), h("td", { class: "num" }, usd(dec(total.month_to_date_usd))), h("td", { class: "num" }, usd(dec(total.forecast_usd))), h("td", { class: "num" }, range(total)), h("td", { class: "muted" }, data.other_groups ? `+${data.other_groups} more keys` : ""))),
    ),
  );
}
