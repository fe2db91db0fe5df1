"""Materialized answers: one gzip'd JSON document per table in the S3 bucket named by VIEWS_BUCKET,
every answer of a collector run together, rewritten by each run.

    s3://<VIEWS_BUCKET>/answers/<table>.json.gz

One object, not one per answer: every answer changes with every run (each period ends today), and
~20 PUTs a run would cost ~$0.30 a month where one costs ~$0.01; a container reads it once and
keeps it (chalicelib.query.answers). This is the only code that knows the bucket's layout; what the
document holds, and when an answer may be served, is chalicelib.query.answers' concern. The
bucket's lifecycle rule (infra/template.yaml) expires the objects of tables nobody writes any more.
"""

from __future__ import annotations

import gzip
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

    @property
    def object_key(self) -> str:
        """The table's object."""
        return f"{PREFIX}/{self.table_name}.json.gz"

    def get(self) -> dict[str, Any] | None:
        """The document kept for the table; None when there is none (or it does not decode)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.object_key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        try:
            document = json.loads(gzip.decompress(body))
        except (OSError, EOFError, ValueError):
            return None  # a torn or foreign object: as if there were none
        return document if isinstance(document, dict) else None

    def put(self, document: dict[str, Any]) -> int:
        """Keep `document` for the table; the stored (compressed) size."""
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=6)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.object_key,
            Body=body,
            ContentType="application/json",
            ContentEncoding="gzip",
        )
        return len(body)
