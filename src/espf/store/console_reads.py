"""The operator console's reads (the ``console_*`` queries), written once for
every SQL backend in terms of its hooks (sql_backend.py). The summaries of
migration 0008 are up to date on SQLite (its triggers update them in place);
PostgreSQL's triggers append changes that ``_fold_console_summary`` adds in
before a read. Retention prunes the attempts per minute here too, after the
same fold."""

from __future__ import annotations

from typing import Literal

from espf.retention import PruneScope
from espf.schedule_model import Schedule
from espf.store import rows
from espf.store.retention_plans import prune_console_minutes_batch
from espf.store.sql_backend import SqlBackend

Summary = Literal["event_states", "attempt_minutes"]

# The variable with an index of its own (events_by_account, migration 0008).
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class ConsoleReads(SqlBackend):
    async def _fold_console_summary(self, summary: Summary) -> None:
        """Bring a summary table up to date before it is read; nothing to do
        where the triggers keep it so."""
        return None

    async def prune_console_minutes(self, scope: PruneScope, limit: int) -> int:
        # PostgreSQL's triggers append changes: fold them in first, or an old
        # change would bring back a minute just pruned.
        await self._fold_console_summary("attempt_minutes")
        await self._fold_console_summary("event_states")
        return await self._write(prune_console_minutes_batch, scope, limit)

    async def console_event_counts(self, i_env: int, created_by: int | None) -> dict[str, int]:
        await self._fold_console_summary("event_states")
        query = "console_event_counts" if created_by is None else "console_event_counts_by_creator"
        found = await self._fetchall(query, {"i_env": i_env, "created_by": created_by})
        return {str(state): int(count) for state, count in found}

    async def console_due_soon(
        self, i_env: int, created_by: int | None, now: int
    ) -> tuple[int, int]:
        params = {
            "i_env": i_env,
            "created_by": created_by,
            "now": now,
            "hour_end": now + HOUR_MS,
            "day_end": now + DAY_MS,
        }
        ((hour, day),) = await self._fetchall("console_due_soon", params)
        return int(hour), int(day)

    async def console_attempt_buckets(
        self, i_env: int, since: int, until: int, bucket_ms: int
    ) -> list[tuple[int, str, int]]:
        params = {"i_env": i_env, "since": since, "until": until, "bucket_ms": bucket_ms}
        await self._fold_console_summary("attempt_minutes")
        found = await self._fetchall("console_attempt_buckets", params)
        return [(int(bucket), str(outcome), int(count)) for bucket, outcome, count in found]

    async def console_lateness(self, i_env: int, since: int, limit: int) -> list[int]:
        found = await self._fetchall(
            "console_lateness", {"i_env": i_env, "since": since, "limit": limit}
        )
        return [int(late) for (late,) in found]

    async def console_handler_stats(self, i_env: int) -> dict[int, tuple[int, int | None]]:
        found = await self._fetchall("console_handler_stats", {"i_env": i_env})
        return {
            int(i_handler): (int(backlog), None if last is None else int(last))
            for i_handler, backlog, last in found
        }

    async def console_account_schedules(
        self, i_env: int, i_account: int, limit: int
    ) -> list[Schedule]:
        params = {"i_env": i_env, "i_account": str(i_account), "limit": limit}
        found = await self._fetchall("console_account_schedules", params)
        return [rows.schedule(r) for r in found]
