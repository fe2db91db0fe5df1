// The token dialog and admin mode, imported on first need (no token, a refused one, an admin's):
// a visit with a viewer token never loads them. The role always comes from /api/whoami.

import { token } from "./api.js";
import { $, fill, h, placeholder } from "./dom.js";
import { showGlobalError } from "./refresh.js";
import { page, view } from "./state.js";

// The dialog's styles (auth.css) come with it, loaded before it can open.
const styles = h("link", { rel: "stylesheet", href: "auth.css" });
await new Promise((resolve) => {
  styles.addEventListener("load", resolve);
  styles.addEventListener("error", resolve); // unstyled is still usable
  document.head.append(styles);
});

const dialog = h(
  "dialog",
  { id: "token-dialog", "aria-labelledby": "token-title", "aria-describedby": "token-help" },
  h(
    "form",
    { method: "dialog", id: "token-form" },
    h("h2", { id: "token-title" }, "Sign in"),
    h(
      "p",
      { id: "token-help" },
      "Paste the viewer token your tracker’s admin gave you (an admin token also shows the editing controls). It stays in this tab only and is sent to the API alone.",
    ),
    h("p", { class: "dialog-error", id: "token-error", role: "alert", hidden: true }),
    h("label", { for: "token-input" }, "Token"),
    h("input", { type: "password", id: "token-input", name: "token", autocomplete: "off", spellcheck: "false", required: true }),
    h("div", { class: "dialog-actions" }, h("button", { type: "submit", class: "btn primary", id: "token-submit", value: "ok" }, "Sign in")),
  ),
);
document.body.append(dialog);

/** Show the sign-in dialog (once, however many requests failed); resolves when a token is entered. */
export function askToken(message = "") {
  const error = $("token-error");
  error.hidden = !message;
  error.textContent = message;
  const input = $("token-input");
  if (view.authPending) {
    // Dismissed with Escape, the request still waits for its token: asked again, show the dialog again.
    if (!dialog.open) dialog.showModal();
    input.focus();
    return view.authPending;
  }
  view.authPending = new Promise((resolve) => {
    const form = $("token-form");
    input.value = "";
    const onSubmit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) {
        error.hidden = false;
        error.textContent = "Enter the token.";
        input.focus();
        return;
      }
      token.set(value);
      form.removeEventListener("submit", onSubmit);
      dialog.close();
      view.authPending = null;
      resolve();
    };
    form.addEventListener("submit", onSubmit);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return view.authPending;
}

/** The API refused the token: forget it, ask for another, then load everything again. */
export async function signInAgain() {
  token.clear();
  await askToken("That token was not accepted. Check it and try again.");
  page.refresh();
}

/** Ask for a token, then load everything with it. */
export function signIn() {
  return askToken().then(() => page.refresh());
}

// Escape closes the dialog; the page then says why it is empty and how to sign in.
dialog.addEventListener("cancel", () => {
  setTimeout(() => {
    if (dialog.open || !view.authPending) return;
    showGlobalError("Sign in to see usage.", signIn);
    $("as-of").textContent = "Not signed in";
    if (!view.usage) fill($("chart-placeholder"), placeholder("Sign in to see usage."));
    if ($("pools").getAttribute("aria-busy") !== "false") fill($("pools"), placeholder("Sign in to see the pools."));
  });
});

/** Admin mode: shown (and its module loaded) only for an admin token, as /api/whoami said. */
export async function showAdmin() {
  const panel = $("admin");
  if (view.role !== "admin") {
    panel.hidden = true;
    if (view.admin) {
      fill($("admin-body")); // a token shown once, or the token list, must not outlive the admin's token
      view.admin = null;
    }
    return;
  }
  if (!view.admin) {
    const { AdminPanel } = await import("./admin.js");
    view.admin = new AdminPanel($("admin-body"), { onChanged: () => page.refresh() });
  }
  view.admin.setKeys(view.keys);
  await view.admin.loadTokens();
  panel.hidden = false;
}
