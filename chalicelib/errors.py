"""The one exception tree of the tracker.

TrackerError
├── ConfigError            a setting is missing or malformed
├── InvalidInput           a user's request is wrong (-> HTTP 400, CLI exit 2); names the parameter
│   ├── NotFound           the named thing does not exist (-> HTTP 404)
│   ├── Conflict           the named thing exists already, or changed since it was read (-> HTTP 409)
│   └── BodyTooLarge       a request body over the size limit (-> HTTP 413)
├── UnsupportedMediaType   a body-carrying request that is not application/json (-> HTTP 415)
├── Unauthorized           no token, a malformed, unknown or revoked one (-> HTTP 401)
├── Forbidden              a valid token whose role may not do this (-> HTTP 403)
├── ResponseTooLarge       the answer would be too large to send (-> HTTP 400 response_too_large)
├── RateLimited            a live 1m read would exceed a per-minute budget of OpenAI calls
│                          (-> HTTP 429 for the caller's own budget, 503 for the stage's; Retry-After)
├── OpenAIError            talking to OpenAI failed
│   ├── OpenAIAuthError    401/403: the admin key is missing, wrong or lacks a scope (never retried)
│   ├── OpenAIRequestError 400/404: OpenAI refused our request as malformed
│   ├── OpenAIUnavailable  408/409/429/5xx/timeouts still failing after every retry
│   │   └── OpenAIDeadlineExceeded  the next wait would pass the deadline (or the longest wait we
│   │                               accept): given up at once, without sleeping
│   └── OpenAIMalformedData  OpenAI answered, but a row or amount cannot be read (a run fails cleanly)
│       └── InvalidAmountError  a Costs `amount.value` that is not a finite number (also a ValueError)
└── StoreError             DynamoDB refused or failed an operation we cannot recover from

Every exception the code raises on purpose is one of these (tests/unit/test_errors.py checks that no
other module defines its own); the API maps them to statuses by type (chalicelib.responses.ERRORS).
The only other raises are the `TypeError`/`ValueError` that `json`'s hooks must raise by contract,
which their callers turn into one of these.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base of every error the tracker raises on purpose."""


class ConfigError(TrackerError):
    """A setting is missing or malformed."""


class InvalidInput(TrackerError):
    """A user's input is wrong; `param` names the offending parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class NotFound(InvalidInput):
    """The thing a user named does not exist."""


class Conflict(InvalidInput):
    """The thing a user named exists already, or changed since the user read it."""


class BodyTooLarge(InvalidInput):
    """A request body over `chalicelib.validation.MAX_BODY_BYTES` (-> HTTP 413)."""


class UnsupportedMediaType(TrackerError):
    """A body-carrying request whose Content-Type is not application/json (-> HTTP 415; like
    Chalice's own 415 its error has no `param`: the message names the Content-Type header)."""


class Unauthorized(TrackerError):
    """No token, a malformed one, an unknown one or a revoked one (-> 401). The message never
    carries the token."""


class Forbidden(TrackerError):
    """A valid token whose role may not do this (-> 403)."""


class ResponseTooLarge(TrackerError):
    """The answer would exceed what a response may carry; raised before it is built when the size
    can be predicted. The message says how large and what to change."""


class RateLimited(TrackerError):
    """A live read refused before it reached OpenAI: `scope` "token" (this caller's budget) or
    "total" (everyone's); `retry_after` seconds until the budget refills."""

    def __init__(self, message: str, scope: str, retry_after: int) -> None:
        super().__init__(message)
        self.scope = scope
        self.retry_after = retry_after


class OpenAIError(TrackerError):
    """Talking to OpenAI failed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OpenAIAuthError(OpenAIError):
    """The admin key was rejected (401/403)."""


class OpenAIRequestError(OpenAIError):
    """OpenAI refused the request as malformed (400/404); `param` is OpenAI's when it gave one."""

    def __init__(self, message: str, status: int | None = None, param: str | None = None) -> None:
        super().__init__(message, status)
        self.param = param


class OpenAIUnavailable(OpenAIError):
    """Rate limits, server errors or timeouts outlasted every retry."""


class OpenAIDeadlineExceeded(OpenAIUnavailable):
    """A retry's wait would end past the deadline or exceed the longest wait accepted, or no time was
    left for an attempt; raised instead of sleeping."""


class OpenAIMalformedData(OpenAIError):
    """OpenAI's answer holds a row or an amount that cannot be read as what it claims to be."""


class InvalidAmountError(OpenAIMalformedData, ValueError):
    """A Costs `amount.value` that is not a finite number. Still a ValueError for parsers' callers."""


class StoreError(TrackerError):
    """DynamoDB failed in a way the caller cannot fix."""
