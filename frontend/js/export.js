// CSV export of what a table shows, named after the table and the period. Imported, with js/csv.js,
// on the first export (app.js), not with the page: most visits never export.

import { isoDay } from "./periods.js";
import { view } from "./state.js";

/** A DataTable's header, visible rows and totals row, as CSV cell values. */
export function csvRows(table) {
  const rows = table.visibleRows();
  // Columns in screen order; a csvOnly column (data shown inside another cell) follows that cell.
  const columns = table.allColumns;
  const out = [columns.map((c) => c.label)];
  for (const row of rows) out.push(columns.map((c) => c.csv(row)));
  if (rows.length && columns.some((c) => c.total)) out.push(columns.map((c) => (c.total ? c.total(table.whole || rows).csv : "")));
  return out;
}

export async function exportTable(table, stem) {
  if (!table.table || !view.range) return;
  const r = view.range;
  const name = `${stem}-${isoDay(r.start)}-to-${isoDay(r.end - 1)}.csv`;
  const rows = csvRows(table);
  const { download, toCsv } = await import("./csv.js");
  download(name, toCsv(rows));
}
