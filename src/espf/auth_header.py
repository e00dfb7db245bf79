"""The authorization header EventSender puts on each request."""

from __future__ import annotations

import base64

from espf.domain import AuthMethod, Handler


def authorization_header(handler: Handler) -> tuple[str, str] | None:
    """Return ``(header name, value)`` for the handler's method, or None.

    basic: ``Basic base64(login:password)``; custom: ``<scheme> <token>``, a
    fixed credential the Application compares; none: no header.
    """
    if handler.auth_method is AuthMethod.BASIC:
        raw = f"{handler.login or ''}:{handler.password or ''}".encode()
        return handler.auth_header, "Basic " + base64.b64encode(raw).decode("ascii")
    if handler.auth_method is AuthMethod.CUSTOM:
        return handler.auth_header, f"{handler.auth_scheme} {handler.auth_token}"
    return None
