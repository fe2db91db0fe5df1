// The key picker: largest 30-day spend first, as many keys as the API's `limits` allow, searched by
// the API, PICKER_KEYS at a time (the admin's key form lists the same).

import { getJson } from "./api.js";
import { $, fill, h, placeholder } from "./dom.js";
import { state, view } from "./state.js";

const PICKER_KEYS = 25;
export const keysQuery = () => getJson("/api/keys", { sort: "cost", limit: PICKER_KEYS, search: $("compare-filter").value.trim() });

export function showKeys(data) {
  view.keys = data.data;
  view.keyCount = data.count;
  if (view.admin) view.admin.setKeys(view.keys);
  renderKeyPicker();
}

function keyLabel(k) {
  return k.name || k.key_id;
}

export function renderKeyPicker() {
  const list = $("compare-list");
  const keys = view.keys;
  const more = view.keyCount - keys.length;
  if (!keys.length) {
    fill(list, placeholder($("compare-filter").value.trim() ? "No keys match." : "No keys yet."));
  } else {
    fill(
      list,
      keys.map((k) => {
        const box = h("input", { type: "checkbox", value: k.key_id, checked: state.compare.has(k.key_id) });
        box.addEventListener("change", () => {
          if (box.checked) state.compare.add(k.key_id);
          else state.compare.delete(k.key_id);
          updateCompareButton();
        });
        return h("label", {}, box, h("span", {}, keyLabel(k), h("span", { class: "sub" }, [k.owner, k.project_name].filter(Boolean).join(" · ") || k.key_id)));
      }),
      more > 0 ? h("p", { class: "sub" }, `${more} more: search to find them`) : null,
    );
  }
  updateCompareButton();
}

/** How many keys /api/compare takes; unknown: any (its 400 says). */
export function bounds() {
  return (view.limits && view.limits.compare_keys) || { min: 1, max: Infinity };
}

function updateCompareButton() {
  const n = state.compare.size;
  const { min, max } = bounds();
  if (view.limits) $("compare-legend").textContent = `Choose ${min} to ${max} keys`;
  $("compare-count").textContent = n > max ? `${n} selected: ${max} at most` : `${n} selected`;
  $("compare-run").disabled = n < min || n > max;
}

export function bindCompare() {
  $("compare-run").addEventListener("click", async () => (await import("./comparison.js")).compareNow());
  $("compare-clear").addEventListener("click", () => {
    state.compare.clear();
    renderKeyPicker();
  });
  let typing;
  $("compare-filter").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => keysQuery().then(showKeys, (e) => fill($("compare-list"), placeholder(e.message, { error: true }))), 300);
  });
}
