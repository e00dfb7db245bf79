"""The Store operations on events and deliveries (creating, reading,
dispatching, recording outcomes, operator actions, nodes), written once for
every SQL backend in terms of its hooks (sql_backend.py); the delivery rules
themselves are the plans of delivery_rules.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from espf.domain import (
    AttemptOutcome,
    BlockedKey,
    ClaimedDelivery,
    Delivery,
    Event,
    Handler,
    HandlerHealth,
    NewEvent,
    ReplayFilter,
    Transition,
)
from espf.store import delivery_rules as rules
from espf.store import record_plans as records
from espf.store import rows
from espf.store.params import new_event_params, outcome_params, replay_params
from espf.store.plan import IntegrityFailure
from espf.store.sql_backend import SqlBackend, type_gone


class DeliveryOperations(SqlBackend):
    # -- events ------------------------------------------------------------------------
    async def event_insert(self, event: NewEvent, now: int) -> int:
        params = new_event_params(event, now)
        try:
            if event.idempotency is None:
                return await self._inserter.insert(params)
            # One transaction, committed before this returns: durable.
            i_event, _ = await self._write(records.insert_idempotent_event, event, params, now)
        except IntegrityFailure as failure:
            if failure.kind == "foreign_key":
                raise type_gone() from None
            raise
        return i_event

    async def _insert_event(self, params: Mapping[str, Any]) -> int:
        """One event on its own, when a batch of them failed."""
        return await self._write(records.insert_event, params)

    async def idempotency_prune(self, not_before: int) -> int:
        return await self._change("idempotency_key_prune", {"not_before": not_before})

    async def transition_list(self, i_event: int) -> list[Transition]:
        found = await self._fetchall("transition_list_for_event", {"i_event": i_event})
        return [rows.transition(r) for r in found]

    async def event_get(self, i_event: int, i_env: int | None) -> Event | None:
        row = await self._fetchone("event_get", {"i_event": i_event, "i_env": i_env})
        return rows.event(row) if row else None

    async def event_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("event_count_by_state", {})}

    async def delivery_list_for_event(self, i_event: int) -> list[Delivery]:
        # One snapshot for both reads, so that the attempt log matches the
        # deliveries it belongs to.
        found = await self._read(records.event_deliveries, i_event)
        return rows.deliveries_with_attempts(*found)

    async def delivery_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("delivery_count_by_state", {})}

    async def due_backlog(self, now: int) -> tuple[int, int | None]:
        count, oldest = await self._fetchone("due_backlog", {"now": now})
        return int(count), (oldest if oldest is not None and oldest <= now else None)

    # -- dispatching ------------------------------------------------------------------------
    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        with_limits = await self._limits_in_use()
        return await self._write(rules.dispatch_due, node_id, now, limit, with_limits)

    async def next_due_at(self, node_id: str | None = None) -> int | None:
        row = await self._fetchone("next_due_at", {"node_id": node_id})
        self._limiters_seen = bool(row[1])
        return None if row[0] is None else int(row[0])

    async def delivery_record_outcomes(
        self, node_id: str, outcomes: Sequence[AttemptOutcome]
    ) -> list[HandlerHealth]:
        if not outcomes:
            return []
        updates, attempts = outcome_params(node_id, outcomes)
        # Rows locked in one order by every writer cannot deadlock each other.
        updates.sort(key=lambda u: int(u["i_delivery"]))
        health = await self._write(
            rules.record_outcomes, node_id, outcomes, updates, attempts, self._record_rows
        )
        if any(h.circuit_opened for h in health):
            self._limiters_seen = True  # the open circuit's probes go through the limiter
        return health

    async def node_heartbeat(self, node_id: str, hostname: str, pid: int, now: int) -> None:
        params = {"node_id": node_id, "hostname": hostname, "pid": pid, "now": now}
        await self._change("node_upsert", params)

    async def node_list(self) -> list[tuple[str, str, int, int]]:
        return [(r[0], r[1], r[2], r[3]) for r in await self._fetchall("node_list", {})]

    async def node_mark_dead(self, node_id: str) -> None:
        await self._change("node_mark_dead", {"node_id": node_id})

    async def node_rescue_orphans(self, now: int, cutoff: int) -> int:
        return await self._write(rules.rescue_orphans, now, cutoff)

    async def node_release(self, node_id: str, now: int) -> int:
        return await self._write(rules.release_node, node_id, now)

    # -- operator actions ---------------------------------------------------------------
    async def handler_set_paused(
        self, handler: Handler, paused: bool, reason: str, now: int, announce: NewEvent | None
    ) -> bool:
        changed = await self._write(rules.set_paused, handler, paused, reason, now, announce)
        return changed is not None

    async def delivery_get(self, i_delivery: int, i_env: int | None) -> Delivery | None:
        row = await self._fetchone("delivery_get", {"i_delivery": i_delivery, "i_env": i_env})
        return rows.delivery(row, []) if row else None

    async def deliveries_reopen(self, ids: Sequence[int], now: int, reason: str) -> int:
        return await self._write(rules.reopen, list(ids), now, reason)

    async def deliveries_match(self, replay: ReplayFilter) -> list[int]:
        matched = await self._fetchall("delivery_match_for_replay", replay_params(replay))
        return [r[0] for r in matched]

    async def event_cancel(self, i_event: int, i_env: int, now: int, reason: str) -> int:
        return await self._write(rules.cancel_event, i_event, i_env, now, reason)

    async def event_reschedule(
        self, i_event: int, i_env: int, start_at: int, now: int, reason: str
    ) -> bool:
        return await self._write(rules.reschedule_event, i_event, i_env, start_at, now, reason)

    async def blocked_keys(self, i_env: int, handler: str | None) -> list[BlockedKey]:
        params = {"i_env": i_env, "handler": handler}
        return [rows.blocked_key(r) for r in await self._fetchall("delivery_blocked_keys", params)]
