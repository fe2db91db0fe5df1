// The only code that speaks HTTP: the API base URL from config.js, the token from sessionStorage as a
// Bearer header, errors turned into ApiError (status, code, message, param, and the JSON body, which
// /api/health's 503 carries its reason in).

const TOKEN_KEY = "tracker.viewerToken";

export class ApiError extends Error {
  constructor(status, message, { code = null, param = null, body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.param = param;
    this.body = body;
  }

  get unauthorized() {
    return this.status === 401;
  }
}

/** The configured API base: config.js's apiUrl (apiBaseUrl is accepted too), without a trailing slash. */
export function apiBase(config = window.TRACKER_CONFIG || {}) {
  const raw = config.apiUrl ?? config.apiBaseUrl ?? "";
  return String(raw).replace(/\/+$/, "");
}

let memoryToken = "";

export const token = {
  get() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || memoryToken;
    } catch {
      return memoryToken;
    }
  },
  set(value) {
    try {
      window.sessionStorage.setItem(TOKEN_KEY, value);
    } catch {
      // A tab with storage disabled keeps the token in memory only (below).
    }
    memoryToken = value;
  },
  clear() {
    try {
      window.sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // nothing stored
    }
    memoryToken = "";
  },
};

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    search.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The full URL of an API path with its query (exported for the export link and the tests). */
export function apiUrl(path, params) {
  return `${apiBase()}${path}${query(params)}`;
}

/** GET a JSON route; throws ApiError (status 0 when the API could not be reached at all). */
export function getJson(path, params, { signal } = {}) {
  return request("GET", path, { params, signal });
}

/** POST/PATCH/DELETE a JSON body (an object, or a string sent as it is) to an admin route. */
export function sendJson(method, path, body) {
  return request(method, path, { body });
}

async function request(method, path, { params, body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const init = { method, headers, signal, mode: "cors", credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const url = apiUrl(path, params);
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, `Could not reach the API at ${apiBase() || window.location.origin}.`, { code: "network" });
  }
  let parsed = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const detail = parsed && parsed.error ? parsed.error : {};
    const message = detail.message || `The API answered ${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, message, { code: detail.code || null, param: detail.param || null, body: parsed });
  }
  if (parsed === null) throw new ApiError(response.status, "The API answered with something that is not JSON.");
  return parsed;
}
