// periods.js under node's test runner: the API's periods are whole UTC days whatever the viewer's
// time zone, so the process runs in one with daylight saving (New York) to prove it.
process.env.TZ = "America/New_York";

import assert from "node:assert/strict";
import { test } from "node:test";

import { DAY, defaultBucket, floorDay, isoDay, parseDay, range, rangeText, widthAllowed } from "../../frontend/js/periods.js";

const at = (iso) => Date.parse(iso) / 1000;

test("the process really runs in a zone with daylight saving", () => {
  assert.equal(new Date(at("2026-07-01T12:00:00Z") * 1000).getTimezoneOffset(), 240);
  assert.equal(new Date(at("2026-01-01T12:00:00Z") * 1000).getTimezoneOffset(), 300);
});

test("today starts at 00:00 UTC and ends now, not at the local midnight", () => {
  const now = at("2026-03-08T03:30:00Z"); // still 7 March, 22:30, in New York
  assert.deepEqual(range("today", now), { start: at("2026-03-08T00:00:00Z"), end: now, days: 1 });
  assert.equal(isoDay(now), "2026-03-08");
});

test("the last 7 days across the spring-forward night are 7 whole UTC days", () => {
  const now = at("2026-03-10T12:00:00Z"); // New York moved its clocks on 8 March
  const r = range("7d", now);
  assert.equal(r.start, at("2026-03-04T00:00:00Z"));
  assert.equal(r.days, 7);
  assert.equal((floorDay(now) - r.start) % DAY, 0);
});

test("this month starts on the 1st, also on the month's last day and across a leap day", () => {
  assert.equal(range("month", at("2026-03-31T23:59:59Z")).start, at("2026-03-01T00:00:00Z"));
  assert.equal(range("month", at("2026-03-31T23:59:59Z")).days, 31);
  assert.equal(range("month", at("2026-04-01T00:00:00Z")).start, at("2026-04-01T00:00:00Z"));
  assert.equal(range("month", at("2028-02-29T10:00:00Z")).days, 29);
  assert.equal(range("month", at("2026-11-01T00:30:00Z")).days, 1); // the autumn change is on 1 Nov 2026
});

test("the last 30 days reach back over a month end", () => {
  const r = range("30d", at("2026-03-01T08:00:00Z"));
  assert.equal(isoDay(r.start), "2026-01-31");
  assert.equal(r.days, 30);
});

test("a custom range ends after its last day, capped at now", () => {
  const now = at("2026-11-20T10:00:00Z");
  assert.deepEqual(range("custom", now, "2026-10-31", "2026-11-01"), {
    start: at("2026-10-31T00:00:00Z"),
    end: at("2026-11-02T00:00:00Z"),
    days: 2,
  });
  const capped = range("custom", now, "2026-11-19", "2026-11-25");
  assert.equal(capped.end, now);
  assert.equal(capped.days, 2);
});

test("a custom range that makes no sense says why", () => {
  const now = at("2026-11-20T10:00:00Z");
  assert.deepEqual(range("custom", now, "", "2026-11-01"), { error: "Choose both dates." });
  assert.deepEqual(range("custom", now, "2026-11-05", "2026-11-01"), { error: "The end date is before the start date." });
  assert.deepEqual(range("custom", now, "2026-11-21", "2026-11-22"), { error: "The start date is in the future." });
});

test("an unknown period is today", () => {
  const now = at("2026-11-20T10:00:00Z");
  assert.deepEqual(range("fortnight", now), range("today", now));
});

test("parseDay takes only YYYY-MM-DD, as UTC midnight", () => {
  assert.equal(parseDay("2026-02-28"), at("2026-02-28T00:00:00Z"));
  assert.ok(Number.isNaN(parseDay("2026-2-28")));
  assert.ok(Number.isNaN(parseDay("28/02/2026")));
  assert.ok(Number.isNaN(parseDay(undefined)));
  assert.ok(Number.isNaN(parseDay("2026-13-01")));
});

test("hourly buckets suit today and two days, daily the rest", () => {
  assert.equal(defaultBucket("today", 1), "1h");
  assert.equal(defaultBucket("custom", 2), "1h");
  assert.equal(defaultBucket("7d", 7), "1d");
  assert.equal(defaultBucket("custom", 3), "1d");
});

test("a range reads as its UTC days, however the zone's clocks moved", () => {
  const now = at("2026-11-20T14:05:00Z");
  assert.equal(rangeText(range("today", now)), "20 Nov 2026, 00:00–14:05 UTC");
  assert.equal(rangeText(range("custom", now, "2026-10-25", "2026-11-01")), "25 Oct 2026 – 1 Nov 2026 (8 days)");
  assert.equal(rangeText(range("7d", now)), "14 Nov 2026 – 20 Nov 2026, 14:05 UTC (7 days)");
});

// The limits as /api/health publishes them (chalicelib/query/limits.py).
const LIMITS = {
  compare_keys: { min: 2, max: 20 },
  max_span_seconds: { "1m": 6 * 3600, "1h": 31 * DAY, "1d": 366 * DAY },
  hourly_retention_days: 35,
  stale_after_seconds: 3600,
};

test("hourly buckets are allowed up to the API's span, and not one second more", () => {
  const now = at("2026-11-20T14:05:00Z");
  const longest = { start: at("2026-10-17T00:00:00Z"), end: at("2026-11-17T00:00:00Z") };
  assert.equal(longest.end - longest.start, 31 * DAY);
  assert.equal(widthAllowed(longest, "1h", now, LIMITS), true);
  assert.equal(widthAllowed({ ...longest, end: longest.end + 1 }, "1h", now, LIMITS), false);
  assert.equal(widthAllowed({ ...longest, end: longest.end + 1 }, "1d", now, LIMITS), true);
  assert.equal(widthAllowed(range("30d", now), "1h", now, LIMITS), true);
});

test("hourly buckets reach back only as far as the API keeps them", () => {
  const now = at("2026-11-20T14:05:00Z");
  const oldest = at("2026-11-20T14:00:00Z") - 35 * DAY;
  assert.equal(widthAllowed({ start: oldest, end: oldest + DAY }, "1h", now, LIMITS), true);
  assert.equal(widthAllowed({ start: oldest - 3600, end: oldest + DAY }, "1h", now, LIMITS), false);
  assert.equal(widthAllowed({ start: oldest - 3600, end: oldest + DAY }, "1d", now, LIMITS), true);
});

test("a daily report longer than the API's span is not allowed; without limits everything is", () => {
  const now = at("2026-11-20T14:05:00Z");
  const year = range("custom", now, "2025-11-01", "2026-11-20");
  assert.ok(year.end - year.start > 366 * DAY);
  assert.equal(widthAllowed(year, "1d", now, LIMITS), false);
  assert.equal(widthAllowed(year, "1d", now, null), true);
  assert.equal(widthAllowed(year, "1h", now, null), true);
});
