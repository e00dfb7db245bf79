"""Who is calling: HTTP Basic credentials or a session's Bearer access token,
checked by the service layer."""

from __future__ import annotations

from starlette.requests import Request

from espf.api.basic_auth import basic_credentials, bearer_token
from espf.api.throttle import LoginThrottle
from espf.domain import ApiUser, Role
from espf.errors import Forbidden, Unauthorized
from espf.service import Service


class Authenticator:
    def __init__(self, service: Service, throttle: LoginThrottle | None = None) -> None:
        self._service = service
        self._throttle = throttle or LoginThrottle()

    @property
    def throttle(self) -> LoginThrottle:
        """Failed logins per address, shared with /rest/Session/login."""
        return self._throttle

    async def user(self, request: Request) -> ApiUser:
        # A session's access token (/rest/Session/login): checking it costs an
        # HMAC and a cached lookup, nothing to throttle.
        token = bearer_token(request)
        if token is not None:
            return await self._service.sessions.user_of_access_token(token)
        # Asking without credentials is not guessing: only wrong ones count.
        login, password = basic_credentials(request)
        address = request.client.host if request.client else "unknown"
        self._throttle.check(address)
        try:
            return await self._service.authenticate(login, password)
        except Unauthorized:
            self._throttle.failed(address)
            raise

    async def admin(self, request: Request) -> ApiUser:
        user = await self.user(request)
        if user.role is not Role.ADMIN:
            raise Forbidden(
                f"user {user.login!r} has the role {user.role.value}; this needs admin",
                code="admin_required",
            )
        return user
