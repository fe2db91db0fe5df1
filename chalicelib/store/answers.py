"""Materialized answers: gzip'd JSON documents in the S3 bucket named by VIEWS_BUCKET, one object per
answer, named by the table it was computed from and a digest of the request it answers.

    s3://<VIEWS_BUCKET>/answers/<table>/<sha256(request)[:32]>.json.gz

This is the only code that knows the bucket's layout. What a document holds, and when it may be
served, is chalicelib.query.answers' concern; the bucket's lifecycle rule (infra/template.yaml)
expires objects after a few days, so answers of requests nobody asks any more do not pile up.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib import aws

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

PREFIX = "answers"
_MISSING = {"NoSuchKey", "404", "NotFound"}


class AnswerStore:
    """The answers of one table in one bucket."""

    def __init__(self, bucket: str, table_name: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> S3Client:
        """The S3 client (created on first use: a container that serves no answer never makes one)."""
        if self._client is None:
            self._client = aws.s3_client()
        return self._client

    def object_key(self, request: str) -> str:
        """The object of the answer to `request` (a canonical text of what was asked)."""
        digest = hashlib.sha256(request.encode()).hexdigest()[:32]
        return f"{PREFIX}/{self.table_name}/{digest}.json.gz"

    def get(self, request: str) -> dict[str, Any] | None:
        """The document kept for `request`; None when there is none (or it does not decode)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.object_key(request))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        try:
            document = json.loads(gzip.decompress(body))
        except (OSError, EOFError, ValueError):
            return None  # a torn or foreign object: as if there were none
        return document if isinstance(document, dict) else None

    def put(self, request: str, document: dict[str, Any]) -> int:
        """Keep `document` for `request`; the stored (compressed) size."""
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=6)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.object_key(request),
            Body=body,
            ContentType="application/json",
            ContentEncoding="gzip",
        )
        return len(body)
