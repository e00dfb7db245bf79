"""The Store operations on environments, users, event types, handlers,
subscriptions, account status and copying, written once for every SQL
backend in terms of its hooks (sql_backend.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from espf.domain import (
    AccountRef,
    AccountStatusChange,
    ApiUser,
    Environment,
    EventType,
    EventTypeUsage,
    Handler,
    HandlerSettings,
    ProvisioningStatus,
    Role,
)
from espf.rate_limits import is_limited
from espf.standard_types import BUILTIN_EVENT_TYPES
from espf.store import record_plans as records
from espf.store import rows
from espf.store.params import account_status_params
from espf.store.plan import IntegrityFailure, one_statement
from espf.store.sql_backend import SqlBackend, conflict, type_gone


class RecordOperations(SqlBackend):
    # -- schema ----------------------------------------------------------------
    async def ensure_builtin_event_types(self, now: int) -> None:
        params = [{"i_event_type": i, "name": n, "now": now} for i, n in BUILTIN_EVENT_TYPES]
        await self._write(one_statement, "run_many", "event_type_insert_builtin", params)

    # -- environments and users ---------------------------------------------------
    async def env_create(self, i_env: int | None, name: str, now: int) -> Environment:
        try:
            return await self._write(records.create_environment, i_env, name, now)
        except IntegrityFailure as failure:
            raise conflict(failure, f"environment {i_env or name!r} already exists") from None

    async def env_get(self, i_env: int) -> Environment | None:
        row = await self._fetchone("env_get", {"i_env": i_env})
        return rows.environment(row) if row else None

    async def env_list(self) -> list[Environment]:
        return [rows.environment(r) for r in await self._fetchall("env_list", {})]

    async def user_create(
        self,
        i_env: int,
        login: str,
        password_hash: str,
        role: Role,
        now: int,
        weak_password: bool = False,
    ) -> ApiUser:
        params = {
            "i_env": i_env,
            "login": login,
            "password_hash": password_hash,
            "role": role.value,
            "now": now,
            "weak_password": weak_password,
        }
        try:
            found = await self._write(one_statement, "row", "user_insert", params)
        except IntegrityFailure as failure:
            raise conflict(failure, f"user {login!r} already exists") from None
        return rows.api_user(found)

    async def user_get_by_login(self, login: str) -> ApiUser | None:
        row = await self._fetchone("user_get_by_login", {"login": login})
        return rows.api_user(row) if row else None

    async def user_list(self, i_env: int | None) -> list[ApiUser]:
        return [rows.api_user(r) for r in await self._fetchall("user_list", {"i_env": i_env})]

    async def user_count(self) -> int:
        row = await self._fetchone("user_count", {})
        return int(row[0])

    async def user_delete(self, i_env: int, login: str) -> bool:
        return await self._write(records.delete_user, i_env, login)

    async def user_set_role(self, i_env: int, login: str, role: Role) -> ApiUser | None:
        params = {"i_env": i_env, "login": login, "role": role.value}
        return await self._write(records.set_user_role, params)

    # -- event types ----------------------------------------------------------------
    async def event_type_create_custom(self, name: str, now: int) -> EventType:
        try:
            return await self._write(records.create_custom_event_type, name, now)
        except IntegrityFailure as failure:
            raise conflict(failure, f"event type {name!r} already exists") from None

    async def event_type_get_by_name(self, name: str) -> EventType | None:
        row = await self._fetchone("event_type_get_by_name", {"name": name})
        return rows.event_type(row) if row else None

    async def event_type_list(self) -> list[EventType]:
        return [rows.event_type(r) for r in await self._fetchall("event_type_list", {})]

    async def event_type_delete(self, i_event_type: int, now: int) -> bool:
        try:
            return await self._write(records.delete_event_type, i_event_type, now)
        except IntegrityFailure as failure:
            if failure.kind == "foreign_key":
                return False  # events (or a subscription just committed) use it
            raise

    async def event_type_usage(self, i_event_type: int, i_env: int) -> EventTypeUsage:
        subscribers, counts = await self._read(records.event_type_counts, i_event_type, i_env)
        return rows.event_type_usage(subscribers, counts[0], counts[1], i_env)

    # -- handlers and subscriptions --------------------------------------------------
    async def handler_create(
        self, i_env: int, name: str, settings: HandlerSettings, now: int
    ) -> Handler:
        try:
            created = await self._write(records.create_handler, i_env, name, settings, now)
        except IntegrityFailure as failure:
            message = f"handler {name!r} already exists in environment {i_env}"
            raise conflict(failure, message) from None
        if is_limited(created):
            self._limiters_seen = True
        return created

    async def handler_update(self, handler: Handler, now: int) -> Handler:
        updated = await self._write(records.update_handler, handler, now)
        if is_limited(updated):
            self._limiters_seen = True
        return updated

    async def handler_get(self, i_env: int, name: str) -> Handler | None:
        row = await self._fetchone("handler_get", {"i_env": i_env, "name": name})
        return rows.handler(row) if row else None

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        return [rows.handler(r) for r in await self._fetchall("handler_list", {"i_env": i_env})]

    async def handler_delete(self, handler: Handler, now: int) -> int:
        return await self._write(records.delete_handler, handler, now)

    async def subscription_add(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        try:
            return await self._change("subscription_insert", params) > 0
        except IntegrityFailure as failure:
            if failure.kind == "foreign_key":
                raise type_gone() from None
            raise

    async def subscription_remove(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        return await self._change("subscription_delete", params) > 0

    async def subscription_add_all(self, i_handler: int) -> int:
        return await self._change("subscription_insert_all", {"i_handler": i_handler})

    async def subscription_list(self, i_handler: int) -> list[str]:
        return [r[0] for r in await self._fetchall("subscription_list", {"i_handler": i_handler})]

    # -- copying a whole database ------------------------------------------------------------
    async def copy_row_counts(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in await self._fetchall("copy_row_counts", {})}

    async def copy_write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        await self._write(one_statement, "run_many", f"copy_write_{table}", rows)

    # -- account provisioning status ---------------------------------------------------
    async def account_status_report(
        self,
        i_env: int,
        account: AccountRef,
        group: str,
        status: ProvisioningStatus,
        message: str,
        now: int,
        reported_by: int | None,
    ) -> AccountStatusChange:
        params = account_status_params(i_env, account, group) | {
            "status": status.value,
            "message": message,
            "now": now,
            "reported_by": reported_by,
        }
        return await self._write(records.report_account_status, params)

    async def account_status_current(
        self, i_env: int, account: AccountRef
    ) -> list[AccountStatusChange]:
        params = account_status_params(i_env, account, None)
        found = await self._fetchall("account_status_current", params)
        return [rows.account_status_change(r) for r in found]

    async def account_status_history(
        self, i_env: int, account: AccountRef, group: str | None, before: int | None, limit: int
    ) -> list[AccountStatusChange]:
        params = account_status_params(i_env, account, group) | {"before": before, "limit": limit}
        found = await self._fetchall("account_status_history", params)
        return [rows.account_status_change(r) for r in found]
