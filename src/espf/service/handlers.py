"""Handlers: the Applications events are sent to, their settings, and the
operator's pause and resume."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from espf.domain import AuthMethod, BlockedKey, Handler, HandlerFlow, HandlerSettings
from espf.errors import Conflict, NotFound
from espf.handler_rules import (
    HANDLER_SETTING_FIELDS,
    handler_name,
    merge_settings,
    settings_of,
    validate_handler_settings,
)
from espf.service.core import ServiceCore


class HandlerOperations(ServiceCore):
    async def handler_create(self, i_env: int, name: str, settings: HandlerSettings) -> Handler:
        name = handler_name(name)
        await self._require_env(i_env)
        complete = replace(
            settings,
            auth_method=settings.auth_method or AuthMethod.BASIC,
            auth_header=settings.auth_header or "Authorization",
            timeout_s=settings.timeout_s or self.settings.handler_timeout_s,
            enabled=True if settings.enabled is None else settings.enabled,
            ordered=bool(settings.ordered),
        )
        validate_handler_settings(complete)
        return await self.store.handler_create(i_env, name, complete, self.clock.now_ms())

    async def handler_get(self, i_env: int, name: str) -> Handler:
        handler = await self.store.handler_get(i_env, name)
        if handler is None:
            raise NotFound(
                f"handler {name!r} does not exist in environment {i_env}", code="unknown_handler"
            )
        return handler

    async def handler_set(self, i_env: int, name: str, changes: HandlerSettings) -> Handler:
        current = await self.handler_get(i_env, name)
        updates: dict[str, Any] = {
            field: value
            for field in HANDLER_SETTING_FIELDS
            if (value := getattr(changes, field)) is not None
        }
        # Retry and TLS settings change one by one, not as a whole.
        if changes.retry is not None:
            updates["retry"] = merge_settings(current.retry, changes.retry)
        if changes.tls is not None:
            updates["tls"] = merge_settings(current.tls, changes.tls)
        updated = replace(current, **updates)
        validate_handler_settings(settings_of(updated))
        now = self.clock.now_ms()
        stored = await self.store.handler_update(updated, now)
        if stored.enabled and not current.enabled:
            # Enabling releases the deliveries it held (unless it is paused).
            self.wakeups.due(now)
        return stored

    async def handler_set_enabled(self, i_env: int, name: str, enabled: bool) -> Handler:
        return await self.handler_set(i_env, name, HandlerSettings(enabled=enabled))

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        return await self.store.handler_list(i_env)

    async def handler_flows(self, handlers: list[Handler]) -> dict[int, HandlerFlow]:
        """Each handler's effective rate and circuit, by i_handler (shown
        with the handler by the API, the CLI and the console)."""
        if not handlers:
            return {}
        found = await self.store.handler_flows([h.i_handler for h in handlers])
        return {flow.i_handler: flow for flow in found}

    async def handler_delete(self, i_env: int, name: str) -> Handler:
        """Delete a handler that has nothing left to send, with its
        subscriptions. The history of its finished deliveries stays, under
        the name ``<name> (deleted #<i_handler>)``; they are never sent again."""
        handler = await self.handler_get(i_env, name)
        unfinished = await self.store.handler_delete(handler, self.clock.now_ms())
        if unfinished:
            raise Conflict(
                f"handler {name!r} still has {unfinished} unfinished deliveries (pending, in "
                "flight, held or waiting): let them finish, or cancel their events, first",
                code="handler_busy",
            )
        return handler

    # -- operator actions -------------------------------------------------------------
    async def handler_pause(self, i_env: int, name: str, reason: str = "") -> Handler:
        handler = await self.handler_get(i_env, name)
        why = reason or "paused by an operator"
        await self.store.handler_set_paused(handler, True, why, self.clock.now_ms(), None)
        return await self.handler_get(i_env, name)

    async def handler_resume(self, i_env: int, name: str) -> Handler:
        handler = await self.handler_get(i_env, name)
        now = self.clock.now_ms()
        if await self.store.handler_set_paused(handler, False, "resumed by an operator", now, None):
            self.wakeups.due(now)
        return await self.handler_get(i_env, name)

    async def blocked_keys(self, i_env: int, handler: str | None) -> list[BlockedKey]:
        if handler is not None:
            await self.handler_get(i_env, handler)
        return await self.store.blocked_keys(i_env, handler)
