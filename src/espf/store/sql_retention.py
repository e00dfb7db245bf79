"""Retention's Store operations, and an account's history exported or
expunged, written once on the backend hooks."""

from __future__ import annotations

from collections.abc import Mapping

from espf.account_history import AccountExpunged, AccountHistory
from espf.db_stats import DbStats
from espf.domain import AccountRef
from espf.store.account_plans import export_account, expunge_account
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

    async def account_export(self, i_env: int, account: AccountRef) -> AccountHistory:
        return await self._read(export_account, i_env, account)

    async def account_expunge(
        self, i_env: int, account: AccountRef, now: int, by: int | None
    ) -> AccountExpunged:
        return await self._write(expunge_account, i_env, account, now, by)
