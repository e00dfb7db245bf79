"""Who is asking, and what they may see."""

from __future__ import annotations

import asyncio

from espf.domain import ApiUser, Role
from espf.errors import Unauthorized
from espf.passwords import verify_password
from espf.service.core import ServiceCore


class AuthenticationOperations(ServiceCore):
    async def authenticate(self, login: str, password: str) -> ApiUser:
        """Return the user, or raise Unauthorized. Verified credentials are
        cached briefly: an Argon2 check per request would cap the API at a few
        dozen requests per second."""
        cached = self._credentials.get(login, password)
        if cached is not None:
            return cached
        # Requests that arrive together with the same credential (a producer
        # opening many connections, or the cache entry expiring under load)
        # share one check instead of each paying for an Argon2 hash.
        key = self._credentials.digest(login, password)
        check = self._checking.get(key)
        if check is None:
            check = asyncio.ensure_future(self._check_credential(login, password))
            self._checking[key] = check
            check.add_done_callback(lambda _: self._checking.pop(key, None))
        return await asyncio.shield(check)

    async def _check_credential(self, login: str, password: str) -> ApiUser:
        user = await self.store.user_get_by_login(login)
        ok = await asyncio.to_thread(
            verify_password, user.password_hash if user else None, password
        )
        if not ok or user is None:
            raise Unauthorized("wrong login or password", code="invalid_credentials")
        self._credentials.put(login, password, user)
        return user


def own_events_only(user: ApiUser) -> int | None:
    """Whose events a user may see: a producer only those it created
    (``created_by``), an administrator every event of its environment (None)."""
    return user.i_user if user.role is Role.PRODUCER else None
