// paging.js under node's test runner: the rows a page of the by-group table says it shows, and where
// Previous and Next go, at the edges too (the last, short page; a page past the end after the data shrank).

import assert from "node:assert/strict";
import { test } from "node:test";

import { moves, span } from "../../frontend/js/paging.js";

test("a page says which rows it shows, 1-based, of how many", () => {
  assert.equal(span(0, 50, 9842), "1–50 of 9,842");
  assert.equal(span(50, 50, 9842), "51–100 of 9,842");
  assert.equal(span(9800, 42, 9842), "9,801–9,842 of 9,842");
  assert.equal(span(100, 0, 12), "0 of 12");
  assert.equal(span(0, 0, 0), "0 of 0");
});

test("Previous and Next step by a page and stop at the ends", () => {
  assert.deepEqual(moves(0, 50, 9842), { prev: null, next: 50 });
  assert.deepEqual(moves(50, 50, 9842), { prev: 0, next: 100 });
  assert.deepEqual(moves(9800, 50, 9842), { prev: 9750, next: null });
  assert.deepEqual(moves(0, 50, 50), { prev: null, next: null });
  assert.deepEqual(moves(0, 10, 12), { prev: null, next: 10 });
  assert.deepEqual(moves(10, 10, 12), { prev: 0, next: null });
});

test("a page past the end goes back to the last page, and to the first when nothing is left", () => {
  assert.deepEqual(moves(200, 50, 120), { prev: 100, next: null });
  assert.deepEqual(moves(100, 50, 0), { prev: 0, next: null });
});
