// The composition root: binds each feature (js/*) and starts the first refresh. auth.js,
// comparison.js, export.js and panels.js load on first need.

import { apiBase, token } from "./js/api.js";
import { bindCompare } from "./js/compare.js";
import { bindControls, bindTheme, syncControls } from "./js/controls.js";
import { $ } from "./js/dom.js";
import { loadPanelsWhenShown, refresh, showGlobalError } from "./js/refresh.js";
import { page, readHash, state, writeHash } from "./js/state.js";
import { groupsTable, modelsTable } from "./js/usage-view.js";

function bindExport(id, table, stem) {
  $(id).addEventListener("click", async () => (await import("./js/export.js")).exportTable(await table(), stem()));
}

function start() {
  page.refresh = refresh;
  const config = window.TRACKER_CONFIG || {};
  if (config.stage && config.stage !== "prod") {
    $("stage").textContent = config.stage;
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
  bindCompare();
  bindExport("export-groups", () => groupsTable, () => `usage-by-${state.group}`);
  bindExport("export-models", () => modelsTable, () => "usage-by-model");
  bindExport("export-compare", async () => (await import("./js/comparison.js")).compareTable, () => "key-comparison");
  $("sign-out").addEventListener("click", async () => {
    token.clear();
    (await import("./js/auth.js")).signIn();
  });
  refresh();
  loadPanelsWhenShown();
}

start();
