"""The Store operations on maintenance windows, written once for every SQL
backend; the claim that honours them and the delivery limits is in
limit_plans.py."""

from __future__ import annotations

from espf.domain import Handler
from espf.maintenance import MaintenanceWindow
from espf.store import limit_plans
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
