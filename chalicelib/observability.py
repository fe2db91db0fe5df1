"""Observability: the one powertools Logger and Metrics of the tracker, and secret redaction in logs.

Owns `logger` (structured JSON, service "openai-usage-tracker"), `metrics` (CloudWatch EMF,
namespace "OpenAIUsageTracker"), `run_context` (a run id on every log line of one collection run)
and `redact` (the defense in depth that keeps OpenAI keys and bearer tokens out of every log line).

Creating the Logger and Metrics reads no AWS and no settings, so they live at module level; app.py
wires them with `ConvertToMiddleware`, and scheduled handlers flush `metrics` in `finally`.

Redaction runs twice: on the serialized JSON our handler writes (message, `extra` fields, appended
keys and tracebacks alike), and, through `RedactingFilter` on the logger itself, on each record
before any handler sees it, so a root handler (a CLI's `basicConfig`, pytest's caplog) that also
receives our records by propagation gets them masked too. It masks:
- anything shaped like an OpenAI key: `sk-` (optionally `admin-`, `proj-`, `svcacct-`) followed by
  16 or more key characters; short masked forms such as `sk-abc...def` are left alone;
- the token after `Bearer `;
- every exact value passed to `register_secret` (chalicelib.secrets registers the admin key), so a
  key of any shape is masked once it has been loaded.
Code must still never log a secret on purpose: this is the net, not the rule.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "openai-usage-tracker"
NAMESPACE = "OpenAIUsageTracker"
REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8  # shorter registered values would mask ordinary words

_OPENAI_KEY = re.compile(r"(?<![A-Za-z0-9_-])(sk-(?:admin-|proj-|svcacct-)?)[A-Za-z0-9_-]{16,}")
_BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)

_secrets_lock = threading.Lock()
_secrets: tuple[str, ...] = ()


def register_secret(value: str) -> None:
    """Mask this exact value (and its JSON-escaped form) in every later log line."""
    global _secrets  # noqa: PLW0603 - one process-wide set, replaced atomically under the lock
    if len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1]}
    with _secrets_lock:
        # Longest first, so a secret that contains another is masked whole.
        _secrets = tuple(sorted(set(_secrets) | forms, key=len, reverse=True))


def forget_secrets() -> None:
    """Drop every registered value (tests)."""
    global _secrets  # noqa: PLW0603
    with _secrets_lock:
        _secrets = ()


def redact(text: str) -> str:
    """`text` with registered secrets, bearer tokens and OpenAI-shaped keys masked."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda match: match.group(1) + REDACTED, text)
    return _OPENAI_KEY.sub(lambda match: match.group(1) + REDACTED, text)


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(item) for item in value)
    return value


_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and `extra` fields in place, for every handler downstream."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; rewrites what it carries."""
        if isinstance(record.msg, str):
            message = record.getMessage()
            masked = redact(message)
            if masked != message:
                record.msg, record.args = masked, None
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, _redact_value(value))
        return True


def _serialize(log: dict[str, Any]) -> str:
    # The same JSON powertools writes by default, masked as a whole after serialization.
    return redact(json.dumps(log, default=str, separators=(",", ":"), ensure_ascii=False))


logger = Logger(service=SERVICE, json_serializer=_serialize, utc=True, use_rfc3339=True)
logging.getLogger(SERVICE).addFilter(RedactingFilter())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def new_run_id() -> str:
    """A fresh, unique run id."""
    return uuid.uuid4().hex


@contextmanager
def run_context(run_id: str | None = None) -> Iterator[str]:
    """Add `run_id` to every log line inside the block; yields the id (a new one when None)."""
    run_id = run_id or new_run_id()
    with logger.append_context_keys(run_id=run_id):
        yield run_id


class _CurrentStderr:
    """Whatever `sys.stderr` is at the time of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def log_to_stderr() -> None:
    """Send the tracker's log lines to stderr: a CLI's stdout is for its results (`--json`)."""
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler) and not isinstance(handler.stream, _CurrentStderr):
        handler.setStream(_CurrentStderr())
