// A sortable table whose rows, totals and CSV (js/export.js) come from one model, so the
// download is what the screen shows. Headers are buttons (Enter and Space sort); aria-sort marks the sorted one.
// Every cell carries its column's label (data-label): on a phone the CSS stacks each row as a card.

import { h, fill } from "./dom.js";

/**
 * Column: {id, label, num?, sort(row) -> number|bigint|string, render(row) -> Node|string,
 *          csv(row) -> string|number, total?(rows) -> {render, csv} | null, title?(row)}
 */
export class DataTable {
  constructor(container, { caption = "", empty = "Nothing to show.", sort = null, onChange = null } = {}) {
    this.container = container;
    this.caption = caption;
    this.empty = empty;
    this.columns = [];
    this.allColumns = [];
    this.rows = [];
    this.sortState = sort; // {id, dir: "asc"|"desc"}
    this.onChange = onChange;
    this.table = null;
  }

  /** New data (and columns). Keeps the sort when its column still exists. `whole`: the rows the totals
   * are of when `rows` is a page (the report's total), so "Total" is the figure every view shows. */
  setData(rows, columns, { caption = this.caption, whole = null } = {}) {
    this.rows = rows;
    this.whole = whole;
    this.allColumns = columns;
    this.columns = columns.filter((c) => !c.csvOnly);
    this.caption = caption;
    if (!this.sortState || !columns.some((c) => c.id === this.sortState.id)) {
      this.sortState = columns.find((c) => c.defaultSort)
        ? { id: columns.find((c) => c.defaultSort).id, dir: "desc" }
        : null;
    }
    this.render();
  }

  /** Back to the columns' default sort at the next setData (the measure changed). */
  resetSort() {
    this.sortState = null;
  }

  sortBy(id) {
    const column = this.columns.find((c) => c.id === id);
    if (!column) return;
    const same = this.sortState && this.sortState.id === id;
    const dir = same ? (this.sortState.dir === "asc" ? "desc" : "asc") : column.num ? "desc" : "asc";
    this.sortState = { id, dir };
    this.updateHeaders();
    this.renderBody();
    if (this.onChange) this.onChange(this.sortState);
  }

  visibleRows() {
    let rows = this.rows;
    if (this.sortState) {
      const column = this.columns.find((c) => c.id === this.sortState.id);
      if (column && column.sort) {
        const factor = this.sortState.dir === "asc" ? 1 : -1;
        rows = [...rows].sort((a, b) => factor * compare(column.sort(a), column.sort(b)));
      }
    }
    return rows;
  }

  totals(rows) {
    if (!this.columns.some((c) => c.total)) return null;
    return this.columns.map((c) => (c.total ? c.total(this.whole || rows) : null));
  }

  render() {
    const headRow = h("tr");
    for (const column of this.columns) {
      const th = h("th", { scope: "col", class: column.num ? "num" : null, "data-col": column.id });
      if (column.sort) {
        const button = h("button", { type: "button", class: "sort" }, column.label, h("span", { class: "sort-icon", "aria-hidden": "true" }));
        button.addEventListener("click", () => this.sortBy(column.id));
        th.append(button);
      } else {
        th.append(column.label);
      }
      headRow.append(th);
    }
    this.tbody = h("tbody");
    this.tfoot = h("tfoot");
    this.captionEl = h("caption", {}, this.caption);
    this.table = h("table", { class: "stack" }, this.captionEl, h("thead", {}, headRow), this.tbody, this.tfoot);
    fill(this.container, this.table);
    this.updateHeaders();
    this.renderBody();
  }

  updateHeaders() {
    if (!this.table) return;
    for (const th of this.table.tHead.rows[0].cells) {
      const sorted = this.sortState && th.dataset.col === this.sortState.id;
      if (sorted) th.setAttribute("aria-sort", this.sortState.dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  renderBody() {
    const rows = this.visibleRows();
    this.tbody.replaceChildren();
    if (!rows.length) this.tbody.append(h("tr", { class: "empty-row" }, h("td", { colspan: this.columns.length }, this.empty)));
    for (const row of rows) {
      const tr = h("tr");
      for (const [i, column] of this.columns.entries()) {
        const content = column.render(row);
        const attrs = { class: [column.num ? "num" : "", column.cellClass || ""].join(" ").trim() || null, "data-label": column.label };
        if (column.title) attrs.title = column.title(row);
        tr.append(i === 0 ? h("th", { scope: "row", ...attrs }, content) : h("td", attrs, content));
      }
      this.tbody.append(tr);
    }
    this.tfoot.replaceChildren();
    const totals = this.totals(rows);
    if (totals && rows.length) {
      const tr = h("tr");
      totals.forEach((total, i) => {
        const column = this.columns[i];
        const attrs = { class: column.num ? "num" : null, title: total && total.title ? total.title : null, "data-label": column.label };
        const content = total ? total.render : "";
        tr.append(i === 0 ? h("th", { scope: "row", ...attrs }, content) : h("td", attrs, content));
      });
      this.tfoot.append(tr);
    }
    this.captionEl.textContent = this.caption;
  }
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "string" || typeof b === "string") {
    return String(a).localeCompare(String(b), undefined, { sensitivity: "base", numeric: true });
  }
  return a < b ? -1 : 1;
}
