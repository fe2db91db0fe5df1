// The collection-health banner: /api/health (public) answers 503 with the same JSON body when the
// tracker is degraded or failed, so the body is read either way and anything but "ok" is shown.

import { ApiError, getJson } from "./api.js";
import { fill, h } from "./dom.js";
import { parseTime, relative } from "./format.js";

/** The health body, whether the API answered 200 or 503; null when there was no JSON body at all. */
export async function loadHealth() {
  try {
    return await getJson("/api/health");
  } catch (err) {
    if (err instanceof ApiError && err.body && typeof err.body.status === "string") return err.body;
    if (err instanceof ApiError && err.status === 0) throw err;
    return { status: "failed", reason: err.message || "the health check did not answer" };
  }
}

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
