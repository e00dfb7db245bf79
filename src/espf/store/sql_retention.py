"""Retention's Store operations, written once on the backend hooks."""

from __future__ import annotations

from collections.abc import Mapping

from espf.db_stats import DbStats
from espf.store.retention_plans import (
    PruneBatch,
    db_stats,
    prune_account_history_batch,
    prune_events_batch,
    prune_preview,
)
from espf.store.sql_backend import SqlBackend


class RetentionOperations(SqlBackend):
    async def prune_events(self, cutoffs: Mapping[str, int], limit: int) -> PruneBatch:
        return await self._write(prune_events_batch, cutoffs, limit)

    async def prune_account_history(self, cutoff: int, limit: int) -> int:
        return await self._write(prune_account_history_batch, cutoff, limit)

    async def prune_preview(self, cutoffs: Mapping[str, int]) -> dict[str, int]:
        return await self._read(prune_preview, cutoffs)

    async def db_stats(self, cutoffs: Mapping[str, int]) -> DbStats:
        return await self._read(db_stats, cutoffs)
