// The key picker: largest 30-day spend first, as many keys as the API's `limits` allow.

import { $, fill, h, placeholder } from "./dom.js";
import { dec } from "./format.js";
import { state, view } from "./state.js";

function keyLabel(k) {
  return k.name || k.key_id;
}

export function renderKeyPicker() {
  const list = $("compare-list");
  const text = $("compare-filter").value.trim().toLowerCase();
  const keys = [...view.keys].sort((a, b) => Number(dec(b.usage_30d && b.usage_30d.cost_usd) - dec(a.usage_30d && a.usage_30d.cost_usd)) || keyLabel(a).localeCompare(keyLabel(b)));
  const visible = text ? keys.filter((k) => [k.name, k.owner, k.team, k.key_id, k.project_name].some((v) => v && String(v).toLowerCase().includes(text))) : keys;
  if (!keys.length) {
    fill(list, placeholder("No keys yet."));
  } else if (!visible.length) {
    fill(list, placeholder("No keys match."));
  } else {
    fill(
      list,
      visible.map((k) => {
        const box = h("input", { type: "checkbox", value: k.key_id, checked: state.compare.has(k.key_id) });
        box.addEventListener("change", () => {
          if (box.checked) state.compare.add(k.key_id);
          else state.compare.delete(k.key_id);
          updateCompareButton();
        });
        return h("label", {}, box, h("span", {}, keyLabel(k), h("span", { class: "sub" }, [k.owner, k.project_name].filter(Boolean).join(" · ") || k.key_id)));
      }),
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
  $("compare-filter").addEventListener("input", () => renderKeyPicker());
}
