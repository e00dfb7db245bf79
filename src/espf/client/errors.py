"""The exceptions the client raises: one per kind of API error, each
carrying the API's ``error`` code, the HTTP status and the message.

Catch :class:`EspfError` for every failure of a call (including a transport
failure, whose ``status`` is None), or one subclass for one kind.
"""

from __future__ import annotations

from typing import Any


class EspfError(Exception):
    """An API call failed. ``status``: the HTTP status (None when no answer
    came); ``error``: the API's machine-readable code (e.g. ``unknown_field``);
    ``message``: what was wrong, for a person."""

    def __init__(self, status: int | None, error: str, message: str) -> None:
        super().__init__(f"{status or 'no answer'} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message


class BadRequest(EspfError):
    """400, 413, 415: the request itself is wrong; do not send it again as it is."""


class Unauthorized(EspfError):
    """401: credentials missing or wrong."""


class Forbidden(EspfError):
    """403: the user's role does not allow the method."""


class NotFound(EspfError):
    """404: what the request names does not exist in the caller's environment."""


class Conflict(EspfError):
    """409: it conflicts with the current state."""


class RateLimited(EspfError):
    """429: too many failed logins from this address; ``retry_after`` seconds."""

    def __init__(
        self, status: int | None, error: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(status, error, message)
        self.retry_after = retry_after


class Unavailable(EspfError):
    """503 (the database cannot be reached), or no answer at all: try again later."""

    def __init__(
        self, status: int | None, error: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(status, error, message)
        self.retry_after = retry_after


_BY_STATUS: dict[int, type[EspfError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    415: BadRequest,
    422: BadRequest,
}


def error_for(status: int, body: Any, retry_after: float | None) -> EspfError:
    """The exception for an error answer; tolerant of a body that is not the
    API's JSON (a proxy's HTML page, say)."""
    if isinstance(body, dict):
        code = str(body.get("error") or f"http_{status}")
        message = str(body.get("message") or "")
    else:
        code, message = f"http_{status}", str(body or "")[:500]
    if status == 429:
        return RateLimited(status, code, message, retry_after)
    if status == 503:
        return Unavailable(status, code, message, retry_after)
    kind = _BY_STATUS.get(status, EspfError)
    return kind(status, code, message)
