// CSV of exactly what a table shows: its visible rows in their on-screen order, its columns, and its
// totals row. Numbers are written plain (no separators, dollars at full precision) so a spreadsheet
// can sum them; RFC 4180 quoting; a UTF-8 byte order mark so Excel reads accented names right.

const FORMULA = /^[=+\-@\t\r]/;

/** One CSV field: quoted when needed; text that a spreadsheet would run as a formula is defused. */
export function field(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (typeof value === "string" && FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** rows: arrays of cell values; the first row is the header. */
export function toCsv(rows) {
  return `${rows.map((row) => row.map(field).join(",")).join("\r\n")}\r\n`;
}

/** Offer `text` as a download named `filename` (a Blob URL: nothing leaves the browser). */
export function download(filename, text) {
  const blob = new Blob(["\ufeff", text], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
