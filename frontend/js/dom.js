// Building DOM without HTML strings. Every name on this page comes from people (key names, owners,
// teams, projects), so text always goes in as text nodes: there is no innerHTML anywhere.

/**
 * h("td", {class: "num", title: "..."}, "12", child) -> element. Strings and numbers become text
 * nodes; null/false children are skipped; arrays are flattened. Attribute names starting with "on"
 * and "style" are refused: handlers go through addEventListener, styles through classes or CSSOM.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (/^on/i.test(name) || name === "style") throw new Error(`refusing attribute ${name}`);
    if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content with the given children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (id) => document.getElementById(id);

/** A short "nothing here" / "loading" / "failed" paragraph; errors get a Retry button. */
export function placeholder(text, { error = false, retry = null } = {}) {
  const p = h("p", { class: error ? "placeholder error" : "placeholder", role: error ? "alert" : null }, text);
  if (retry) {
    const button = h("button", { type: "button", class: "btn" }, "Retry");
    button.addEventListener("click", retry);
    p.append(" ", button);
  }
  return p;
}
