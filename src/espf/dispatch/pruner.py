"""Retention at work: whole finished events older than their state's window,
superseded account status reports and the console's old attempt minutes,
deleted in small batches; then the space they took made reusable.

Each batch is its own short transaction (store/retention_plans.py); between
batches the pruner yields to the event loop and sleeps a moment, so event
inserts and claims (SQLite: the same writer thread; PostgreSQL: the same
tables) wait at most one batch. On PostgreSQL one node prunes at a time (an
advisory lock per batch): a node that finds it taken skips the round. An
environment with windows of its own (setting retention_by_env) is a scope of
its own; every other environment shares the installation's windows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from espf.clock import Clock
from espf.config import Settings
from espf.retention import PruneScope
from espf.store import Store
from espf.store.retention_plans import PRUNED_TABLES
from espf.store.storage_full import StorageFull

log = logging.getLogger("espf.prune")

# A pause between batches: enough for waiting writes to get in first.
PAUSE_BETWEEN_BATCHES_S = 0.005
# A safety stop for one round; the next round goes on where this one stopped.
MAX_BATCHES_PER_ROUND = 10_000


@dataclass(slots=True)
class PruneTotals:
    events: int = 0
    account_history: int = 0
    console_minutes: int = 0
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PRUNED_TABLES, 0))
    vacuumed: list[str] = field(default_factory=list)
    busy: bool = False


class Pruner:
    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.policy = settings.retention_policy

    def scopes(self) -> list[PruneScope]:
        return self.policy.scopes(self.clock.now_ms())

    async def preview(self) -> dict[str, int]:
        """What a round now would remove: events per state, and account_history."""
        return await self.store.prune_preview(self.scopes())

    async def round(
        self,
        on_batch: Callable[[int], None] | None = None,
        pause_s: float = PAUSE_BETWEEN_BATCHES_S,
    ) -> PruneTotals:
        """Prune everything due now, batch by batch; ``on_batch`` hears how
        many events (or reports) each batch removed. Then vacuum what needs it."""
        totals = PruneTotals()
        limit = self.settings.prune_batch_size
        for scope in self.scopes():
            for _ in range(MAX_BATCHES_PER_ROUND):
                batch = await self.store.prune_events(scope, limit)
                if batch.busy:
                    totals.busy = True
                    return totals
                totals.events += batch.events
                for table, count in batch.deleted.items():
                    totals.rows[table] += count
                if on_batch is not None:
                    on_batch(batch.events)
                if batch.events == 0:
                    break
                await asyncio.sleep(pause_s)
            totals.account_history += await self._drain(
                partial(self.store.prune_account_history, scope, limit), on_batch, pause_s
            )
            totals.console_minutes += await self._drain(
                partial(self.store.prune_console_minutes, scope, limit), None, pause_s
            )
        totals.vacuumed = await self.store.reclaim_space()
        return totals

    async def _drain(
        self,
        batch: Callable[[], Awaitable[int]],
        on_batch: Callable[[int], None] | None,
        pause_s: float,
    ) -> int:
        removed_in_all = 0
        for _ in range(MAX_BATCHES_PER_ROUND):
            removed = await batch()
            removed_in_all += removed
            if on_batch is not None:
                on_batch(removed)
            if removed < self.settings.prune_batch_size:
                break
            await asyncio.sleep(pause_s)
        return removed_in_all

    async def run_forever(self) -> None:
        """The dispatcher's pruning task: a round every prune_interval_s."""
        while True:
            try:
                totals = await self.round()
            except StorageFull:
                pass  # logged once per episode by the store's watch
            except Exception:
                log.exception("pruning failed; will try again next round")
            else:
                if totals.events or totals.account_history:
                    log.info(
                        "pruned %d events (%s), %d account status reports and %d console "
                        "minutes; vacuumed %s",
                        totals.events,
                        ", ".join(f"{t} {n}" for t, n in totals.rows.items()),
                        totals.account_history,
                        totals.console_minutes,
                        ", ".join(totals.vacuumed) or "nothing",
                    )
            await asyncio.sleep(self.settings.prune_interval_s)
