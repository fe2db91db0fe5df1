"""The simulator's one exception: an OpenAI-shaped HTTP error.

Every refusal the simulator sends carries OpenAI's error body
`{"error": {"message", "type", "param", "code"}}`; `ApiError` holds those fields plus the status
and any extra headers (Retry-After on 429).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error response in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


def invalid(param: str, message: str, code: str = "invalid_value") -> ApiError:
    """A 400 naming the offending parameter."""
    return ApiError(400, message, param=param, code=code)
