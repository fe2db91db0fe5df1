// The panels below the fold, each loaded (this module, its renderer and its data) when it first
// scrolls into view, then with every refresh: refresh.js calls PANELS[id](generation).

import { getJson } from "./api.js";
import { $ } from "./dom.js";
import { failed, section } from "./refresh.js";

export const PANELS = {
  reconciliation: (generation) => section(generation, async () => {
    const [data, module] = await Promise.all([getJson("/api/reconciliation"), import("./reconciliation.js")]);
    return { data, module };
  }, ({ data, module }) => module.renderReconciliation($("reconciliation"), data), failed("reconciliation", "the reconciliation")),
  forecast: (generation) => section(generation, async () => {
    const module = await import("./forecast.js");
    const data = await getJson("/api/forecast", { group_by: "api_key_id", top: module.FORECAST_KEYS });
    return { data, module };
  }, ({ data, module }) => module.renderForecast($("forecast"), $("forecast-meta"), data), failed("forecast", "the forecast")),
};
