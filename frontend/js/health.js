// The collection-health banner, for a body of /api/health (refresh.js loads it) whose status is not
// "ok": imported only then, or to take the banner down again.

import { fill, h } from "./dom.js";
import { parseTime, relative } from "./format.js";

/** Why the status is not ok, in words: the API's `reason` when it gives one, else from its fields. */
export function healthReason(body, now) {
  if (body.reason) return String(body.reason);
  if (body.dynamodb === "unreachable") return "the API cannot read its data store";
  const last = parseTime(body.last_success_at);
  if (!last) return "no collection has finished yet";
  return `the last successful collection was ${relative(last, now)}`;
}

/** Show the banner for a degraded/failed status; hide it when ok. */
export function renderHealth(el, body, now) {
  if (!body || body.status === "ok") {
    el.hidden = true;
    fill(el);
    return;
  }
  const failed = body.status !== "degraded";
  const last = parseTime(body.last_success_at);
  const after = last ? `Figures are as of the last successful collection, ${relative(last, now)}.` : "The figures below may be incomplete.";
  // One text block: the banner is a flex row, and separate children would be spaced apart.
  fill(el, h("span", {}, h("strong", {}, failed ? "Collection failing" : "Collection degraded"), `: ${healthReason(body, now)}. ${after}`));
  el.className = failed ? "banner error" : "banner warn";
  el.dataset.status = String(body.status);
  el.hidden = false;
}
