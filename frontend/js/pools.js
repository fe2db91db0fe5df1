// Today's complimentary pools as gauges, and the notices for unclassified models and unmapped keys.

import { h, svg, fill } from "./dom.js";
import { int, when, relative, parseTime, clock } from "./format.js";

const POOL_TITLES = { large: "Large models", mini: "Mini models" };
const POOL_HINTS = {
  large: "gpt-5, gpt-4.1, gpt-4o, o1, o3…",
  mini: "gpt-5-mini/nano, gpt-4.1-mini/nano, gpt-4o-mini, o3/o4-mini…",
};
const RADIUS = 46;
const CIRCUMFERENCE = 2 * Math.PI * RADIUS;

export function level(percent) {
  if (percent >= 100) return "bad";
  if (percent >= 80) return "high";
  if (percent >= 50) return "warn";
  return "ok";
}

function gauge(pool) {
  const percent = Math.max(0, Number(pool.percent) || 0);
  const arc = (Math.min(percent, 100) / 100) * CIRCUMFERENCE;
  return svg(
    "svg",
    { class: "gauge", viewBox: "0 0 112 112", role: "img", "aria-label": `${pool.pool} pool ${percent.toFixed(1)} percent used` },
    svg("circle", { class: "track", cx: 56, cy: 56, r: RADIUS }),
    arc <= 0
      ? null
      : svg("circle", {
      class: "value",
      cx: 56,
      cy: 56,
      r: RADIUS,
      "stroke-dasharray": `${arc.toFixed(2)} ${CIRCUMFERENCE.toFixed(2)}`,
    }),
    svg("text", { class: "pct", x: 56, y: 60 }, `${percent >= 10 ? Math.round(percent) : percent.toFixed(1)}%`),
    svg("text", { class: "sub", x: 56, y: 77 }, "used"),
  );
}

function forecast(pool, now) {
  const exhausted = parseTime(pool.exhausted_at);
  if (exhausted) {
    return h("p", { class: "pool-forecast" }, h("span", { class: "chip bad" }, "Exhausted"), ` at ${when(exhausted, now)}: usage since then is billed.`);
  }
  const eta = parseTime(pool.forecast_exhausted_at);
  const rate = Number(pool.rate_per_hour) || 0;
  if (eta) {
    return h("p", { class: "pool-forecast" }, `At ${int(rate)} tokens an hour it runs out at `, h("strong", {}, when(eta, now)), ` (${relative(eta, now)}).`);
  }
  if (rate <= 0) return h("p", { class: "pool-forecast" }, "No use in the last hours: it lasts the day.");
  return h("p", { class: "pool-forecast" }, `At ${int(rate)} tokens an hour it lasts the day.`);
}

function overCap(pool) {
  const over = Number(pool.over_cap_tokens) || 0;
  if (!over) return null;
  return h("p", { class: "pool-forecast" }, h("span", { class: "chip bad" }, `${int(over)} tokens over the cap`), " billed at list price");
}

function drivers(pool) {
  const list = pool.top_contributors || [];
  if (!list.length) return null;
  return h(
    "div",
    { class: "pool-drivers" },
    h("h4", {}, "Driving it"),
    h(
      "ol",
      {},
      list.slice(0, 3).map((c) =>
        h(
          "li",
          {},
          h("span", { class: "who", title: c.api_key_id || "" }, c.name || c.api_key_id || "unattributed", c.owner ? h("span", { class: "muted" }, ` · ${c.owner}`) : null, c.model ? h("span", { class: "muted" }, ` · ${c.model}`) : null),
          h("span", { class: "num" }, int(c.tokens)),
        ),
      ),
    ),
  );
}

export function renderPools(container, meta, data, now) {
  container.setAttribute("aria-busy", "false");
  const pools = data.pools || [];
  if (!pools.length) {
    fill(container, h("p", { class: "placeholder" }, "No pools configured."));
  } else {
    fill(
      container,
      pools.map((pool) =>
        h(
          "article",
          { class: "pool", "data-pool": pool.pool, "data-level": level(Number(pool.percent) || 0), "aria-label": `${POOL_TITLES[pool.pool] || pool.pool} pool` },
          gauge(pool),
          h("h3", { title: POOL_HINTS[pool.pool] || null }, POOL_TITLES[pool.pool] || pool.pool, " ", h("span", { class: "muted" }, "pool")),
          h(
            "p",
            { class: "pool-figures" },
            h("span", { class: "big" }, int(pool.used)),
            h("span", { class: "muted" }, ` of ${int(pool.cap)} tokens · ${int(Math.max(0, pool.remaining))} left`),
          ),
          forecast(pool, now),
          overCap(pool),
          drivers(pool),
        ),
      ),
    );
  }
  const resets = parseTime(data.resets_at);
  const parts = [];
  if (data.tier) parts.push(`usage tier ${data.tier}`);
  if (resets) parts.push(`resets at ${clock(resets)} UTC (${relative(resets, now)})`);
  meta.textContent = parts.length ? `${data.date || ""} · ${parts.join(" · ")}` : data.date || "";
}

export function renderNotices(container, data, now) {
  const notices = [];
  const models = data.unclassified_models || [];
  if (models.length) {
    const many = models.length > 1;
    notices.push(
      h(
        "div",
        { class: "notice", role: "status" },
        h("strong", {}, `${models.length} unclassified model${many ? "s" : ""}`),
        " used today:",
        h("ul", { class: "inline-list" }, models.map((m) => h("li", {}, h("code", {}, m.model), ` (${int(m.tokens)} tokens)`))),
        `. ${many ? "They count" : "It counts"} in neither pool until `,
        h("code", {}, "chalicelib/data/model_families.json"),
        ` names ${many ? "them" : "it"}.`,
      ),
    );
  }
  const keys = data.unmapped_keys || [];
  if (keys.length) {
    const many = keys.length > 1;
    const since = (k) => parseTime(k.first_seen);
    notices.push(
      h(
        "div",
        { class: "notice", role: "status" },
        h("strong", {}, `${keys.length} unmapped key${many ? "s" : ""}`),
        " in use with no name:",
        h(
          "ul",
          { class: "inline-list" },
          keys.slice(0, 6).map((k) => h("li", {}, h("code", {}, k.api_key_id), since(k) ? ` (first seen ${when(since(k), now)})` : "")),
          keys.length > 6 ? h("li", {}, `and ${keys.length - 6} more`) : null,
        ),
        `. Name ${many ? "them" : "it"} with `,
        h("code", {}, "python -m chalicelib.cli add-key"),
        ".",
      ),
    );
  }
  fill(container, notices);
}
