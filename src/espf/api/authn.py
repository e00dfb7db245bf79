"""Who is calling: HTTP Basic credentials checked by the service layer."""

from __future__ import annotations

from starlette.requests import Request

from espf.api.basic_auth import basic_credentials
from espf.domain import ApiUser, Role
from espf.errors import Forbidden
from espf.service import Service


class Authenticator:
    def __init__(self, service: Service) -> None:
        self._service = service

    async def user(self, request: Request) -> ApiUser:
        login, password = basic_credentials(request)
        return await self._service.authenticate(login, password)

    async def admin(self, request: Request) -> ApiUser:
        user = await self.user(request)
        if user.role is not Role.ADMIN:
            raise Forbidden(
                f"user {user.login!r} has the role {user.role.value}; this needs admin",
                code="admin_required",
            )
        return user
