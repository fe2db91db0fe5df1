// The stacked usage chart, drawn by uPlot (vendor/uplot-1.6.32.min.js, the global `uPlot`).
// Stacking is painter's order: each series holds the running total of itself and every series
// below it, drawn tallest first, so each visible band is one group's own value. Colours come from
// the theme's CSS variables; provisional buckets get a shaded background, buckets before the first
// collection (`uncollected`) a hatched one and "not collected" in the readout: unknown, not zero.

import { compact, int, usd, day, clock } from "./format.js";

const SERIES_VARS = ["--series-1", "--series-2", "--series-3", "--series-4", "--series-5", "--series-6", "--series-7", "--series-8"];
const OTHER_VAR = "--series-other";
const H = 3600;
const D = 86400;
// Tick steps: whole hours or whole days only (uPlot would otherwise label half hours "00:00" twice).
const HOURLY_INCRS = [H, 2 * H, 3 * H, 6 * H, 12 * H, D, 2 * D, 7 * D];
const DAILY_INCRS = [D, 2 * D, 7 * D, 14 * D, 28 * D];

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The CSS variable (and swatch class) of the i-th series; `other` is the grey "everyone else". */
export function seriesStyle(index, other = false) {
  if (other) return { cssVar: OTHER_VAR, swatch: "s9" };
  return { cssVar: SERIES_VARS[index % SERIES_VARS.length], swatch: `s${(index % SERIES_VARS.length) + 1}` };
}

export class UsageChart {
  constructor(el, { onHover } = {}) {
    this.el = el;
    this.plot = null;
    this.onHover = onHover;
    this.input = null;
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(el);
  }

  size() {
    const width = Math.max(260, Math.floor(this.el.clientWidth || this.el.parentElement.clientWidth));
    const height = window.matchMedia("(max-width: 720px)").matches ? 220 : 300;
    return { width, height };
  }

  resize() {
    if (!this.plot) return;
    const { width, height } = this.size();
    if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height });
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }

  /**
   * input: {x: [bucket start seconds], width: bucket seconds, money: bool,
   *         series: [{label, values: [number], cssVar}], provisional: [bool], uncollected: [bool]}
   */
  render(input) {
    this.input = input;
    this.destroy();
    if (typeof window.uPlot !== "function") throw new Error("the chart library did not load");
    const uPlot = window.uPlot;
    const { x, width, money, series, provisional } = input;
    const uncollected = input.uncollected || x.map(() => false);
    const stacked = [];
    let running = x.map(() => 0);
    for (const s of series) {
      running = running.map((sum, i) => sum + (s.values[i] || 0));
      stacked.push(running);
    }
    // Tallest (the running total of every series) first, so each lower series paints over it.
    const order = series.map((_, i) => i).reverse();
    const axisColor = cssVar("--chart-axis");
    const gridColor = cssVar("--chart-grid");
    const shade = cssVar("--chart-provisional");
    const hatch = cssVar("--chart-uncollected");
    const hourly = width < 86400;
    const bars = uPlot.paths.bars({ size: [hourly ? 0.9 : 0.72, 64], gap: 1 });
    const fmt = (v) => (money ? compact(v, true) : compact(v));
    const opts = {
      ...this.size(),
      legend: { show: false },
      padding: [12, 8, 0, 0],
      cursor: { drag: { x: false, y: false }, points: { show: false }, y: false },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true, range: (_u, min, max) => [min - width / 2, max + width / 2] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        {
          stroke: axisColor,
          grid: { show: false },
          ticks: { stroke: gridColor, width: 1, size: 4 },
          incrs: hourly ? HOURLY_INCRS : DAILY_INCRS,
          values: hourly
            ? [
                [86400, "{D} {MMM}", null, null, null, null, null, null, 1],
                [3600, "{HH}:00", "\n{D} {MMM}", null, "\n{D} {MMM}", null, null, null, 1],
              ]
            : [[86400, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1]],
          space: hourly ? 56 : 48,
        },
        {
          stroke: axisColor,
          grid: { stroke: gridColor, width: 1 },
          ticks: { show: false },
          values: (_u, splits) => splits.map(fmt),
          size: 64,
        },
      ],
      series: [
        {},
        ...order.map((i) => {
          const color = cssVar(series[i].cssVar);
          return { label: series[i].label, stroke: color, fill: color, width: 0, paths: bars, points: { show: false } };
        }),
      ],
      hooks: {
        drawClear: [
          (u) => {
            const { ctx, bbox } = u;
            ctx.save();
            uncollected.forEach((flag, i) => {
              if (!flag) return;
              const left = u.valToPos(x[i] - width / 2, "x", true);
              const w = u.valToPos(x[i] + width / 2, "x", true) - left;
              ctx.save();
              ctx.beginPath();
              ctx.rect(left, bbox.top, w, bbox.height);
              ctx.clip();
              ctx.fillStyle = hatch;
              ctx.fillRect(left, bbox.top, w, bbox.height);
              ctx.strokeStyle = axisColor;
              ctx.globalAlpha = 0.3;
              ctx.beginPath();
              for (let y = bbox.top - w; y < bbox.top + bbox.height; y += 12) {
                ctx.moveTo(left, y + w);
                ctx.lineTo(left + w, y);
              }
              ctx.stroke();
              ctx.restore();
            });
            ctx.fillStyle = shade;
            provisional.forEach((flag, i) => {
              if (!flag) return;
              const left = u.valToPos(x[i] - width / 2, "x", true);
              const right = u.valToPos(x[i] + width / 2, "x", true);
              ctx.fillRect(left, bbox.top, right - left, bbox.height);
            });
            ctx.restore();
          },
        ],
        setCursor: [(u) => this.onHover && this.onHover(u.cursor.idx)],
      },
    };
    const data = [x, ...order.map((i) => stacked[i])];
    this.plot = new uPlot(opts, data, this.el);
  }

  /** "Fri 20 Nov: Alice 12,345 · Bob 9,000 · total 21,345" for bucket i. */
  describe(i) {
    const { x, width, money, series } = this.input;
    const when = width < 86400 ? `${day(x[i])}, ${clock(x[i])}–${clock(x[i] + width)} UTC` : day(x[i]);
    if (this.input.uncollected && this.input.uncollected[i]) return `${when}: not collected (before the tracker’s first collection)`;
    const fmtValue = (v) => (money ? usd(String(v.toFixed(6))) : int(v));
    let total = 0;
    const parts = [];
    for (const s of series) {
      const v = s.values[i] || 0;
      total += v;
      if (v) parts.push(`${s.label} ${fmtValue(v)}`);
    }
    return `${when}: ${parts.length ? parts.join(" · ") : "no usage"}${parts.length > 1 ? ` · total ${fmtValue(total)}` : ""}`;
  }
}
