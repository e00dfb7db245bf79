"""Recording attempt outcomes in batches.

Outcomes pile up while the previous batch is being written, so the number of
writes follows the load instead of one per delivery. If the database is
unreachable the outcomes stay here and are written when it is back; if the
process dies first, the deliveries are still in flight in the database and
another node sends them again (at-least-once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from espf.domain import AttemptOutcome, HandlerHealth
from espf.due_wakeups import DueWakeups
from espf.store import Store

log = logging.getLogger("espf.dispatch")

RETRY_WRITE_AFTER_S = 1.0
# Writes of outcome batches in flight at once. One at a time would make a
# slot wait for every round trip of the write before it (PostgreSQL); a few
# overlap them. The SQLite writer groups them into one commit anyway.
MAX_WRITERS = 4
# A second writer starts only for a batch worth a write of its own.
MIN_BATCH_FOR_ANOTHER_WRITER = 16


class OutcomeRecorder:
    def __init__(
        self,
        store: Store,
        node_id: str,
        on_health: Callable[[list[HandlerHealth]], Awaitable[None]],
        on_written: Callable[[], None] | None = None,
        wakeups: DueWakeups | None = None,
    ) -> None:
        self._store = store
        self._on_health = on_health
        self._node_id = node_id
        self._on_written = on_written
        self._wakeups = wakeups
        self._pending: list[AttemptOutcome] = []
        # Outcomes that finish the head of an ordering key (see add).
        self._frees_key: set[int] = set()
        self._writing = 0
        self._writers: set[asyncio.Task[None]] = set()

    @property
    def unwritten(self) -> int:
        """Outcomes not yet committed: their deliveries are still in flight
        under this node in the database, and would be resent if it died."""
        return len(self._pending) + self._writing

    def add(self, outcome: AttemptOutcome, frees_key: bool = False) -> None:
        """``frees_key``: the outcome finishes a delivery of an ordered
        handler, so once written the next delivery of its key may be due."""
        self._pending.append(outcome)
        if frees_key:
            self._frees_key.add(outcome.i_delivery)
        busy = len(self._writers)
        if busy == 0 or (busy < MAX_WRITERS and len(self._pending) >= MIN_BATCH_FOR_ANOTHER_WRITER):
            self._start_writer()

    def _start_writer(self) -> None:
        task = asyncio.create_task(self._write_all())
        self._writers.add(task)
        task.add_done_callback(self._writers.discard)

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            self._writing += len(batch)
            try:
                health = await self._store.delivery_record_outcomes(self._node_id, batch)
            except Exception:
                log.exception("could not record %d outcomes; will retry", len(batch))
                self._pending[:0] = batch
                self._writing -= len(batch)
                await asyncio.sleep(RETRY_WRITE_AFTER_S)
                continue
            self._writing -= len(batch)
            if self._on_written is not None:
                self._on_written()
            self._announce_promotions(batch)
            if health:
                try:
                    await self._on_health(health)
                except Exception:
                    log.exception("could not check handler health")

    def _announce_promotions(self, batch: list[AttemptOutcome]) -> None:
        if not self._frees_key:
            return
        freed = [o.started_at for o in batch if o.i_delivery in self._frees_key]
        self._frees_key.difference_update(o.i_delivery for o in batch)
        if freed and self._wakeups is not None:
            # The promoted delivery is due from the finished attempt's start
            # on (delivery_rules.promote_keys): now, for every dispatcher.
            self._wakeups.due(max(freed))

    async def drain(self) -> None:
        """Wait until every outcome added so far is written."""
        while self._pending or self._writers:
            if not self._writers:
                self._start_writer()
            await asyncio.gather(*self._writers, return_exceptions=True)
