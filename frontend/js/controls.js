// The controls (period, grouping, buckets, measure, filter, theme) and the hash they live in. Hourly
// buckets only where the API's `limits` allow them.

import { GROUPS } from "./columns.js";
import { $ } from "./dom.js";
import { DAY, defaultBucket, isoDay, range, widthAllowed } from "./periods.js";
import { loadPage } from "./refresh.js";
import { REFRESH_SECONDS, nowSeconds, page, readHash, state, view, writeHash } from "./state.js";
import { groupsTable, modelsTable, renderChart, renderModels, renderUsage } from "./usage-view.js";

export function syncControls() {
  $("period").value = state.period;
  $("group").value = state.group;
  $("custom-range").hidden = state.period !== "custom";
  $("from").value = state.from;
  $("to").value = state.to;
  const now = nowSeconds();
  const today = isoDay(now);
  $("from").max = today;
  $("to").max = today;
  const r = range(state.period, now, state.from, state.to);
  const hourlyAllowed = !r.error && widthAllowed(r, "1h", now, view.limits);
  $("bucket-1h").disabled = !hourlyAllowed;
  if (!hourlyAllowed && state.bucket === "1h") state.bucket = "1d";
  $(`bucket-${state.bucket}`).checked = true;
  $(`metric-${state.measure}`).checked = true;
  $("groups-title").textContent = GROUPS[state.group].section;
}

function changed() {
  state.offset = 0;
  syncControls();
  writeHash();
  page.refresh();
}

export function bindControls() {
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("period").addEventListener("change", () => {
    state.period = $("period").value;
    if (state.period === "custom" && !state.from) {
      const now = nowSeconds();
      state.from = isoDay(now - 6 * DAY);
      state.to = isoDay(now);
    }
    const r = range(state.period, nowSeconds(), state.from, state.to);
    state.bucket = defaultBucket(state.period, r.days || 1);
    changed();
  });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", () => {
      state[id] = $(id).value;
      changed();
    });
  }
  $("group").addEventListener("change", () => {
    state.group = $("group").value;
    changed();
  });
  for (const input of document.querySelectorAll('input[name="bucket"]')) {
    input.addEventListener("change", () => {
      state.bucket = input.value;
      changed();
    });
  }
  for (const input of document.querySelectorAll('input[name="metric"]')) {
    input.addEventListener("change", () => {
      state.measure = input.value;
      writeHash();
      // The measure picks the sort: with Dollars the tables sort by dollars, whatever was clicked before.
      groupsTable.resetSort();
      modelsTable.resetSort();
      renderUsage();
      renderModels();
    });
  }
  let typing; // the API searches once typing pauses
  $("filter").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.filter = $("filter").value.trim();
      state.offset = 0;
      loadPage();
    }, 300);
  });
  $("refresh").addEventListener("click", () => page.refresh());
  window.addEventListener("hashchange", () => {
    readHash();
    syncControls();
    page.refresh();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() - view.lastLoad > REFRESH_SECONDS * 1000) page.refresh();
  });
}

function effectiveTheme() {
  return document.documentElement.dataset.theme === "light" ? "light" : "dark"; // theme.js sets it
}

export function bindTheme() {
  const button = $("theme-toggle");
  const show = () => button.setAttribute("aria-pressed", String(effectiveTheme() === "light"));
  button.addEventListener("click", () => {
    const next = effectiveTheme() === "light" ? "dark" : "light";
    document.documentElement.dataset.theme = next;
    document.documentElement.dataset.themeChosen = "1"; // theme.js stops following the system
    try {
      window.localStorage.setItem("tracker.theme", next);
    } catch {
      // not persisted; still applied
    }
    show();
    renderChart();
  });
  window.matchMedia("(prefers-color-scheme: light)").addEventListener("change", () => {
    show();
    renderChart();
  });
  show();
}
