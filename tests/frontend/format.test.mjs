// format.js under node's test runner: money summed exactly and shown to the cent, counts and times
// as people read them (times always UTC, whatever the machine's zone).
process.env.TZ = "Asia/Kolkata";

import assert from "node:assert/strict";
import { test } from "node:test";

import { clock, compact, date, day, dec, decString, int, parseTime, pct, pctNumber, relative, toCents, usd, usdNumber, when } from "../../frontend/js/format.js";

const at = (iso) => Date.parse(iso) / 1000;

test("decimal strings become exact 10^-12 units, Python's exponent form included", () => {
  assert.equal(dec("1"), 10n ** 12n);
  assert.equal(dec("0.000000000001"), 1n);
  assert.equal(dec("1E-7"), 100000n);
  assert.equal(dec("1.5e3"), 1500n * 10n ** 12n);
  assert.equal(dec("-2.5"), -25n * 10n ** 11n);
  assert.equal(dec(" 3 "), 3n * 10n ** 12n);
  assert.equal(dec(7), 7n * 10n ** 12n);
});

test("nothing, junk and beyond-precision digits are handled, never NaN", () => {
  for (const value of [null, undefined, "", "abc", ".", "1.2.3", "$5"]) assert.equal(dec(value), 0n, String(value));
  assert.equal(dec("0.0000000000005"), 1n); // half up at the 13th digit
  assert.equal(dec("0.0000000000004"), 0n);
});

test("sums are exact where floats are not", () => {
  assert.notEqual(0.1 + 0.2, 0.3);
  assert.equal(usd(dec("0.1") + dec("0.2")), "$0.30");
  assert.equal(decString(dec("0.1") + dec("0.2")), "0.30");
  const cells = Array.from({ length: 1000 }, () => dec("0.001"));
  assert.equal(usd(cells.reduce((a, b) => a + b, 0n)), "$1.00");
});

test("dollars round half away from zero to the cent, with thousands separators", () => {
  assert.equal(usd("0.005"), "$0.01");
  assert.equal(usd("0.004999"), "$0.00");
  assert.equal(usd("-0.005"), "-$0.01");
  assert.equal(usd("-2.5"), "-$2.50");
  assert.equal(usd("1234567.891"), "$1,234,567.89");
  assert.equal(usd("1E-7"), "$0.00");
  assert.equal(usd(""), "$0.00");
  assert.equal(toCents(dec("19.995")), 2000n);
});

test("decString keeps every digit but trims zeros past the cents", () => {
  assert.equal(decString(dec("12.3456789") + dec("0.0000001")), "12.345679");
  assert.equal(decString(dec("5")), "5.00");
  assert.equal(decString(dec("-0.5")), "-0.50");
  assert.equal(decString(dec("0.000000000001")), "0.000000000001");
});

test("usdNumber is for plotting: a float near the amount", () => {
  assert.equal(usdNumber("12.5"), 12.5);
  assert.equal(usdNumber(dec("0.25")), 0.25);
});

test("counts, percentages and axis labels", () => {
  assert.equal(int(1234567), "1,234,567");
  assert.equal(int("42"), "42");
  assert.equal(int(undefined), "0");
  assert.equal(int("not a number"), "0");
  assert.equal(int(2.5), "3");
  assert.equal(pct(0.1234), "12.3%");
  assert.equal(pct(1), "100.0%");
  assert.equal(pct(null), "—");
  assert.equal(pct("x"), "—");
  // The CSV's share is the cell's figure: 0.0535 shows as 5.4% (a float toFixed would say 5.3).
  assert.equal(pct(0.0535), "5.4%");
  assert.equal(pctNumber(0.0535), "5.4");
  assert.equal(pctNumber(12.5), "1250.0");
  assert.equal(compact(1_250_000), "1.3M");
  assert.equal(compact(350_000), "350K");
  assert.equal(compact(1200, true), "$1.2K");
});

test("times are UTC, not the machine's zone", () => {
  const t = at("2026-11-20T23:45:00Z"); // already 21 Nov in Kolkata
  assert.equal(clock(t), "23:45");
  assert.equal(day(t), "Fri 20 Nov");
  assert.equal(date(t), "20 Nov 2026");
  assert.equal(when(t, at("2026-11-20T23:59:00Z")), "23:45 UTC");
  assert.equal(when(t, at("2026-11-21T00:01:00Z")), "Fri 20 Nov, 23:45 UTC");
});

test("relative times in words, past and future", () => {
  const now = at("2026-11-20T12:00:00Z");
  assert.equal(relative(now - 30, now), "less than a minute ago");
  assert.equal(relative(now - 180, now), "3 min ago");
  assert.equal(relative(now - (2 * 3600 + 5 * 60), now), "2 h 5 min ago");
  assert.equal(relative(now - 12 * 3600, now), "12 h ago");
  assert.equal(relative(now - 3 * 86400, now), "3 days ago");
  assert.equal(relative(now + 40 * 60, now), "in 40 min");
});

test("RFC 3339 to Unix seconds; nothing stays nothing", () => {
  assert.equal(parseTime("2026-11-20T10:07:00Z"), at("2026-11-20T10:07:00Z"));
  assert.equal(parseTime("2026-11-20T10:07:00.900Z"), at("2026-11-20T10:07:00Z"));
  assert.equal(parseTime(null), null);
  assert.equal(parseTime(""), null);
  assert.equal(parseTime("yesterday"), null);
});
