"""Which event types each handler receives."""

from __future__ import annotations

from espf.domain import EventType
from espf.errors import NotFound
from espf.service.event_types import EventTypeOperations
from espf.service.handlers import HandlerOperations


class SubscriptionOperations(HandlerOperations, EventTypeOperations):
    async def subscribe(self, i_env: int, handler_name: str, type_name: str) -> EventType:
        handler = await self.handler_get(i_env, handler_name)
        event_type = await self.type_get(type_name)
        try:
            await self.store.subscription_add(handler.i_handler, event_type.i_event_type)
        except NotFound:
            self._types_by_name.pop(event_type.name, None)
            raise
        return event_type

    async def unsubscribe(self, i_env: int, handler_name: str, type_name: str) -> EventType:
        handler = await self.handler_get(i_env, handler_name)
        event_type = await self.type_get(type_name)
        if not await self.store.subscription_remove(handler.i_handler, event_type.i_event_type):
            raise NotFound(
                f"handler {handler.name!r} is not subscribed to {event_type.name}",
                code="not_subscribed",
            )
        return event_type

    async def subscribe_all(self, i_env: int, handler_name: str) -> int:
        handler = await self.handler_get(i_env, handler_name)
        return await self.store.subscription_add_all(handler.i_handler)

    async def subscriptions(self, i_env: int, handler_name: str) -> list[str]:
        handler = await self.handler_get(i_env, handler_name)
        return await self.store.subscription_list(handler.i_handler)
