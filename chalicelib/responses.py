"""The API's HTTP plumbing: responses, the one mapping of exceptions to HTTP errors, the request
middleware and CORS. app.py wires these; chalicelib.query answers.

Errors are `{"error": {"message", "param", "code"}}` everywhere, by exception type (`ERRORS`):

    InvalidInput 400 invalid_parameter   BodyTooLarge 413 payload_too_large   NotFound 404 not_found
    UnsupportedMediaType 415 unsupported_media_type (POST/PATCH without Content-Type: application/json)
    Conflict 409 conflict                Unauthorized 401 unauthorized        Forbidden 403 forbidden
    OpenAIError 502 upstream_unavailable ConfigError 503 not_configured
    RateLimited 429 rate_limited (the token's live budget) / 503 live_capacity (the stage's), Retry-After
    StoreError, botocore errors 503 store_unavailable                         anything else 500

A lone surrogate anywhere in an answer (a bad name stored before validation) becomes U+FFFD when
the answer is rendered, never a 500. 5xx bodies are generic; the exception goes to the log (with
its traceback for the unexpected ones).
An answer too large for Lambda's 6 MB response limit is refused with 400 `response_too_large`: before
it is built when its size can be predicted (ResponseTooLarge, raised by chalicelib.query given
`MAX_RESPONSE_BYTES`), else once it is rendered.
Chalice's own errors (405 method not allowed, 415 media type) are reshaped to the same body.

`api_middleware` runs around every route: it checks the token (chalicelib.auth) and the body size
before the handler, maps anything that escapes to a JSON error, and applies CORS: only a request whose
`Origin` is the configured DASHBOARD_ORIGIN gets `Access-Control-Allow-Origin` (with `Vary: Origin`).

CORS and API Gateway: a preflight (OPTIONS) never reaches the Lambda; API Gateway answers it from the
route's `CORSConfig`, fixed when `chalice deploy` renders the API. `DashboardCORS` reads the origin
from the settings whenever asked, never at import, so `chalice deploy` (which runs with the stage's
variables exported, see deploy/chalice_cmd.py) renders the stage's DASHBOARD_ORIGIN, and a changed
origin needs a redeploy, like the collect schedule.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, ParamSpec

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import CORSConfig, Request, Response

from chalicelib.auth import authorize, bearer_token, hash_token, required_role
from chalicelib.errors import (
    BodyTooLarge,
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OpenAIError,
    RateLimited,
    ResponseTooLarge,
    StoreError,
    Unauthorized,
    UnsupportedMediaType,
)
from chalicelib.observability import logger
from chalicelib.query.caller import caller
from chalicelib.settings import get_settings
from chalicelib.validation import MAX_BODY_BYTES

P = ParamSpec("P")

JSON_TYPE = "application/json"
CSV_TYPE = "text/csv; charset=utf-8"
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type")
CORS_EXPOSE_HEADERS = ("Content-Disposition",)
CORS_MAX_AGE = 600
# Lambda returns at most 6 MB through API Gateway, and the proxy envelope escapes the body's quotes.
MAX_RESPONSE_BYTES = 4_500_000

ERRORS: tuple[tuple[type[BaseException], int, str, str | None], ...] = (
    # (type, status, code, generic message or None to show the exception's own safe message)
    (BodyTooLarge, 413, "payload_too_large", None),
    (UnsupportedMediaType, 415, "unsupported_media_type", None),
    (NotFound, 404, "not_found", None),
    (Conflict, 409, "conflict", None),
    (InvalidInput, 400, "invalid_parameter", None),
    (ResponseTooLarge, 400, "response_too_large", None),
    (Unauthorized, 401, "unauthorized", None),
    (Forbidden, 403, "forbidden", None),
    (OpenAIError, 502, "upstream_unavailable", "OpenAI did not answer the live query; try again shortly"),
    (ConfigError, 503, "not_configured", "the service is not fully configured; see its logs"),
    (StoreError, 503, "store_unavailable", "the data store is unavailable; try again shortly"),
    (ClientError, 503, "store_unavailable", "the data store is unavailable; try again shortly"),
    (BotoCoreError, 503, "store_unavailable", "the data store is unavailable; try again shortly"),
)
_CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequestError": "invalid_parameter",
    "NotFoundError": "not_found",
}


_SURROGATES = re.compile("[\ud800-\udfff]")
BODY_METHODS = frozenset({"POST", "PATCH"})


def _dump(body: Any) -> str:
    return _encodable(json.dumps(body, separators=(",", ":"), ensure_ascii=False))


def _encodable(text: str) -> str:
    """`text` that UTF-8 can encode: a lone surrogate (an invalid name stored before validation, from
    anywhere) becomes U+FFFD here, the last edge before the wire, instead of a 500."""
    return _SURROGATES.sub("\ufffd", text) if not text.isascii() else text


def _too_large(text: str) -> Response | None:
    size = len(text.encode("utf-8"))
    if size <= MAX_RESPONSE_BYTES:
        return None
    return error_response(
        400,
        "response_too_large",
        f"the answer would be {size / 1_000_000:.1f} MB, over the {MAX_RESPONSE_BYTES / 1_000_000:.1f} MB a "
        "response may carry: use a wider bucket_width, a shorter period, a smaller top, fewer groupings "
        "or a filter",
    )


def _json(text: str, status: int, headers: dict[str, str] | None) -> Response:
    return Response(body=text, status_code=status, headers={"Content-Type": JSON_TYPE, **(headers or {})})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (the body must already be JSON-native); refused when too large to send."""
    text = _dump(body)
    return _too_large(text) or _json(text, status, headers)


