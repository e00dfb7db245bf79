"""Environments, and the API users of each one."""

from __future__ import annotations

import asyncio

from espf.domain import ApiUser, Environment, Role
from espf.errors import BadRequest, Conflict, NotFound
from espf.passwords import check_new_password, hash_password
from espf.service.sessions import SessionOperations

MAX_LOGIN_LENGTH = 100


class UserOperations(SessionOperations):
    # -- environments ---------------------------------------------------------------
    async def env_create(self, name: str, i_env: int | None = None) -> Environment:
        name = name.strip()
        if not name:
            raise BadRequest("environment name is empty")
        if i_env is not None and i_env <= 0:
            raise BadRequest(f"i_env must be a positive integer, got {i_env}")
        return await self.store.env_create(i_env, name, self.clock.now_ms())

    async def env_list(self) -> list[Environment]:
        return await self.store.env_list()

    async def env_exists(self, i_env: int) -> bool:
        return await self.store.env_get(i_env) is not None

    # -- users --------------------------------------------------------------------------
    async def user_create(
        self,
        i_env: int,
        login: str,
        password: str,
        role: Role = Role.PRODUCER,
        allow_weak_password: bool = False,
    ) -> ApiUser:
        login = login.strip()
        if (
            not login
            or ":" in login
            or any(ch.isspace() for ch in login)
            or not login.isprintable()
            or len(login) > MAX_LOGIN_LENGTH
        ):
            raise BadRequest(
                f"login {login!r} is not valid: 1 to {MAX_LOGIN_LENGTH} printable characters, "
                "without ':' or spaces"
            )
        await self._require_env(i_env)
        weak = check_new_password(login, password, allow_weak_password)
        hashed = await asyncio.to_thread(hash_password, password)
        return await self.store.user_create(
            i_env, login, hashed, role, self.clock.now_ms(), weak_password=weak
        )

    async def user_list(self, i_env: int | None) -> list[ApiUser]:
        return await self.store.user_list(i_env)

    async def _user_in_env(self, i_env: int, login: str) -> ApiUser:
        user = await self.store.user_get_by_login(login)
        # Another environment's user is as unknown as one that does not exist.
        if user is None or user.i_env != i_env:
            raise NotFound(
                f"user {login!r} does not exist in environment {i_env}", code="unknown_user"
            )
        return user

    async def user_delete(self, i_env: int, login: str, acting_login: str | None = None) -> None:
        """``acting_login``: the administrator asking over the API, who may
        not delete itself (the CLI on the server passes None)."""
        deleted = await self._user_in_env(i_env, login)
        if login == acting_login:
            raise Conflict("you cannot delete your own user", code="own_user")
        if not await self.store.user_delete(i_env, login):
            raise Conflict(
                f"user {login!r} is the last administrator of environment {i_env}; "
                "create another administrator first",
                code="last_admin",
            )
        # Forget verified credentials at once, not when their cache entry expires.
        self._credentials.clear()
        self.sessions.forget_user(deleted.i_user)

    async def user_set_role(
        self, i_env: int, login: str, role: Role, acting_login: str | None = None
    ) -> ApiUser:
        current = await self._user_in_env(i_env, login)
        if login == acting_login and role is not current.role:
            raise Conflict("you cannot change your own role", code="own_user")
        updated = await self.store.user_set_role(i_env, login, role)
        if updated is None:
            raise Conflict(
                f"user {login!r} is the last administrator of environment {i_env}; "
                "make another user administrator first",
                code="last_admin",
            )
        self._credentials.clear()
        self.sessions.forget_user(updated.i_user)
        return updated

    # -- passwords (drop-in for existing Applications) ----------------------------
    async def user_set_password(
        self, i_env: int, login: str, password: str, allow_weak_password: bool = False
    ) -> ApiUser:
        """Set a new password; every session of the user ends, on every node."""
        await self._user_in_env(i_env, login)
        weak = check_new_password(login, password, allow_weak_password)
        hashed = await asyncio.to_thread(hash_password, password)
        now = self.clock.now_ms()
        updated = await self.store.user_set_password(i_env, login, hashed, weak, now)
        if updated is None:  # deleted meanwhile
            raise NotFound(
                f"user {login!r} does not exist in environment {i_env}", code="unknown_user"
            )
        self._credentials.clear()
        self.sessions.forget_user(updated.i_user)
        return updated

    async def user_in_env(self, i_env: int, login: str) -> ApiUser:
        """The user ``login`` of ``i_env``; NotFound otherwise."""
        return await self._user_in_env(i_env, login)
