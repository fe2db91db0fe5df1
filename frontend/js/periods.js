// Periods as the API takes them: Unix seconds, start inclusive, end exclusive, whole UTC days
// (the pools reset and the daily rollups close at 00:00 UTC). The end is never later than now.

import { clock, date } from "./format.js";

export const DAY = 86400;
export const PERIODS = {
  today: "Today",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  month: "This month",
  custom: "Custom",
};

export function floorDay(seconds) {
  return Math.floor(seconds / DAY) * DAY;
}

/** "2026-11-20" for a Unix time (UTC). */
export function isoDay(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/** Unix seconds of a "YYYY-MM-DD" (UTC midnight); NaN when malformed. */
export function parseDay(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text || "")) return Number.NaN;
  return Date.parse(`${text}T00:00:00Z`) / 1000;
}

/**
 * {start, end, days, label} for a period, or {error} for a custom range that makes no sense.
 * `now` is Unix seconds; the end is exclusive and capped at now.
 */
export function range(period, now, from = "", to = "") {
  const today = floorDay(now);
  let start;
  let end = now;
  switch (period) {
    case "today":
      start = today;
      break;
    case "7d":
      start = today - 6 * DAY;
      break;
    case "30d":
      start = today - 29 * DAY;
      break;
    case "month": {
      const d = new Date(now * 1000);
      start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
      break;
    }
    case "custom": {
      const first = parseDay(from);
      const last = parseDay(to);
      if (Number.isNaN(first) || Number.isNaN(last)) return { error: "Choose both dates." };
      if (last < first) return { error: "The end date is before the start date." };
      if (first > now) return { error: "The start date is in the future." };
      start = first;
      end = Math.min(last + DAY, now);
      break;
    }
    default:
      return range("today", now);
  }
  const days = Math.max(1, Math.ceil((end - start) / DAY));
  return { start, end, days };
}

/** The bucket width that suits a period when the viewer has not chosen one. */
export function defaultBucket(period, days) {
  return period === "today" || days <= 2 ? "1h" : "1d";
}

/** "20 Nov 2026, 00:00–14:05 UTC" for a day so far; "1 Nov 2026 – 20 Nov 2026 (20 days)" for more. */
export function rangeText(r) {
  const last = r.end - 1;
  const endText = r.end % DAY === 0 ? date(last) : `${date(r.end)}, ${clock(r.end)} UTC`;
  if (Math.floor(r.start / DAY) === Math.floor(last / DAY)) return `${date(r.start)}, 00:00–${clock(r.end)} UTC`;
  return `${date(r.start)} – ${endText} (${r.days} days)`;
}

/** Whether the API's `limits` (/api/health) allow `width` buckets over `r` at `now`; none known: yes. */
export function widthAllowed(r, width, now, limits) {
  if (!limits) return true;
  const span = limits.max_span_seconds && limits.max_span_seconds[width];
  if (span && r.end - r.start > span) return false;
  const kept = limits.hourly_retention_days;
  return !(width === "1h" && kept && r.start < now - (now % 3600) - kept * DAY);
}