def csv_response(filename: str, text: str) -> Response:
    """A CSV download named `filename`; refused when too large to send."""
    text = _encodable(text)
    return _too_large(text) or Response(
        body=text,
        status_code=200,
        headers={"Content-Type": CSV_TYPE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def error_response(
    status: int, code: str, message: str, param: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """The error body every failure has."""
    return _json(_dump({"error": {"message": message, "param": param, "code": code}}), status, headers)


def to_response(exc: BaseException) -> Response:
    """The HTTP answer to an exception: by type (`ERRORS`), else a generic 500."""
    if isinstance(exc, RateLimited):  # the caller's budget: 429; everyone's: 503; both say when
        status, code = (429, "rate_limited") if exc.scope == "token" else (503, "live_capacity")
        return error_response(status, code, str(exc), "bucket_width", {"Retry-After": str(exc.retry_after)})
    for kind, status, code, generic in ERRORS:
        if not isinstance(exc, kind):
            continue
        if generic is not None:
            logger.error(
                "request failed", extra={"error_type": type(exc).__name__, "status": status}, exc_info=exc
            )
            return error_response(status, code, generic)
        if isinstance(exc, InvalidInput):
            return error_response(status, code, exc.message, exc.param)
        headers = {"WWW-Authenticate": 'Bearer realm="openai-usage-tracker"'} if status == 401 else None
        return error_response(status, code, str(exc), headers=headers)
    logger.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "an internal error occurred")


def handled(view: Callable[P, Response]) -> Callable[P, Response]:
    """Wrap a route handler so that every exception becomes a JSON error (Chalice would otherwise
    answer view exceptions itself, with its own body, before any middleware sees them)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception as exc:
            return to_response(exc)

    return wrapper


def query_params(request: Request | None) -> dict[str, list[str]]:
    """Every query parameter with all its values (`?a=1&a=2` -> `{"a": ["1", "2"]}`)."""
    params = request.query_params if request is not None else None
    if not params:
        return {}
    return {name: list(params.getlist(name)) for name in params}


def dashboard_origin() -> str:
    """The configured dashboard origin, or "" (no cross-origin access) when unset or unreadable."""
    try:
        return get_settings().dashboard_origin.strip().rstrip("/")
    except ConfigError:
        return ""


class DashboardCORS(CORSConfig):
    """Chalice's CORS for the dashboard origin, read from the settings when used (never at import)."""

    def __init__(self) -> None:
        super().__init__(
            allow_origin="",
            allow_headers=list(CORS_ALLOW_HEADERS),
            expose_headers=list(CORS_EXPOSE_HEADERS),
            max_age=CORS_MAX_AGE,
        )

    @property
    def allow_origin(self) -> str:
        """The dashboard origin of the current settings."""
        return dashboard_origin()

    @allow_origin.setter
    def allow_origin(self, _value: str) -> None:
        """CORSConfig.__init__ assigns an origin; ours always comes from the settings."""


def _reshape(response: Response) -> Response:
    """Chalice's own error bodies (`{"Code", "Message"}`) in our error shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or "Code" not in body:
        return response
    code = _CHALICE_CODES.get(
        str(body.get("Code")), "internal_error" if response.status_code >= 500 else "bad_request"
    )
    message = str(body.get("Message", "")) if response.status_code < 500 else "an internal error occurred"
    headers = {
        name: value
        for name, value in response.headers.items()
        if isinstance(value, str) and name.lower() != "content-type"
    }
    return error_response(response.status_code, code, message, headers=headers)


def _apply_cors(request: Request, response: Response, cors: DashboardCORS) -> Response:
    allowed = cors.allow_origin
    origin = (request.headers.get("origin") or "").strip()
    for name in [name for name in response.headers if name.lower().startswith("access-control-")]:
        del response.headers[name]
    if allowed and origin == allowed:
        response.headers.update(cors.get_access_control_headers())
    response.headers["Vary"] = "Origin"
    return response


CORS = DashboardCORS()


def _require_json(request: Request) -> None:
    """A POST/PATCH body must come as `Content-Type: application/json`: Chalice assumes JSON when
    the header is absent, and the contract promises 415 instead. A request without a body (an
    action route such as a revocation) has no media type to check; the route answers for it."""
    if request.method.upper() not in BODY_METHODS or not request.raw_body:
        return
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != JSON_TYPE:
        got = f", got {media_type[:60]!r}" if media_type else ""
        raise UnsupportedMediaType(f"Content-Type must be {JSON_TYPE}{got}")


def api_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Auth, body size, errors and CORS around every HTTP route."""
    try:
        path = str((request.context or {}).get("resourcePath") or request.path)
        header = request.headers.get("authorization")
        role = authorize(
            header, required_role(path, request.method), open_reads=get_settings().open_read_routes
        )
        _require_json(request)
        body = request.raw_body
        if body and len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge("body", f"must be at most {MAX_BODY_BYTES} bytes, got {len(body)}")
        # live 1m reads are budgeted per token: by its hash, never the token itself
        with caller(hash_token(bearer_token(header)) if role else "anonymous"):
            response = _reshape(get_response(request))
        response = _conditional(request, response)
    except Exception as exc:
        response = to_response(exc)
    return _apply_cors(request, response, CORS)


READ_CACHE_CONTROL = "private, no-cache"  # a browser keeps it but asks again: data moves every run


def _conditional(request: Request, response: Response) -> Response:
    """An `ETag` (a digest of the body) and `Cache-Control` on every successful GET, and 304 with no
    body when `If-None-Match` names that ETag: a refresh of unchanged data transfers nothing."""
    if request.method != "GET" or response.status_code != 200:
        return response
    body = response.body
    if not isinstance(body, str | bytes):
        return response
    data = body.encode("utf-8", "replace") if isinstance(body, str) else body
    etag = f'"{hashlib.blake2b(data, digest_size=16).hexdigest()}"'
    headers = {**(response.headers or {}), "ETag": etag, "Cache-Control": READ_CACHE_CONTROL}
    asked = {tag.strip() for tag in (request.headers.get("if-none-match") or "").split(",")}
    if etag in asked or "*" in asked:
        kept = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-disposition")}
        return Response(body="", status_code=304, headers=kept)
    response.headers = headers
    return response
