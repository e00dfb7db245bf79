"""The operator sending deliveries again: one by id, or many by filter (replay)."""

from __future__ import annotations

from espf.domain import Delivery, DeliveryState, ReplayFilter
from espf.errors import Conflict, NotFound
from espf.service.event_types import EventTypeOperations
from espf.service.handlers import HandlerOperations

# Deliveries reopened per store call, so that one replay of many does not hold
# one long transaction.
_REPLAY_CHUNK = 1000

_NOT_RETRYABLE = {
    DeliveryState.IN_FLIGHT: "its request is under way",
    DeliveryState.HELD: "its handler is paused or disabled; resume or enable it",
    DeliveryState.WAITING: "it waits for an earlier event of its key (ordered handler)",
}


class DeliveryOperations(HandlerOperations, EventTypeOperations):
    async def delivery_retry(self, i_delivery: int, i_env: int | None) -> Delivery:
        """Send one delivery again now, with a fresh retry budget."""
        delivery = await self.store.delivery_get(i_delivery, i_env)
        if delivery is None:
            raise NotFound(f"delivery {i_delivery} does not exist", code="unknown_delivery")
        if delivery.state in _NOT_RETRYABLE:
            why = _NOT_RETRYABLE[delivery.state]
            raise Conflict(
                f"delivery {i_delivery} is {delivery.state.value}: {why}", code="not_retryable"
            )
        now = self.clock.now_ms()
        if not await self.store.deliveries_reopen(
            [i_delivery], now, "retry requested by an operator"
        ):
            raise Conflict(
                f"delivery {i_delivery} cannot be sent again: its handler was deleted",
                code="not_retryable",
            )
        self.wakeups.due(now)
        found = await self.store.delivery_get(i_delivery, i_env)
        assert found is not None
        return found

    async def replay(self, replay: ReplayFilter, dry_run: bool) -> int:
        """Send matching finished deliveries again; with ``dry_run`` only count them."""
        if replay.handler is not None:
            await self.handler_get(replay.i_env, replay.handler)
        if replay.event_type is not None:
            await self.type_get(replay.event_type)
        ids = await self.store.deliveries_match(replay)
        if dry_run or not ids:
            return len(ids)
        now = self.clock.now_ms()
        count = 0
        for start in range(0, len(ids), _REPLAY_CHUNK):
            chunk = ids[start : start + _REPLAY_CHUNK]
            count += await self.store.deliveries_reopen(chunk, now, "replayed by an operator")
        if count:
            self.wakeups.due(now)
        return count
