"""Retention at work: whole finished events older than their state's window,
and superseded account status reports, deleted in small batches.

Each batch is its own short transaction (store/retention_plans.py); between
batches the pruner yields to the event loop and sleeps a moment, so event
inserts and claims (SQLite: the same writer thread; PostgreSQL: the same
tables) wait at most one batch. On PostgreSQL one node prunes at a time (an
advisory lock per batch): a node that finds it taken skips the round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from espf.clock import Clock
from espf.config import Settings
from espf.retention import ACCOUNT_HISTORY, cutoffs_ms
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
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PRUNED_TABLES, 0))
    busy: bool = False


class Pruner:
    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.windows_s = settings.retention_windows_s

    def cutoffs(self) -> dict[str, int]:
        return cutoffs_ms(self.windows_s, self.clock.now_ms())

    async def preview(self) -> dict[str, int]:
        """What a round now would remove: events per state, and account_history."""
        return await self.store.prune_preview(self.cutoffs())

    async def round(
        self,
        on_batch: Callable[[int], None] | None = None,
        pause_s: float = PAUSE_BETWEEN_BATCHES_S,
    ) -> PruneTotals:
        """Prune everything due now, batch by batch; ``on_batch`` hears how
        many events (or reports) each batch removed."""
        totals = PruneTotals()
        cutoffs = self.cutoffs()
        limit = self.settings.prune_batch_size
        for _ in range(MAX_BATCHES_PER_ROUND):
            batch = await self.store.prune_events(cutoffs, limit)
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
        for _ in range(MAX_BATCHES_PER_ROUND):
            removed = await self.store.prune_account_history(cutoffs[ACCOUNT_HISTORY], limit)
            totals.account_history += removed
            if on_batch is not None:
                on_batch(removed)
            if removed < limit:
                break
            await asyncio.sleep(pause_s)
        return totals

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
                        "pruned %d events (%s) and %d account status reports",
                        totals.events,
                        ", ".join(f"{t} {n}" for t, n in totals.rows.items()),
                        totals.account_history,
                    )
            await asyncio.sleep(self.settings.prune_interval_s)
