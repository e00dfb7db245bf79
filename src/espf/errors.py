"""One small exception tree.

Every error a client or an administrator can cause is an ``EspfError``; each
subclass carries its HTTP status, a stable machine-readable code and the exit
code the CLI uses, so the API and the CLI map errors the same way.
"""

from __future__ import annotations


class EspfError(Exception):
    http_status = 500
    code = "internal_error"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def as_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class BadRequest(EspfError):
    http_status = 400
    code = "bad_request"
    exit_code = 2


class Unauthorized(EspfError):
    http_status = 401
    code = "unauthorized"
    exit_code = 3


class Forbidden(EspfError):
    http_status = 403
    code = "forbidden"
    exit_code = 3


class NotFound(EspfError):
    http_status = 404
    code = "not_found"
    exit_code = 4


class Conflict(EspfError):
    http_status = 409
    code = "conflict"
    exit_code = 5


class PayloadTooLarge(EspfError):
    http_status = 413
    code = "payload_too_large"
    exit_code = 2


class UnsupportedMediaType(EspfError):
    http_status = 415
    code = "unsupported_media_type"
    exit_code = 2


class TooManyRequests(EspfError):
    """Too many failed logins from one address; ``retry_after_s`` says when to try again."""

    http_status = 429
    code = "too_many_requests"
    exit_code = 3

    def __init__(self, message: str, *, retry_after_s: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class MigrationFailed(EspfError):
    """The schema could not be brought up to date; a person must look."""

    code = "migration_failed"
    exit_code = 7


class Unavailable(EspfError):
    """The database cannot be reached (or cannot store more); the client may
    try again after ``retry_after_s`` (the answer's ``Retry-After``)."""

    http_status = 503
    code = "unavailable"
    exit_code = 6

    def __init__(self, message: str, *, retry_after_s: int = 5, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s
