// Paging arithmetic of the by-group table, pure (tests/frontend/paging.test.mjs): which rows a page
// holds and where Previous and Next go. Loaded with js/pager.js, only for views longer than a page.

import { int } from "./format.js";

/** "51–100 of 9,842": the rows a page shows, 1-based; "0 of 9,842" for a page past the end. */
export function span(offset, shown, count) {
  return shown ? `${int(offset + 1)}–${int(offset + shown)} of ${int(count)}` : `0 of ${int(count)}`;
}

/** The offsets of the previous and next pages (null: none), `limit` rows a page, `count` rows in all. */
export function moves(offset, limit, count) {
  const prev = offset > 0 ? Math.max(0, Math.min(offset - limit, Math.floor((count - 1) / limit) * limit)) : null;
  return { prev, next: offset + limit < count ? offset + limit : null };
}
