"""Retention's Store operations, and an account's history exported or
expunged, written once on the backend hooks."""

from __future__ import annotations

from collections.abc import Sequence

from espf.account_history import AccountExpunged, AccountHistory
from espf.db_stats import DbStats
from espf.domain import AccountRef
from espf.retention import PruneScope
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
    async def prune_events(self, scope: PruneScope, limit: int) -> PruneBatch:
        return await self._write(prune_events_batch, scope, limit)

    async def prune_account_history(self, scope: PruneScope, limit: int) -> int:
        return await self._write(prune_account_history_batch, scope, limit)

    async def prune_preview(self, scopes: Sequence[PruneScope]) -> dict[str, int]:
        return await self._read(prune_preview, scopes)

    async def db_stats(self, scopes: Sequence[PruneScope]) -> DbStats:
        return await self._read(db_stats, scopes)

    async def account_export(self, i_env: int, account: AccountRef) -> AccountHistory:
        return await self._read(export_account, i_env, account)

    async def account_expunge(
        self, i_env: int, account: AccountRef, now: int, by: int | None
    ) -> AccountExpunged:
        return await self._write(expunge_account, i_env, account, now, by)
