// csv.js under node's test runner: RFC 4180 quoting, and text a spreadsheet would run as a formula
// defused, while numbers (negative ones too) stay numbers a spreadsheet can sum.
import assert from "node:assert/strict";
import { test } from "node:test";

import { field, toCsv } from "../../frontend/js/csv.js";

test("plain text and numbers go as they are", () => {
  assert.equal(field("gpt-4o-mini"), "gpt-4o-mini");
  assert.equal(field(12345), "12345");
  assert.equal(field("12.345678"), "12.345678");
  assert.equal(field(-3), "-3");
  assert.equal(field(0), "0");
});

test("nothing is an empty field", () => {
  assert.equal(field(null), "");
  assert.equal(field(undefined), "");
  assert.equal(field(""), "");
});

test("commas, quotes and line breaks are quoted, quotes doubled", () => {
  assert.equal(field("Support, EU"), '"Support, EU"');
  assert.equal(field('the "prod" key'), '"the ""prod"" key"');
  assert.equal(field("two\nlines"), '"two\nlines"');
  assert.equal(field("cr\rhere"), '"cr\rhere"');
  assert.equal(field('a "b", c'), '"a ""b"", c"');
});

test("text that starts like a formula gets a leading apostrophe", () => {
  for (const text of ["=SUM(A1)", "+1", "-1+2", "@x", "\tcmd", "\rcmd"]) {
    assert.equal(field(text).replace(/^"/, "")[0], "'", JSON.stringify(text));
  }
  assert.equal(field("=HYPERLINK(\"http://x\")"), '"\'=HYPERLINK(""http://x"")"');
  assert.equal(field("\rcmd"), '"\'\rcmd"'); // defused, then quoted for its carriage return
  assert.equal(field("a=b"), "a=b"); // only a leading character counts
});

test("a table is header plus rows, CRLF after every row", () => {
  const text = toCsv([
    ["Name", "Tokens", "Cost $"],
    ["Grace, Hopper", 1200, "0.5"],
    ["=cmd", -5, ""],
  ]);
  assert.equal(text, 'Name,Tokens,Cost $\r\n"Grace, Hopper",1200,0.5\r\n\'=cmd,-5,\r\n');
  assert.equal(toCsv([["only"]]), "only\r\n");
});
