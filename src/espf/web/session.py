"""The console's session: a signed cookie, no server-side session table.

The cookie holds the user (login and id), a fingerprint of its password hash
and the session's CSRF token, signed with a key kept in the database, so
every API node accepts it and a restart keeps it. Its signature carries the
time it was issued; each request re-issues it, so a session ends after
``IDLE_S`` without a request (idle expiry), and at once when the user is
deleted, recreated or gets a new password."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from espf.domain import ApiUser

COOKIE = "espf_console"
IDLE_S = 30 * 60
_SALT = "espf-console-session"


@dataclass(frozen=True, slots=True)
class Session:
    user: ApiUser
    csrf: str


def password_fingerprint(user: ApiUser) -> str:
    """Changes with the password: an old session does not outlive it."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


class SessionCodec:
    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt=_SALT)

    def issue(self, user: ApiUser, csrf: str | None = None) -> tuple[str, str]:
        """The cookie value and the CSRF token of a (new or renewed) session."""
        token = csrf or secrets.token_urlsafe(24)
        payload = {
            "l": user.login,
            "i": user.i_user,
            "p": password_fingerprint(user),
            "c": token,
        }
        return self._serializer.dumps(payload), token

    def read(self, value: str) -> dict[str, Any] | None:
        """The payload of a cookie signed by us and used within IDLE_S, else None."""
        try:
            payload = self._serializer.loads(value, max_age=IDLE_S)
        except BadSignature:  # also SignatureExpired, its subclass
            return None
        if not isinstance(payload, dict) or not {"l", "i", "p", "c"} <= payload.keys():
            return None
        return payload


def belongs_to(payload: dict[str, Any], user: ApiUser | None) -> bool:
    return (
        user is not None
        and user.i_user == payload["i"]
        and hmac.compare_digest(password_fingerprint(user), str(payload["p"]))
    )


def set_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=IDLE_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
