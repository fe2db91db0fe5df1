// Admin mode, loaded only when /api/whoami says the token is an admin's (auth.js imports this module on
// demand, so viewers never download it). Three forms, each change through the API, which validates:
//   a key's mapping   name, owner, team, description, budget, active (PATCH /api/keys/{id}, or POST
//                     /api/keys for a key nobody has mapped yet)
//   a mappings file   {"key_...": "Name"} (or an export-mappings --full file): POST /api/mappings/import
//   viewer tokens     GET/POST /api/tokens, DELETE /api/tokens/{id}; a new token is shown once
// An API error names its parameter: the form marks that field and says what is wrong with it.

import { ApiError, getJson, sendJson } from "./api.js";
import { fill, h } from "./dom.js";
import { parseTime, when } from "./format.js";

const MAX_IMPORT_BYTES = 16 * 1024; // the API's body limit; bigger files go through the CLI
const FIELD_LABELS = {
  name: "Name",
  owner: "Owner",
  team: "Team",
  description: "Description",
  budget: "Budget",
  "budget.amount": "Budget amount",
  "budget.unit": "Budget unit",
  "budget.period": "Budget period",
  active: "Active",
  body: "File",
};

function field(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

function option(value, text, selected) {
  return h("option", { value, selected: selected || null }, text);
}

function message(el, text, kind) {
  el.textContent = text;
  el.className = kind === "error" ? "form-message error" : "form-message ok";
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.hidden = !text;
}

function describe(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  const label = err.param ? FIELD_LABELS[err.param] || err.param : null;
  return label ? `${label}: ${err.message}` : err.message;
}

/** The admin styles, once: a <link> to admin.css beside app.css (the CSP allows 'self' styles). */
function loadStyles() {
  if (document.getElementById("admin-css")) return;
  document.head.append(h("link", { rel: "stylesheet", href: "admin.css", id: "admin-css" }));
}

export class AdminPanel {
  constructor(root, { onChanged }) {
    loadStyles();
    this.root = root;
    this.onChanged = onChanged;
    this.keys = [];
    this.selected = "";
    this.build();
  }

  build() {
    this.keyForm = this.buildKeyForm();
    this.importForm = this.buildImportForm();
    this.tokensPart = this.buildTokens();
    fill(this.root, this.keyForm, this.importForm, this.tokensPart);
  }

  // ------------------------------------------------------------------ a key's mapping

  buildKeyForm() {
    const input = (id, attrs = {}) => h("input", { id, type: "text", autocomplete: "off", spellcheck: "false", ...attrs });
    this.inputs = {
      key: h("select", { id: "admin-key" }),
      name: input("admin-name", { maxlength: 200 }),
      owner: input("admin-owner", { maxlength: 200 }),
      team: input("admin-team", { maxlength: 200 }),
      description: h("textarea", { id: "admin-description", rows: 2, maxlength: 1000 }),
      amount: input("admin-budget-amount", { inputmode: "decimal", placeholder: "none" }),
      unit: h("select", { id: "admin-budget-unit" }, option("usd", "dollars"), option("tokens", "tokens")),
      period: h("select", { id: "admin-budget-period" }, option("monthly", "per month"), option("daily", "per day")),
      active: h("input", { id: "admin-active", type: "checkbox" }),
    };
    this.keyMessage = h("p", { class: "form-message", id: "admin-key-message", hidden: true });
    const save = h("button", { type: "submit", class: "btn primary", id: "admin-save" }, "Save");
    const form = h(
      "form",
      { class: "admin-form", id: "admin-key-form", "aria-labelledby": "admin-key-title" },
      h("h3", { id: "admin-key-title" }, "Name a key, set its owner, team and budget"),
      field("admin-key", "Key", this.inputs.key),
      h(
        "div",
        { class: "admin-grid" },
        field("admin-name", "Name", this.inputs.name),
        field("admin-owner", "Owner", this.inputs.owner),
        field("admin-team", "Team", this.inputs.team),
      ),
      field("admin-description", "Description", this.inputs.description),
      h(
        "div",
        { class: "admin-grid" },
        field("admin-budget-amount", "Budget (empty: none)", this.inputs.amount),
        field("admin-budget-unit", "Unit", this.inputs.unit),
        field("admin-budget-period", "Period", this.inputs.period),
      ),
      h("label", { class: "check" }, this.inputs.active, " Active (an inactive mapping keeps its history; its budget stops alerting)"),
      h("div", { class: "form-actions" }, save, this.keyMessage),
    );
    this.inputs.key.addEventListener("change", () => {
      this.selected = this.inputs.key.value;
      this.fillKey();
      message(this.keyMessage, "", "ok");
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveKey();
    });
    return form;
  }

  /** New /api/keys data (after every refresh); keeps the chosen key. */
  setKeys(keys) {
    this.keys = keys;
    const current = this.selected && keys.some((k) => k.key_id === this.selected) ? this.selected : keys[0] && keys[0].key_id;
    this.selected = current || "";
    fill(
      this.inputs.key,
      keys.map((k) => option(k.key_id, `${k.name || "unnamed"} · ${k.key_id}${k.source === "mapping" ? "" : ` (${k.source})`}`, k.key_id === this.selected)),
    );
    this.inputs.key.value = this.selected;
    this.fillKey();
  }

  current() {
    return this.keys.find((k) => k.key_id === this.selected) || null;
  }

  fillKey() {
    const key = this.current();
    const i = this.inputs;
    for (const el of Object.values(i)) el.removeAttribute("aria-invalid");
    i.name.value = key ? (key.source === "unmapped" ? "" : key.name || "") : "";
    i.owner.value = (key && key.owner) || "";
    i.team.value = (key && key.team) || "";
    i.description.value = (key && key.description) || "";
    i.amount.value = key && key.budget ? key.budget.amount : "";
    i.unit.value = key && key.budget ? key.budget.unit : "usd";
    i.period.value = key && key.budget ? key.budget.period : "monthly";
    i.active.checked = key ? key.active !== false : true;
  }

  /** What the form says, as the API's fields (empty text: null; no amount: no budget). */
  wanted() {
    const i = this.inputs;
    const text = (el) => (el.value.trim() ? el.value.trim() : null);
    const amount = i.amount.value.trim();
    return {
      name: i.name.value,
      owner: text(i.owner),
      team: text(i.team),
      description: text(i.description),
      budget: amount ? { amount, unit: i.unit.value, period: i.period.value } : null,
      active: i.active.checked,
    };
  }

  async saveKey() {
    const key = this.current();
    if (!key) return;
    const wanted = this.wanted();
    let request;
    if (key.source === "mapping") {
      const body = {};
      const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
      for (const [name, value] of Object.entries(wanted)) {
        const had = name === "budget" && key.budget ? { amount: key.budget.amount, unit: key.budget.unit, period: key.budget.period } : key[name];
        if (!same(value, had)) body[name] = value;
      }
      if (!Object.keys(body).length) {
        message(this.keyMessage, "Nothing changed.", "ok");
        return;
      }
      if (key.updated_at) body.updated_at = key.updated_at;
      request = () => sendJson("PATCH", `/api/keys/${encodeURIComponent(key.key_id)}`, body);
    } else {
      const body = { key_id: key.key_id, name: wanted.name, active: wanted.active };
      for (const name of ["owner", "team", "description", "budget"]) if (wanted[name] !== null) body[name] = wanted[name];
      request = () => sendJson("POST", "/api/keys", body);
    }
    await this.submit(this.keyForm, this.keyMessage, request, (saved) => `Saved ${saved.name} (${saved.key_id}).`);
  }

  /** Run a write; on success say so and refresh the page; on failure mark the field the API names. */
  async submit(form, out, request, success) {
    const buttons = form.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    try {
      const answer = await request();
      message(out, success(answer), "ok");
      await this.onChanged();
      return answer;
    } catch (err) {
      message(out, describe(err), "error");
      const target = err instanceof ApiError && err.param ? this.fieldFor(err.param, form) : null;
      if (target) {
        target.setAttribute("aria-invalid", "true");
        target.focus();
      }
      return null;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  fieldFor(param, form) {
    const i = this.inputs;
    const byParam = {
      name: i.name,
      owner: i.owner,
      team: i.team,
      description: i.description,
      budget: i.amount,
      "budget.amount": i.amount,
      "budget.unit": i.unit,
      "budget.period": i.period,
      active: i.active,
    };
    const el = form === this.keyForm ? byParam[param] : form.querySelector("input");
    return el || null;
  }

  // ------------------------------------------------------------------ a mappings file

  buildImportForm() {
    const file = h("input", { id: "admin-import-file", type: "file", accept: "application/json,.json" });
    this.importMessage = h("p", { class: "form-message", id: "admin-import-message", hidden: true });
    const form = h(
      "form",
      { class: "admin-form", id: "admin-import-form", "aria-labelledby": "admin-import-title" },
      h("h3", { id: "admin-import-title" }, "Import a mappings file"),
      h("p", { class: "muted" }, 'A JSON object of key ids and names, {"key_...": "Name"} (the earlier tracker’s apiKeyMappings.json), or an export-mappings --full file. Every entry is checked before anything is written.'),
      field("admin-import-file", "File", file),
      h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", id: "admin-import" }, "Import"), this.importMessage),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chosen = file.files && file.files[0];
      if (!chosen) {
        message(this.importMessage, "File: choose a .json file first.", "error");
        return;
      }
      if (chosen.size > MAX_IMPORT_BYTES) {
        message(this.importMessage, `File: ${chosen.name} is over 16 KB; import it with the CLI's import-mappings.`, "error");
        return;
      }
      const text = await chosen.text();
      try {
        JSON.parse(text);
      } catch {
        message(this.importMessage, `File: ${chosen.name} is not valid JSON.`, "error");
        file.setAttribute("aria-invalid", "true");
        return;
      }
      const done = await this.submit(form, this.importMessage, () => sendJson("POST", "/api/mappings/import", text), (r) =>
        `Imported ${r.entries} ${r.entries === 1 ? "entry" : "entries"}: ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged.`,
      );
      if (done) file.value = "";
    });
    return form;
  }

  // ------------------------------------------------------------------ viewer tokens

  buildTokens() {
    const name = h("input", { id: "admin-token-name", type: "text", autocomplete: "off", maxlength: 200, placeholder: "who or what uses it" });
    this.tokenMessage = h("p", { class: "form-message", id: "admin-token-message", hidden: true });
    this.newToken = h("div", { class: "new-token", id: "admin-new-token", hidden: true });
    this.tokenList = h("div", { class: "table-wrap", id: "admin-tokens" });
    const form = h(
      "form",
      { class: "admin-form", id: "admin-token-form", "aria-labelledby": "admin-token-title" },
      h("h3", { id: "admin-token-title" }, "Viewer tokens"),
      h("div", { class: "admin-grid" }, field("admin-token-name", "Name of a new viewer token", name)),
      h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", id: "admin-token-create" }, "Create viewer token"), this.tokenMessage),
      this.newToken,
      this.tokenList,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const made = await this.submit(form, this.tokenMessage, () => sendJson("POST", "/api/tokens", { name: name.value }), (t) => `Created viewer token ${t.id} for ${t.name}.`);
      if (!made) return;
      name.value = "";
      const shown = h("input", { type: "text", readonly: true, value: made.token, id: "admin-new-token-value", class: "mono", "aria-label": "The new token" });
      fill(this.newToken, h("p", {}, "Shown only now: copy it and give it to its user. Only its hash is kept."), shown);
      this.newToken.hidden = false;
      shown.select();
    });
    return form;
  }

  async loadTokens() {
    try {
      const data = await getJson("/api/tokens");
      this.renderTokens(data.data || []);
    } catch (err) {
      fill(this.tokenList, h("p", { class: "placeholder error", role: "alert" }, `Could not load the tokens: ${describe(err)}`));
    }
  }

  renderTokens(tokens) {
    const now = Date.now() / 1000;
    const rows = tokens.map((t) => {
      let action = h("span", { class: "muted" }, t.active ? "CLI only" : "—");
      if (t.active && t.role === "viewer") {
        const button = h("button", { type: "button", class: "btn", "data-token-id": t.id }, "Revoke");
        button.addEventListener("click", () => this.revoke(t, button));
        action = button;
      }
      const status = t.active ? "active" : `revoked ${when(parseTime(t.revoked_at), now)}`;
      return h(
        "tr",
        { "data-token-id": t.id },
        h("th", { scope: "row" }, h("span", { class: "mono" }, t.id)),
        h("td", { "data-label": "Name" }, t.name),
        h("td", { "data-label": "Role" }, t.role),
        h("td", { "data-label": "Created" }, when(parseTime(t.created_at), now)),
        h("td", { "data-label": "Status" }, status),
        h("td", { "data-label": "" }, action),
      );
    });
    const head = h("tr", {}, ...["Id", "Name", "Role", "Created", "Status", ""].map((label) => h("th", { scope: "col" }, label)));
    fill(this.tokenList, h("table", { class: "stack" }, h("caption", {}, `${tokens.length} tokens`), h("thead", {}, head), h("tbody", {}, rows)));
  }

  async revoke(t, button) {
    // Two clicks, no confirm(): the first asks, the second revokes.
    if (button.dataset.armed !== "true") {
      button.dataset.armed = "true";
      button.textContent = `Revoke ${t.name}?`;
      return;
    }
    button.disabled = true;
    try {
      await sendJson("DELETE", `/api/tokens/${encodeURIComponent(t.id)}`);
      message(this.tokenMessage, `Revoked ${t.name} (${t.id}); it stops working within 30 s everywhere.`, "ok");
    } catch (err) {
      message(this.tokenMessage, describe(err), "error");
    }
    await this.loadTokens();
  }
}
