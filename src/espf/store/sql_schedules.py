"""The Store operations on schedules, written once for every SQL backend in
terms of its hooks (sql_backend.py); the writes are plans (schedule_plans.py)."""

from __future__ import annotations

from espf.errors import Conflict, NotFound
from espf.schedule_model import Materialized, NewSchedule, Schedule
from espf.store import rows
from espf.store import schedule_plans as plans
from espf.store.plan import IntegrityFailure, one_statement
from espf.store.sql_backend import SqlBackend, type_gone


class ScheduleOperations(SqlBackend):
    async def schedule_create(self, new: NewSchedule, replace: bool, now: int) -> Schedule:
        try:
            return await self._write(plans.create, new, replace, now)
        except IntegrityFailure as failure:
            if failure.kind == "foreign_key":
                raise type_gone() from None
            raise Conflict(
                f"a schedule with key {new.key!r} already exists in this environment: "
                "replace it (replace=true; --replace on the command line) or delete it first",
                code="schedule_exists",
            ) from None

    async def schedule_get(self, i_env: int, i_schedule: int) -> Schedule | None:
        found = await self._fetchone("schedule_get", {"i_env": i_env, "i_schedule": i_schedule})
        return rows.schedule(found) if found else None

    async def schedule_get_by_key(self, i_env: int, key: str) -> Schedule | None:
        found = await self._fetchone("schedule_get_by_key", {"i_env": i_env, "key": key})
        return rows.schedule(found) if found else None

    async def schedule_list(
        self, i_env: int, after: int, limit: int, key_prefix: str = ""
    ) -> list[Schedule]:
        params = {"i_env": i_env, "after": after, "limit": limit, "key_prefix": key_prefix}
        return [rows.schedule(r) for r in await self._fetchall("schedule_list", params)]

    async def schedule_set_paused(
        self, i_env: int, i_schedule: int, paused: bool, next_at: int | None, now: int
    ) -> None:
        params = {
            "i_env": i_env,
            "i_schedule": i_schedule,
            "paused": paused,
            "next_at": next_at,
            "now": now,
        }
        if not await self._write(one_statement, "run", "schedule_set_paused", params):
            raise NotFound(f"schedule {i_schedule} does not exist", code="unknown_schedule")

    async def schedule_delete(self, i_env: int, i_schedule: int) -> bool:
        return await self._write(plans.delete, i_env, i_schedule)

    async def schedule_next_due_at(self) -> int | None:
        found = await self._fetchone("schedule_next_due_at", {})
        return int(found[0]) if found and found[0] is not None else None

    async def schedule_materialize_due(
        self, now: int, limit: int, decide: plans.Decide
    ) -> Materialized:
        # The caller wakes the dispatchers through the service's one seam.
        return await self._write(plans.materialize_due, now, limit, decide)
