"""Login sessions for Applications written against the billing API's
``/rest/Session/*`` methods, and API tokens.

An Application logs in once (password or API token) and then sends
``Authorization: Bearer <access_token>``. The access token is an HS256 JWT
signed with a key kept in the database (``server_keys``), so every API node
accepts it and a restart keeps it; it carries ``login``, ``iat``, ``exp`` and
the session id ``sid``. A token alone is not enough: its session must still
be live in the database, so a logout, a password change, a revoked API token
or a deleted user ends it on every node. Each node remembers a checked
session for at most ``session_check_ttl_s`` seconds; that bounds how long
another node may still accept a token after its session ended.

Refresh tokens are ``<sid>.<secret>``; only a SHA-256 of the secret is kept,
and each refresh replaces it (an old refresh token is refused).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt

from espf.auth_records import ApiToken, StoredSession
from espf.clock import Clock, format_ms
from espf.config import Settings
from espf.domain import ApiUser
from espf.errors import BadRequest, NotFound, Unauthorized
from espf.store import Store

SESSION_KEY_PURPOSE = "session"
ALGORITHM = "HS256"
TOKEN_PREFIX = "espf_"
MAX_TOKEN_NAME = 100
_MAX_CACHED_SESSIONS = 10_000


@dataclass(frozen=True, slots=True)
class SessionTokens:
    """What Session/login and Session/refresh_access_token answer."""

    access_token: str
    refresh_token: str
    expires_at: str  # the access token's expiry, 'YYYY-MM-DD HH:MM:SS' UTC
    session_id: str

    def as_json(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "session_id": self.session_id,
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Sessions:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        authenticate: Callable[[str, str], Awaitable[ApiUser]],
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._authenticate = authenticate
        self._key: bytes | None = None
        # session id -> (the session as read, monotonic time of the read)
        self._checked: dict[str, tuple[StoredSession, float]] = {}

    async def signing_key(self) -> bytes:
        if self._key is None:
            self._key = await self._store.server_key(
                SESSION_KEY_PURPOSE, secrets.token_bytes(32), self._clock.now_ms()
            )
        return self._key

    # -- logging in and out -------------------------------------------------------------
    async def login(
        self, login: str, password: str | None = None, token: str | None = None
    ) -> SessionTokens:
        """Raise Unauthorized for a wrong password or token."""
        now = self._clock.now_ms()
        i_api_token = None
        if token is not None:
            found = await self._store.api_token_find(_digest(token), now)
            # The login must match too: a token is not a user name.
            if found is None or found[1].login != login:
                raise Unauthorized("wrong login or API token", code="invalid_credentials")
            i_api_token, user = found
        elif password is not None:
            user = await self._authenticate(login, password)
        else:
            raise BadRequest("send a password or an API token", code="missing_field")
        session_id = secrets.token_urlsafe(18)
        secret = secrets.token_urlsafe(32)
        await self._store.session_create(
            session_id, user.i_user, i_api_token, _digest(secret), now, self._session_end(now)
        )
        return await self._tokens(user, session_id, secret, now)

    async def refresh(self, refresh_token: str) -> SessionTokens:
        session_id, _, secret = refresh_token.partition(".")
        now = self._clock.now_ms()
        session = await self._store.session_get(session_id) if secret else None
        new_secret = secrets.token_urlsafe(32)
        if session is None or not await self._store.session_refresh(
            session_id, _digest(secret), _digest(new_secret), now, self._session_end(now)
        ):
            raise Unauthorized(
                "the refresh token is not valid or its session has ended; log in again",
                code="invalid_refresh_token",
            )
        return await self._tokens(session.user, session_id, new_secret, now)

    async def logout(self, access_token: str) -> bool:
        """End the session of ``access_token``, expired or not."""
        claims = await self._claims(access_token, verify_exp=False)
        self._checked.pop(claims["sid"], None)
        return await self._store.session_revoke(claims["sid"], self._clock.now_ms())

    async def ping(self, access_token: str) -> int:
        """The user id of a live session, 0 otherwise (read afresh)."""
        try:
            claims = await self._claims(access_token)
        except Unauthorized:
            return 0
        self._checked.pop(claims["sid"], None)
        try:
            return (await self._live_session(claims)).user.i_user
        except Unauthorized:
            return 0

    async def user_of_access_token(self, access_token: str) -> ApiUser:
        """The user behind a Bearer token; Unauthorized if the token is
        expired, forged or its session has ended."""
        return (await self._live_session(await self._claims(access_token))).user

    def forget_user(self, i_user: int) -> None:
        """Drop this node's memory of a user's sessions (its password changed)."""
        for session_id, (session, _) in list(self._checked.items()):
            if session.user.i_user == i_user:
                del self._checked[session_id]

    # -- API tokens -----------------------------------------------------------------------
    async def token_create(self, user: ApiUser, name: str) -> tuple[ApiToken, str]:
        """A new token for ``user``; the secret is returned here only."""
        name = name.strip()
        if not name or len(name) > MAX_TOKEN_NAME or not name.isprintable():
            raise BadRequest(
                f"token name must be 1 to {MAX_TOKEN_NAME} printable characters",
                code="invalid_field",
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.now_ms()
        i_api_token = await self._store.api_token_create(user.i_user, name, _digest(secret), now)
        token = ApiToken(i_api_token, user.i_user, user.i_env, user.login, name, now, None)
        return token, secret

    async def token_list(self, i_env: int | None, login: str | None = None) -> list[ApiToken]:
        return await self._store.api_token_list(i_env, login)

    async def token_revoke(self, i_env: int, login: str, i_api_token: int) -> None:
        """Delete the token; the sessions it opened end with it."""
        if not await self._store.api_token_delete(i_env, login, i_api_token):
            raise NotFound(
                f"user {login!r} of environment {i_env} has no API token {i_api_token}",
                code="unknown_token",
            )
        self._checked = {
            sid: entry
            for sid, entry in self._checked.items()
            if entry[0].i_api_token != i_api_token
        }

    # -- inside -----------------------------------------------------------------------------
    def _session_end(self, now: int) -> int:
        return now + int(self._settings.session_ttl_s * 1000)

    async def _tokens(
        self, user: ApiUser, session_id: str, secret: str, now_ms: int
    ) -> SessionTokens:
        issued = now_ms // 1000
        expires = issued + max(1, int(self._settings.session_access_ttl_s))
        claims = {"login": user.login, "iat": issued, "exp": expires, "sid": session_id}
        access = jwt.encode(claims, await self.signing_key(), algorithm=ALGORITHM)
        return SessionTokens(
            access, f"{session_id}.{secret}", format_ms(expires * 1000), session_id
        )

    async def _claims(self, access_token: str, verify_exp: bool = True) -> dict[str, str]:
        try:
            claims: dict[str, str] = jwt.decode(
                access_token,
                await self.signing_key(),
                algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sid", "login"], "verify_exp": verify_exp},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized(
                "the access token has expired; refresh it (POST /rest/Session/"
                "refresh_access_token) or log in again",
                code="token_expired",
            ) from None
        except jwt.InvalidTokenError:
            raise Unauthorized(
                "the access token is not valid: damaged, forged or issued by another server; "
                "log in again (POST /rest/Session/login)",
                code="invalid_token",
            ) from None
        return claims

    async def _live_session(self, claims: dict[str, str]) -> StoredSession:
        session_id = claims["sid"]
        cached = self._checked.get(session_id)
        fresh_for = self._settings.session_check_ttl_s
        if cached is not None and time.monotonic() - cached[1] < fresh_for:
            session = cached[0]
        else:
            found = await self._store.session_get(session_id)
            if found is None:
                self._checked.pop(session_id, None)
                raise _session_ended()
            session = found
            if len(self._checked) >= _MAX_CACHED_SESSIONS:
                self._checked.clear()
            self._checked[session_id] = (session, time.monotonic())
        if not session.live(self._clock.now_ms()) or session.user.login != claims["login"]:
            raise _session_ended()
        return session


def _session_ended() -> Unauthorized:
    return Unauthorized(
        "the session has ended (logged out, password changed, API token revoked or "
        "expired); log in again (POST /rest/Session/login)",
        code="session_ended",
    )
