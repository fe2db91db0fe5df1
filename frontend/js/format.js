// Numbers, money and times as people read them. Money arrives as decimal strings ("12.345678", or
// "1E-7" from Python's Decimal) and is summed exactly as BigInt millionths of a millionth, so a
// column's total is the sum of its cells to the cent, never a float's idea of it.

const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const PCT = new Intl.NumberFormat("en-US", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const USD_COMPACT = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  notation: "compact",
  maximumFractionDigits: 1,
});

export const SCALE = 12;
const ONE = 10n ** BigInt(SCALE);
const CENT = 10n ** BigInt(SCALE - 2);
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** A decimal string (or number) as a BigInt count of 10^-12 units; "" and null are zero. */
export function dec(value) {
  if (value === null || value === undefined || value === "") return 0n;
  const match = DECIMAL.exec(String(value).trim());
  if (!match || (match[2] === "" && (match[3] ?? "") === "")) return 0n;
  const [, sign, whole, frac = "", exp = "0"] = match;
  const digits = BigInt((whole || "0") + frac);
  const shift = SCALE + Number(exp) - frac.length;
  let scaled;
  if (shift >= 0) {
    scaled = digits * 10n ** BigInt(shift);
  } else {
    const div = 10n ** BigInt(-shift);
    scaled = (digits + div / 2n) / div; // half up, away from zero (digits is non-negative here)
  }
  return sign === "-" ? -scaled : scaled;
}

/** Round a scaled amount to whole cents, half away from zero. */
export function toCents(amount) {
  const neg = amount < 0n;
  const abs = neg ? -amount : amount;
  const cents = (abs + CENT / 2n) / CENT;
  return neg ? -cents : cents;
}

/** "$1,234.56" (always cents; a negative amount as "-$1.00"). */
export function usd(amount) {
  const cents = toCents(typeof amount === "bigint" ? amount : dec(amount));
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  const dollars = abs / 100n;
  const rest = String(abs % 100n).padStart(2, "0");
  return `${neg ? "-" : ""}$${INT.format(dollars)}.${rest}`;
}

/** The exact decimal string of a scaled amount, without trailing zeros beyond the cents. */
export function decString(amount) {
  const neg = amount < 0n;
  const abs = neg ? -amount : amount;
  let frac = String(abs % ONE).padStart(SCALE, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `${neg ? "-" : ""}${abs / ONE}.${frac}`;
}

/** Dollars as a float, for plotting only. */
export function usdNumber(amount) {
  return Number(typeof amount === "bigint" ? amount : dec(amount)) / Number(ONE);
}

export function int(value) {
  return INT.format(Number(value) || 0);
}

export function pct(fraction) {
  if (fraction === null || fraction === undefined || Number.isNaN(Number(fraction))) return "—";
  return PCT.format(Number(fraction));
}

/** A share as the CSV writes it: the cell's figure without the sign ("5.4" where the cell says 5.4%). */
export function pctNumber(fraction) {
  return PCT.format(Number(fraction) || 0).replace(/[%,]/g, "");
}

/** Axis labels: 1.2M, 350K; dollars as $1.2K. */
export function compact(value, money = false) {
  return (money ? USD_COMPACT : COMPACT).format(value);
}

const UTC_DAY = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short" });
const UTC_TIME = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", hour: "2-digit", minute: "2-digit" });
const UTC_DATE = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" });

/** "Fri 20 Nov" */
export function day(seconds) {
  return UTC_DAY.format(new Date(seconds * 1000));
}

/** "14:05" (UTC) */
export function clock(seconds) {
  return UTC_TIME.format(new Date(seconds * 1000));
}

/** "20 Nov 2026" */
export function date(seconds) {
  return UTC_DATE.format(new Date(seconds * 1000));
}

/** "Fri 20 Nov, 14:05 UTC"; today's times drop the date. */
export function when(seconds, nowSeconds = Date.now() / 1000) {
  const sameDay = Math.floor(seconds / 86400) === Math.floor(nowSeconds / 86400);
  return sameDay ? `${clock(seconds)} UTC` : `${day(seconds)}, ${clock(seconds)} UTC`;
}

/** "3 min ago", "2 h ago", "in 40 min". */
export function relative(seconds, nowSeconds = Date.now() / 1000) {
  const delta = Math.round(nowSeconds - seconds);
  const abs = Math.abs(delta);
  let text;
  if (abs < 60) text = "less than a minute";
  else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400 * 2) {
    const h = Math.floor(abs / 3600);
    const m = Math.round((abs % 3600) / 60);
    text = m && h < 10 ? `${h} h ${m} min` : `${h} h`;
  } else text = `${Math.round(abs / 86400)} days`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** RFC 3339 -> Unix seconds (null stays null). */
export function parseTime(rfc3339) {
  if (!rfc3339) return null;
  const ms = Date.parse(rfc3339);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}
