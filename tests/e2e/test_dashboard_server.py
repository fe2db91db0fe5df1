"""devstack.dashboard: serves frontend/ as publishing would, with config.js and the CSP for one API."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack.dashboard import DashboardServer, api_origin, with_api_origin

API = "https://abc123.execute-api.eu-west-1.amazonaws.com/api/"
PAGE = (
    '<html><head><meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; connect-src 'self'; img-src 'self'\"></head></html>"
)


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def policy_of(html: str) -> str:
    match = re.search(r'http-equiv="Content-Security-Policy"\s+content="([^"]*)"', html)
    assert match, html
    return match.group(1)


def test_the_api_origin_is_scheme_and_host_only():
    assert api_origin(API) == "https://abc123.execute-api.eu-west-1.amazonaws.com"
    assert api_origin("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert api_origin("") == ""
    with pytest.raises(ValueError, match="absolute http"):
        api_origin("javascript:alert(1)")


def test_connect_src_allows_the_page_and_the_api_and_nothing_else():
    policy = policy_of(with_api_origin(PAGE, API))

    assert "connect-src 'self' https://abc123.execute-api.eu-west-1.amazonaws.com;" in policy
    assert policy.count("connect-src") == 1
    assert "default-src 'none'" in policy
    assert "img-src 'self'" in policy


def test_a_policy_without_connect_src_gains_one_and_a_page_without_a_policy_is_refused():
    page = PAGE.replace("connect-src 'self'; ", "")
    assert policy_of(with_api_origin(page, API)).endswith(
        "connect-src 'self' https://abc123.execute-api.eu-west-1.amazonaws.com"
    )
    with pytest.raises(ValueError, match="no Content-Security-Policy"):
        with_api_origin("<html></html>", API)


def test_the_real_index_html_gets_the_api_origin():
    index = (Path(__file__).resolve().parents[2] / "frontend" / "index.html").read_text()
    policy = policy_of(with_api_origin(index, "http://127.0.0.1:8000"))
    assert "connect-src 'self' http://127.0.0.1:8000" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy


def test_the_server_serves_the_site_with_a_generated_config(tmp_path):
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "app.js").write_text("console.log('hi');\n")
    (tmp_path / "config.js").write_text("window.TRACKER_CONFIG = {apiUrl: 'http://stale.example'};\n")
    (tmp_path / ".env").write_text("SECRET=1\n")
    with DashboardServer("http://127.0.0.1:8000", frontend_dir=tmp_path, stage="demo") as server:
        status, headers, body = fetch(f"{server.url}/")
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Cache-Control"] == "no-cache"
        assert "connect-src 'self' http://127.0.0.1:8000" in body.decode()

        status, headers, body = fetch(f"{server.url}/config.js")
        assert status == 200
        assert headers["Content-Type"].startswith("text/javascript")
        assert '"apiUrl": "http://127.0.0.1:8000"' in body.decode()
        assert '"stage": "demo"' in body.decode()
        assert b"stale.example" not in body

        assert fetch(f"{server.url}/app.js")[0] == 200
        assert fetch(f"{server.url}/app.js", method="HEAD")[0] == 200
        assert fetch(f"{server.url}/.env")[0] == 404
        assert fetch(f"{server.url}/missing.js")[0] == 404
        assert fetch(f"{server.url}/../pyproject.toml")[0] == 404
        assert fetch(f"{server.url}/%2e%2e/%2e%2e/etc/passwd")[0] == 404
        assert fetch(f"{server.url}/app.js", method="POST")[0] == 501


def test_a_relative_api_url_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="absolute http"):
        DashboardServer("127.0.0.1:8000", frontend_dir=tmp_path)
