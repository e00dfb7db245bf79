"""Credentials from the Authorization header: HTTP Basic, or a Bearer token."""

from __future__ import annotations

import base64

from starlette.requests import Request

from espf.errors import Unauthorized


def basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized(
            "authentication required: send HTTP Basic credentials of an API user, or "
            "a Bearer access token from POST /rest/Session/login",
            code="missing_credentials",
        )
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise Unauthorized(
            "only HTTP Basic credentials or a Bearer access token are accepted",
            code="unsupported_auth_scheme",
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    # ValueError: binascii.Error, UnicodeDecodeError, and the plain ValueError
    # base64 raises for header bytes outside ASCII.
    except ValueError:
        raise Unauthorized(
            "the Basic credentials are not valid base64 of 'login:password'",
            code="malformed_credentials",
        ) from None
    login, separator, password = decoded.partition(":")
    if not separator:
        raise Unauthorized(
            "the Basic credentials lack the ':' between login and password",
            code="malformed_credentials",
        )
    return login, password


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, None for another scheme."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    if not token.strip():
        raise Unauthorized("the Bearer token is empty", code="malformed_credentials")
    return token.strip()
