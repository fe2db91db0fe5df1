// Alerts on the page, from GET /api/alerts: a banner of what is firing now (pool exhausted, budget
// over, unmapped key, unclassified model, collector failing, leaked-key signs) and the history table with its filters
// (kind, state, days), which the API applies. Titles come from the ledger and go in as text.

import { getJson } from "./api.js";
import { $, fill, h, placeholder } from "./dom.js";
import { parseTime, when } from "./format.js";
import { DataTable } from "./table.js";

const SEVERITY_CLASS = { critical: "chip bad", warning: "chip warn", info: "chip" };
const SEVERITY_RANK = { critical: 3, warning: 2, info: 1 };

function timeCell(value, now) {
  const at = parseTime(value);
  return at ? when(at, now) : "—";
}

function historyColumns(now, kindName) {
  const text = (id, label, value) => ({ id, label, sort: (r) => String(value(r) || ""), render: (r) => value(r) || "—", csv: (r) => value(r) || "" });
  return [
    {
      id: "created",
      label: "When",
      defaultSort: true,
      sort: (r) => parseTime(r.created_at) || 0,
      render: (r) => timeCell(r.created_at, now),
      csv: (r) => r.created_at || "",
    },
    {
      id: "severity",
      label: "Severity",
      sort: (r) => SEVERITY_RANK[r.severity] || 0,
      render: (r) => h("span", { class: SEVERITY_CLASS[r.severity] || "chip" }, r.severity),
      csv: (r) => r.severity,
    },
    text("kind", "Kind", (r) => kindName(r.kind)),
    { ...text("title", "Alert", (r) => r.title), cellClass: "wrap-text" },
    text("state", "State", (r) => r.state),
  ];
}

/** The banner and the history panel; `load()` fetches both (the filters are the history's only). */
export class AlertsView {
  constructor({ banner, table, filters, meta }) {
    this.banner = banner;
    this.meta = meta;
    this.filters = filters;
    this.table = new DataTable(table, { empty: "No alerts in this window." });
    this.data = null;
    // Each kind's name comes with the alerts (`kinds` of /api/alerts, declared once in chalicelib/alerts/kinds.py).
    this.kindText = {};
    for (const select of filters.querySelectorAll("select")) select.addEventListener("change", () => this.load().catch(() => {}));
  }

  kindName(kind) {
    return this.kindText[kind] || kind;
  }

  /** The kind filter lists the API's recorded kinds, once (a collector failure is firing-only). */
  fillKinds() {
    const select = this.filters.querySelector("select[name='kind']");
    if (select.options.length > 1) return;
    for (const [kind, text] of Object.entries(this.kindText)) {
      if (kind !== "collector_failing") select.append(h("option", { value: kind }, text));
    }
  }

  params() {
    const params = {};
    for (const select of this.filters.querySelectorAll("select")) if (select.value) params[select.name] = select.value;
    return params;
  }

  async load() {
    try {
      this.data = await getJson("/api/alerts", this.params());
      this.kindText = this.data.kinds || {};
      this.fillKinds();
    } catch (err) {
      fill(this.table.container, placeholder(`Could not load the alerts: ${err.message}`, { error: true, retry: () => this.load() }));
      throw err;
    }
    this.render(Math.floor(Date.now() / 1000));
    return this.data;
  }

  render(now) {
    const data = this.data;
    if (!data) return;
    this.renderBanner(data.firing || [], now);
    const history = data.history || [];
    this.table.setData(history, historyColumns(now, (kind) => this.kindName(kind)), {
      caption: `${history.length} ${history.length === 1 ? "alert" : "alerts"} in the last ${data.days} days`,
    });
    this.meta.textContent = `${(data.firing || []).length} firing now`;
  }

  renderBanner(firing, now) {
    const el = this.banner;
    if (!firing.length) {
      el.hidden = true;
      fill(el);
      return;
    }
    const worst = firing.some((a) => a.severity === "critical") ? "error" : "warn";
    const items = firing.map((a) =>
      h(
        "li",
        { "data-kind": a.kind, "data-alert-id": a.alert_id },
        h("span", { class: SEVERITY_CLASS[a.severity] || "chip" }, this.kindName(a.kind)),
        " ",
        h("span", { class: "alert-title" }, a.title),
        a.created_at ? h("span", { class: "muted" }, ` · ${timeCell(a.created_at, now)}`) : null,
      ),
    );
    const link = h("a", { href: "#alerts-title" }, "History");
    link.addEventListener("click", (event) => {
      event.preventDefault();
      $("alerts-title").scrollIntoView();
    });
    fill(el, h("div", { class: "alerts-body" }, h("strong", {}, `${firing.length} ${firing.length === 1 ? "alert" : "alerts"} firing`), h("ul", { class: "alert-list" }, items)), link);
    el.className = `banner ${worst} alerts-banner`;
    el.hidden = false;
  }
}
