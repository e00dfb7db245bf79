"""The loop that turns due schedule occurrences into events, beside the dispatcher.

It holds no schedules in memory: each round asks the store for one batch of
due schedules (an index range on next_at, claimed with SKIP LOCKED on
PostgreSQL so that several nodes share a burst) and materializes it in one
transaction (Store.schedule_materialize_due). A full batch means more may be
due, so it goes on at once; otherwise it sleeps until the earliest next_at,
at most ``poll_s``, so a schedule created meanwhile is seen within that.

On PostgreSQL two rounds run at once: while one transaction is in the
database (inserting events, checking their foreign keys), the other decides
its batch in Python. SKIP LOCKED keeps them on different schedules. SQLite
has one writer, so one round at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from espf.schedules.decide import Decider
from espf.service import Service

log = logging.getLogger("espf.schedules")

# Schedules per transaction: large enough that a burst of a hundred thousand
# month starts takes a hundred transactions, small enough that one holds its
# locks (PostgreSQL) or the writer (SQLite) for well under a second.
BATCH = 1000


class Materializer:
    def __init__(
        self,
        service: Service,
        poll_s: float = 1.0,
        batch: int = BATCH,
        workers: int | None = None,
    ) -> None:
        self.service = service
        self.poll_s = poll_s
        self.batch = batch
        self.workers = workers or (2 if service.store.backend == "postgres" else 1)
        self.decider = Decider()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        await asyncio.gather(*(self._rounds() for _ in range(self.workers)))

    async def _rounds(self) -> None:
        while not self._stop.is_set():
            try:
                done = await self.service.schedules_materialize(self.decider, self.batch)
            except Exception:
                log.exception("could not materialize due schedules; retrying")
                await self._sleep(self.poll_s)
                continue
            if done.events:
                log.debug("materialized %d events from %d schedules", done.events, done.schedules)
            if done.schedules < self.batch:
                await self._sleep(await self._until_next_due())

    async def stop(self) -> None:
        self._stop.set()

    async def _until_next_due(self) -> float:
        try:
            next_due = await self.service.store.schedule_next_due_at()
        except Exception:
            log.exception("could not read the next due schedule")
            return self.poll_s
        if next_due is None:
            return self.poll_s
        return min(max(next_due - self.service.clock.now_ms(), 0) / 1000, self.poll_s)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=seconds)
