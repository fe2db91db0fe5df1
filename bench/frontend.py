"""Dashboard first load: the bytes a browser fetches to show the page once, measured in Chromium.

Headless /usr/bin/chromium (Playwright, never `playwright install`) opens the page from a made-up
origin whose every request the bench answers itself: files from frontend/, a config.js whose API is
that same origin (as the published site's is its CloudFront origin, or the API's), and the API
routes with the bodies `bench.queries` captured from `chalice.test.Client` for the same organization.
So nothing in frontend/ is written and no server runs. Static files count twice: as served (raw) and
gzip-compressed (CloudFront's `Compress: true` in infra/template.yaml); API responses count raw, as
API Gateway sends them unless `minimum_compression_size` is set (their gzip size is kept for the
what-if bill).
"""

from __future__ import annotations

import gzip
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
CHROMIUM = Path("/usr/bin/chromium")
ORIGIN = "http://dashboard.bench.invalid"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CONFIG_JS = b'window.TRACKER_CONFIG = Object.freeze({ apiUrl: "", stage: "bench" });\n'
TOKEN_SCRIPT = 'sessionStorage.setItem("tracker.viewerToken", "bench-viewer-token");'
SETTLE_MS = 1500


def gzip_size(body: bytes) -> int:
    """Bytes of `body` gzip-compressed at level 6 (what CDNs use by default)."""
    return len(gzip.compress(body, compresslevel=6, mtime=0))


def api_body(path: str, query: Mapping[str, list[str]], bodies: Mapping[str, bytes]) -> bytes:
    """The captured body answering an API request of the dashboard (matched on route and grouping)."""
    if path.endswith("/api/usage"):
        groups = ",".join(query.get("group_by", []))
        return bodies["usage_models"] if "model" in groups else bodies["usage_default"]
    name = path.rsplit("/", 1)[-1]
    return bodies.get(name, b'{"error": {"message": "not measured", "param": null, "code": "not_found"}}')


def measure_first_load(api_bodies: Mapping[str, bytes]) -> dict[str, Any]:
    """Open the dashboard once; bytes and requests by kind. `api_bodies`: pools, keys, usage_default,
    usage_models."""
    if not (FRONTEND / "index.html").is_file():
        return {"measured": False, "why": "frontend/index.html does not exist"}
    if not CHROMIUM.is_file():
        return {"measured": False, "why": f"{CHROMIUM} is not installed (make tools)"}
    from playwright.sync_api import Route, sync_playwright  # noqa: PLC0415 - only this measurement needs it

    served: list[dict[str, Any]] = []

    def answer(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.path.startswith("/api/"):
            body = api_body(url.path, parse_qs(url.query), api_bodies)
            served.append({"path": url.path, "kind": "api", "bytes": len(body), "gzip": gzip_size(body)})
            route.fulfill(status=200, body=body, content_type="application/json")
            return
        if url.path == "/config.js":
            body = CONFIG_JS
        else:
            local = (FRONTEND / url.path.lstrip("/")).resolve()
            if not local.is_file() or FRONTEND.resolve() not in local.parents:
                served.append({"path": url.path, "kind": "missing", "bytes": 0, "gzip": 0})
                route.fulfill(status=404, body=b"")
                return
            body = local.read_bytes()
        content_type = mimetypes.guess_type(url.path)[0] or "application/octet-stream"
        served.append({"path": url.path, "kind": "static", "bytes": len(body), "gzip": gzip_size(body)})
        route.fulfill(status=200, body=body, content_type=content_type)

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.add_init_script(TOKEN_SCRIPT)
            page.route("**/*", answer)
            page.goto(f"{ORIGIN}/index.html", wait_until="networkidle")
            page.wait_for_timeout(SETTLE_MS)
            state = page.evaluate("document.body.dataset.state || ''")
        finally:
            browser.close()
    static = [entry for entry in served if entry["kind"] == "static"]
    api = [entry for entry in served if entry["kind"] == "api"]
    return {
        "measured": True,
        "page_state": state,
        "page_errors": errors[:5],
        "requests": len(served),
        "static_requests": len(static),
        "static_bytes": sum(entry["bytes"] for entry in static),
        "static_gzip_bytes": sum(entry["gzip"] for entry in static),
        "api_requests": len(api),
        "api_bytes": sum(entry["bytes"] for entry in api),
        "api_gzip_bytes": sum(entry["gzip"] for entry in api),  # if API Gateway compressed them
        "missing": [entry["path"] for entry in served if entry["kind"] == "missing"],
        "files": served,
    }
