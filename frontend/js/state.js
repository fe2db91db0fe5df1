// `state`: the viewer's choices, kept in the URL hash; `view`: what the refreshes loaded; `page.refresh`
// (set by app.js): what a Retry button calls, without importing the loader.

import { GROUPS } from "./columns.js";
import { PERIODS, defaultBucket, range } from "./periods.js";

const CONFIG = window.TRACKER_CONFIG || {};
export const REFRESH_SECONDS = Number(CONFIG.refreshSeconds) > 0 ? Number(CONFIG.refreshSeconds) : 300;

export const state = {
  period: "today",
  from: "",
  to: "",
  bucket: "1h",
  group: "owner",
  measure: "tokens",
  filter: "",
  offset: 0,
  rows: 50,
  compare: new Set(),
};

export const view = {
  generation: 0, // answers of an older refresh are dropped
  range: null,
  usage: null,
  page: null, // the table's page of groups
  models: null,
  keys: [],
  keysById: new Map(),
  compareData: null,
  limits: null, // /api/health's: what the API accepts
  lastLoad: 0,
  timer: null,
  authPending: null,
  shown: new Set(), // the lazy panels that have been in view
  role: null,
  admin: null,
};

export const page = { refresh: async () => {} };

export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

export function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  if (params.get("period") in PERIODS) state.period = params.get("period");
  if (GROUPS[params.get("group")]) state.group = params.get("group");
  if (["1h", "1d"].includes(params.get("bucket"))) state.bucket = params.get("bucket");
  else state.bucket = defaultBucket(state.period, range(state.period, nowSeconds()).days || 1);
  if (["tokens", "cost"].includes(params.get("measure"))) state.measure = params.get("measure");
  const rows = +params.get("rows"); // >= the chart's series (from page 1)
  if (rows >= 10 && rows <= 999) state.rows = rows;
  state.from = params.get("from") || "";
  state.to = params.get("to") || "";
}

export function writeHash() {
  const params = new URLSearchParams({ period: state.period, group: state.group, bucket: state.bucket, measure: state.measure });
  if (state.period === "custom") {
    params.set("from", state.from);
    params.set("to", state.to);
  }
  window.history.replaceState(null, "", `#${params}`);
}
