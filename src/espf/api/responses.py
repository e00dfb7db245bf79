"""JSON answers, errors included: every error is ``{"error", "message"}``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from espf.errors import EspfError, TooManyRequests, Unavailable

WWW_AUTHENTICATE = 'Basic realm="espf", charset="UTF-8"'


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: EspfError, headers: dict[str, str] | None = None) -> JSONResponse:
    all_headers = dict(headers or {})
    if error.http_status == 401:
        all_headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    if isinstance(error, TooManyRequests | Unavailable):
        all_headers.setdefault("Retry-After", str(error.retry_after_s))
    return JSONResponse(error.as_json(), status_code=error.http_status, headers=all_headers)
