"""Who is calling: HTTP Basic credentials checked by the service layer."""

from __future__ import annotations

from starlette.requests import Request

from espf.api.basic_auth import basic_credentials
from espf.api.throttle import LoginThrottle
from espf.domain import ApiUser, Role
from espf.errors import Forbidden, Unauthorized
from espf.service import Service


class Authenticator:
    def __init__(self, service: Service, throttle: LoginThrottle | None = None) -> None:
        self._service = service
        self._throttle = throttle or LoginThrottle()

    async def user(self, request: Request) -> ApiUser:
        # Asking without credentials is not guessing: only wrong ones count.
        login, password = basic_credentials(request)
        return await self.sign_in(request, login, password)

    async def sign_in(self, request: Request, login: str, password: str) -> ApiUser:
        """Check a login and password under the failed-login throttle (the
        console's sign-in form shares it with HTTP Basic)."""
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
