"""`python -m devstack.dashboard --api-url URL`: the dashboard on this machine (not deployed).

Serves `frontend/` as the published site would be, with the two files publishing generates:

- `config.js`: written by `deploy.publish.config_js` (the one owner of its format), pointing at the
  given API; a `frontend/config.js` on disk is ignored, as publishing ignores it;
- `index.html`: its Content-Security-Policy's `connect-src` gains the API's origin
  (`with_api_origin`), so the page may call that API and nothing else.

Files are read on every request (edit and reload), sent `Cache-Control: no-cache`; only GET and HEAD,
nothing outside `frontend/`, no dot files, no directory listings. The first line on stdout is the
dashboard's URL, so scripts (and `make demo`) can read it. `DashboardServer` is the same server in a
thread, for tests.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from deploy.publish import CONFIG_JS, INDEX_HTML, api_origin, config_js, content_type, with_api_origin
from devstack.stack import ROOT

FRONTEND_DIR = ROOT / "frontend"
_TEXT = "text/plain; charset=utf-8"
_SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _Handler(BaseHTTPRequestHandler):
    server: _DashboardHTTPServer
    server_version = "tracker-dashboard"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def _serve(self, *, with_body: bool) -> None:
        try:
            status, kind, body = self.server.respond(urlsplit(self.path).path)
        except Exception as exc:  # a broken index.html is a 500 with the reason, not a dead server
            status, kind, body = HTTPStatus.INTERNAL_SERVER_ERROR, _TEXT, str(exc).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _DashboardHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], root: Path, api_url: str, stage: str, verbose: bool) -> None:
        api_origin(api_url)  # fail at start, not on the first request (and before binding the port)
        super().__init__(address, _Handler)
        self.root = root.resolve()
        self.api_url = api_url
        self.stage = stage
        self.verbose = verbose

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request path."""
        name = unquote(path).lstrip("/") or INDEX_HTML
        if name == CONFIG_JS:
            return HTTPStatus.OK, content_type(name), config_js(self.api_url, self.stage)
        file = (self.root / name).resolve()
        hidden = any(part.startswith(".") for part in Path(name).parts)
        if hidden or not file.is_relative_to(self.root) or not file.is_file():
            return HTTPStatus.NOT_FOUND, _TEXT, b"not found\n"
        if name == INDEX_HTML:
            html = with_api_origin(file.read_text(encoding="utf-8"), self.api_url)
            return HTTPStatus.OK, content_type(name), html.encode()
        return HTTPStatus.OK, content_type(name), file.read_bytes()


class DashboardServer:
    """The dashboard served from a thread on a loopback port; `url` once entered."""

    def __init__(
        self,
        api_url: str,
        *,
        frontend_dir: Path = FRONTEND_DIR,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "local",
        verbose: bool = False,
    ) -> None:
        self._httpd = _DashboardHTTPServer((host, port), frontend_dir, api_url, stage, verbose)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="dashboard", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def origin(self) -> str:
        """What the API's CORS must allow (DASHBOARD_ORIGIN)."""
        return self.url

    def __enter__(self) -> DashboardServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m devstack.dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--api-url", required=True, help="the API's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--stage", default="local", help="shown as a badge next to the title")
    parser.add_argument("--frontend-dir", type=Path, default=FRONTEND_DIR)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        server = DashboardServer(
            args.api_url,
            frontend_dir=args.frontend_dir,
            host=args.host,
            port=args.port,
            stage=args.stage,
            verbose=args.verbose,
        )
    except ValueError as error:
        parser.error(str(error))
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with server:
        print(f"{server.url}/", flush=True)
        print(f"Dashboard for the API at {args.api_url}; Ctrl-C to stop.", file=sys.stderr, flush=True)
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
