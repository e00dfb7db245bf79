"""The Store operations of migration 0004: passwords, the key that signs
session tokens, login sessions and API tokens, written once for every SQL
backend in terms of its hooks (sql_backend.py)."""

from __future__ import annotations

from typing import Any

from espf.auth_records import ApiToken, StoredSession
from espf.domain import ApiUser
from espf.store import rows
from espf.store.plan import Plan, one_statement, row, run
from espf.store.sql_backend import SqlBackend


def _set_password(params: dict[str, Any], now: int) -> Plan[ApiUser | None]:
    found = yield row("user_set_password", params)
    if found is None:
        return None
    user = rows.api_user(found)
    # A new password ends every session of its user, on every node.
    yield run("sessions_revoke_for_user", {"i_user": user.i_user, "now": now})
    return user


def _server_key(params: dict[str, Any]) -> Plan[bytes]:
    # ON CONFLICT waits for a racing insert to commit, then skips; the read
    # that follows (a statement of its own) sees the winner's key.
    yield run("server_key_insert", params)
    found = yield row("server_key_get", params)
    return bytes(found[0])


def _create_session(params: dict[str, Any]) -> Plan[None]:
    yield run("sessions_prune_for_user", params)
    yield run("session_insert", params)


def _find_api_token(token_hash: str, now: int) -> Plan[tuple[int, ApiUser] | None]:
    found = yield row("api_token_find", {"token_hash": token_hash})
    if found is None:
        return None
    yield run("api_token_used", {"i_api_token": found[0], "now": now})
    return int(found[0]), rows.api_user(found, 1)


class SessionOperations(SqlBackend):
    async def user_set_password(
        self, i_env: int, login: str, password_hash: str, weak_password: bool, now: int
    ) -> ApiUser | None:
        params = {
            "i_env": i_env,
            "login": login,
            "password_hash": password_hash,
            "weak_password": weak_password,
        }
        return await self._write(_set_password, params, now)

    async def server_key(self, purpose: str, candidate: bytes, now: int) -> bytes:
        return await self._write(_server_key, {"purpose": purpose, "key": candidate, "now": now})

    async def session_create(
        self,
        session_id: str,
        i_user: int,
        i_api_token: int | None,
        refresh_hash: str,
        now: int,
        expires_at: int,
        keep: int,
    ) -> None:
        params = {
            "session_id": session_id,
            "i_user": i_user,
            "i_api_token": i_api_token,
            "refresh_hash": refresh_hash,
            "now": now,
            "expires_at": expires_at,
            "keep": keep,
        }
        await self._write(_create_session, params)

    async def session_get(self, session_id: str) -> StoredSession | None:
        found = await self._fetchone("session_get", {"session_id": session_id})
        return rows.stored_session(found) if found else None

    async def session_refresh(
        self, session_id: str, refresh_hash: str, new_refresh_hash: str, now: int, expires_at: int
    ) -> bool:
        params = {
            "session_id": session_id,
            "refresh_hash": refresh_hash,
            "new_refresh_hash": new_refresh_hash,
            "now": now,
            "expires_at": expires_at,
        }
        return await self._write(one_statement, "row", "session_refresh", params) is not None

    async def session_revoke(self, session_id: str, now: int) -> bool:
        params = {"session_id": session_id, "now": now}
        return await self._write(one_statement, "row", "session_revoke", params) is not None

    async def api_token_create(self, i_user: int, name: str, token_hash: str, now: int) -> int:
        params = {"i_user": i_user, "name": name, "token_hash": token_hash, "now": now}
        return int((await self._write(one_statement, "row", "api_token_insert", params))[0])

    async def api_token_list(self, i_env: int | None, login: str | None) -> list[ApiToken]:
        found = await self._fetchall("api_token_list", {"i_env": i_env, "login": login})
        return [rows.api_token(r) for r in found]

    async def api_token_find(self, token_hash: str, now: int) -> tuple[int, ApiUser] | None:
        return await self._write(_find_api_token, token_hash, now)

    async def api_token_delete(self, i_env: int, login: str, i_api_token: int) -> bool:
        params = {"i_env": i_env, "login": login, "i_api_token": i_api_token}
        return await self._write(one_statement, "row", "api_token_delete", params) is not None
