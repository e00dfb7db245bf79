"""Retention for the CLI (`espf prune`): what would go, and pruning by hand
with the same batches the dispatcher uses (dispatch/pruner.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from espf.db_stats import DbStats
from espf.dispatch.pruner import Pruner, PruneTotals
from espf.service.core import ServiceCore


class RetentionOperations(ServiceCore):
    # (monotonic time, stats) of the last db_stats read for /metrics.
    _db_stats_cache: tuple[float, DbStats] | None = None

    def retention_windows_s(self) -> dict[str, float]:
        return self.settings.retention_windows_s

    def retention_windows_by_env_s(self) -> dict[int, dict[str, float]]:
        """The environments with windows of their own (retention_by_env)."""
        return {i_env: dict(w) for i_env, w in self.settings.retention_policy.by_env.items()}

    async def prune_preview(self) -> dict[str, int]:
        """Events per final state, and account status reports, that a prune
        now would remove."""
        return await Pruner(self.store, self.settings, self.clock).preview()

    async def prune(self, on_batch: Callable[[int], None] | None = None) -> PruneTotals:
        return await Pruner(self.store, self.settings, self.clock).round(on_batch=on_batch)

    async def db_stats(self) -> DbStats:
        """Rows per table and state, the database's size, the next prune."""
        scopes = Pruner(self.store, self.settings, self.clock).scopes()
        return await self.store.db_stats(scopes)

    async def db_stats_cached(self, max_age_s: float) -> DbStats:
        """db_stats at most ``max_age_s`` old: counting every row of big
        tables at each scrape would cost the database more than it tells."""
        cached = self._db_stats_cache
        if cached is not None and time.monotonic() - cached[0] < max_age_s:
            return cached[1]
        stats = await self.db_stats()
        self._db_stats_cache = (time.monotonic(), stats)
        return stats
