// Previous / Next under the by-group table, for a view with more groups than a page (a small org's
// views fit one page, so this loads on first need). Each move asks the API for that page only.

import { $, fill, h } from "./dom.js";
import { moves, span } from "./paging.js";
import { loadPage } from "./refresh.js";
import { state } from "./state.js";

export function renderPager(data) {
  let nav = document.getElementById("groups-pager");
  if (!nav) {
    nav = h("nav", { id: "groups-pager", class: "panel-tools pager", "aria-label": "Pages of the table" });
    $("groups-table").after(nav);
  }
  const count = data.group_count ?? data.groups.length;
  const { prev, next } = moves(data.offset || 0, state.rows, count);
  const button = (label, to) => {
    const b = h("button", { type: "button", class: "btn", disabled: to === null }, label);
    b.addEventListener("click", () => {
      state.offset = to;
      loadPage();
    });
    return b;
  };
  nav.hidden = prev === null && next === null;
  fill(nav, button("Previous", prev), h("span", { class: "muted", "aria-live": "polite" }, span(data.offset || 0, data.groups.length, count)), button("Next", next));
}
