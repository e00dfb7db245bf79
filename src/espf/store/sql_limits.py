"""The Store operations on maintenance windows and on what the service shows
of a handler's flow (effective rate, circuit), written once for every SQL
backend; the claim that honours them and the delivery limits is in
limit_plans.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from espf.adaptive_rate import current_rate
from espf.domain import Handler, HandlerFlow
from espf.maintenance import MaintenanceWindow
from espf.store import flow_plans, limit_plans
from espf.store.plan import Plan, rows
from espf.store.sql_backend import SqlBackend


class LimitOperations(SqlBackend):
    async def maintenance_add(self, handler: Handler, window: MaintenanceWindow, now: int) -> int:
        i_window = await self._write(limit_plans.add_window, handler, window, now)
        self._limiters_seen = True
        return i_window

    async def maintenance_list(self, i_handler: int) -> list[MaintenanceWindow]:
        found = await self._fetchall("maintenance_list_for_handler", {"i_handler": i_handler})
        return [limit_plans.window_of(r) for r in found]

    async def maintenance_list_all(self) -> list[tuple[str, MaintenanceWindow]]:
        found = await self._fetchall("maintenance_list_all", {})
        return [(r[0], limit_plans.window_of(r[1:])) for r in found]

    async def maintenance_remove(self, handler: Handler, i_window: int, now: int) -> bool:
        return bool(await self._write(limit_plans.remove_window, handler, i_window, now))

    async def deliveries_hand_back(
        self, node_id: str, ids: Sequence[int], now: int, next_at: int, reason: str
    ) -> int:
        if not ids:
            return 0
        return await self._write(flow_plans.hand_back, node_id, sorted(ids), now, next_at, reason)

    async def handler_flows(self, ids: Sequence[int] | None) -> list[HandlerFlow]:
        return await self._read(_flows, None if ids is None else sorted(set(ids)))


def _flows(ids: list[int] | None) -> Plan[list[HandlerFlow]]:
    if ids is None:
        found = yield rows("limiter_flows_all", {})
    else:
        found = yield rows("limiter_flows", {"ids": ids})
    return [_flow(r) for r in found]


def _flow(r: Sequence[Any]) -> HandlerFlow:
    return HandlerFlow(
        i_handler=int(r[0]),
        name=r[1],
        max_rate=r[2] or None,
        effective_rate=current_rate(r[2], r[4]) or None,
        failures_in_row=int(r[3]),
        circuit_opened_at=r[5],
        probe_at=r[6],
    )
