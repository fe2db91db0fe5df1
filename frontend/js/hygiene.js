// The key hygiene panel, from GET /api/hygiene: each key unused, due for rotation, whose owner left
// or whose service account is gone, or that nobody owns, with its 30-day spend (the Keys view's).
// Names are other people's input: they go in as text (dom.js `h`), never as HTML. refresh.js imports this
// module only once the panel is opened: hygiene is a weekly chore, not part of the first paint.

import { getJson } from "./api.js";
import { $, fill, h, placeholder } from "./dom.js";
import { date, dec, int, parseTime, usd } from "./format.js";
import { DataTable } from "./table.js";

export const FINDING_TEXT = {
  unused: "Unused",
  rotation_due: "Rotation due",
  owner_departed: "Owner left",
  service_account_gone: "Service account gone",
  unowned: "No owner",
};
const FINDING_CLASS = { owner_departed: "chip bad", service_account_gone: "chip bad", unowned: "chip warn" };

function dayCell(value) {
  const at = parseTime(value);
  return at ? date(at) : "never";
}

function columns() {
  const text = (id, label, value) => ({ id, label, sort: (r) => String(value(r) || ""), render: (r) => value(r) || "—", csv: (r) => value(r) || "" });
  return [
    {
      id: "key",
      label: "Key",
      sort: (r) => r.name.toLowerCase(),
      render: (r) => h("span", {}, h("span", { class: "label" }, r.name), r.name === r.key_id ? null : h("span", { class: "muted" }, ` ${r.key_id}`)),
      csv: (r) => r.key_id,
    },
    text("owner", "Owner", (r) => r.owner),
    text("team", "Team", (r) => r.team),
    text("project", "Project", (r) => r.project_name || r.project_id),
    {
      id: "findings",
      label: "Findings",
      sort: (r) => r.findings.length,
      render: (r) => h("span", { class: "findings" }, ...r.findings.map((code) => h("span", { class: FINDING_CLASS[code] || "chip", "data-finding": code }, FINDING_TEXT[code] || code))),
      csv: (r) => r.findings.join(" "),
      cellClass: "wrap-text",
    },
    { id: "last_used", label: "Last used", sort: (r) => parseTime(r.last_used_at) || 0, render: (r) => dayCell(r.last_used_at), csv: (r) => r.last_used_at || "" },
    { id: "created", label: "Created", sort: (r) => parseTime(r.created_at) || 0, render: (r) => dayCell(r.created_at), csv: (r) => r.created_at || "" },
    { id: "tokens", label: "Tokens 30d", num: true, sort: (r) => Number(r.spend_30d.total_tokens), render: (r) => int(r.spend_30d.total_tokens), csv: (r) => r.spend_30d.total_tokens },
    { id: "cost", label: "Cost $ 30d", num: true, defaultSort: true, sort: (r) => dec(r.spend_30d.cost_usd), render: (r) => usd(r.spend_30d.cost_usd), csv: (r) => r.spend_30d.cost_usd },
  ];
}

/** The hygiene panel (#hygiene-table, #hygiene-meta); `load()` fetches and renders it. */
export class HygieneView {
  constructor(table = $("hygiene-table"), meta = $("hygiene-meta")) {
    this.meta = meta;
    this.table = new DataTable(table, { empty: "No key needs attention." });
    this.data = null;
  }

  async load() {
    try {
      this.data = await getJson("/api/hygiene");
    } catch (err) {
      fill(this.table.container, placeholder(`Could not load key hygiene: ${err.message}`, { error: true, retry: () => this.load() }));
      throw err;
    }
    const data = this.data;
    const rows = data.data || [];
    this.table.setData(rows, columns(), { caption: `${rows.length} ${rows.length === 1 ? "key needs" : "keys need"} attention` });
    const t = data.thresholds;
    this.meta.textContent = `Unused: no use for ${t.unused_days} days · rotation after ${t.rotation_days} days`;
    return data;
  }
}
