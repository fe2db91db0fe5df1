"""Publishing the dashboard: content types, cache headers, config.js with the API URL, only changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import publish
from deploy.target import Target


@pytest.fixture
def bucket(local_target: Target) -> Iterator[str]:
    name = f"dashboard-test-{uuid.uuid4().hex[:12]}"
    s3 = local_target.s3()
    s3.create_bucket(Bucket=name)
    yield name
    publish.empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def objects(target: Target, bucket: str) -> dict[str, dict[str, str]]:
    s3 = target.s3()
    result = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        head = s3.head_object(Bucket=bucket, Key=item["Key"])
        result[item["Key"]] = {"type": head["ContentType"], "cache": head.get("CacheControl", "")}
    return result


def test_publish_uploads_the_site_with_content_types_and_cache_headers(
    local_target: Target, project: Path, bucket: str
) -> None:
    files = publish.site_files(project / "frontend", publish.config_js("https://api.example/api/", "dev"))

    result = publish.publish(local_target.s3(), bucket, files)

    assert sorted(result.uploaded) == sorted(objects(local_target, bucket))
    assert objects(local_target, bucket) == {
        "index.html": {"type": "text/html; charset=utf-8", "cache": "no-cache"},
        "config.js": {"type": "text/javascript; charset=utf-8", "cache": "no-cache"},
        "app.js": {"type": "text/javascript; charset=utf-8", "cache": "no-cache"},
        "app.css": {"type": "text/css; charset=utf-8", "cache": "no-cache"},
        "favicon.svg": {"type": "image/svg+xml", "cache": "no-cache"},
        "vendor/uplot-1.6.30.min.js": {
            "type": "text/javascript; charset=utf-8",
            "cache": "public, max-age=31536000, immutable",
        },
        "vendor/uplot-1.6.30.min.css": {
            "type": "text/css; charset=utf-8",
            "cache": "public, max-age=31536000, immutable",
        },
    }
    # Versioned files first, index.html last: a page never names a file not uploaded yet.
    assert result.uploaded[0].startswith("vendor/")
    assert result.uploaded[-1] == "index.html"
    body = local_target.s3().get_object(Bucket=bucket, Key="config.js")["Body"].read().decode()
    assert '"apiUrl": "https://api.example/api/"' in body  # the generated one, not frontend/config.js
    assert "127.0.0.1" not in body


def test_publishing_again_uploads_only_what_changed_and_removes_what_is_gone(
    local_target: Target, project: Path, bucket: str
) -> None:
    site = project / "frontend"
    s3 = local_target.s3()
    publish.publish(s3, bucket, publish.site_files(site, publish.config_js("https://a/", "dev")))

    again = publish.publish(s3, bucket, publish.site_files(site, publish.config_js("https://a/", "dev")))
    assert again.uploaded == []
    assert not again.changed

    (site / "app.css").write_text(":root { --bg: #000; }\n")
    (site / "favicon.svg").unlink()
    changed = publish.publish(s3, bucket, publish.site_files(site, publish.config_js("https://b/", "dev")))

    assert sorted(changed.uploaded) == ["app.css", "config.js"]
    assert changed.deleted == ["favicon.svg"]
    assert "favicon.svg" not in objects(local_target, bucket)


@pytest.mark.parametrize(
    ("key", "versioned"),
    [
        ("vendor/uplot-1.6.30.min.js", True),
        ("chart-v4.4.1.umd.js", True),
        ("lib/htmx@2.0.4.js", True),
        ("app.js", False),
        ("index.html", False),
        ("config.js", False),
        ("fonts/inter.woff2", False),
    ],
)
def test_only_files_with_a_version_in_their_name_are_immutable(key: str, versioned: bool) -> None:
    assert publish.is_versioned(key) is versioned
    assert (publish.cache_control(key) == publish.IMMUTABLE) is versioned


def test_a_site_without_index_html_is_not_published(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("")

    with pytest.raises(FileNotFoundError, match=r"index\.html"):
        publish.site_files(tmp_path, b"")


def test_the_published_page_may_call_the_api_and_nothing_else(project: Path) -> None:
    (project / "frontend" / "index.html").write_text(
        '<html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'self'; connect-src 'self'\"></head></html>"
    )

    files = publish.site_files(
        project / "frontend",
        publish.config_js("https://abc.execute-api.us-east-1.amazonaws.com/api/", "prod"),
        api_url="https://abc.execute-api.us-east-1.amazonaws.com/api/",
    )

    page = next(item for item in files if item.key == "index.html").body.decode()
    assert "connect-src 'self' https://abc.execute-api.us-east-1.amazonaws.com\"" in page
    assert "default-src 'self'" in page
