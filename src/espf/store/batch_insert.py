"""Group commit for event inserts, in the event loop.

Every ``event/create`` waiting in this process at the same moment goes to the
store as one batch: on PostgreSQL one transaction (one statement for their
ids, one INSERT of them all from arrays, one WAL flush); on SQLite one
submission to the writer thread (one queue hand-over and one wake-up instead
of one per request). While a batch is in flight the next one gathers, so the
batch size follows the load with no artificial delay. A few batches may be
in flight at once, so that a pool's connections are used. A batch that fails
is retried one event at a time, so that only the event at fault (say, of a
type deleted meanwhile) fails; a batch that fails because the database is
unreachable fails whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from espf.errors import Unavailable

# More than this per statement buys little and makes one slow commit hold more requests.
MAX_BATCH = 500

Params = Mapping[str, Any]
RunBatch = Callable[[Sequence[Params]], Awaitable[list[int]]]
RunOne = Callable[[Params], Awaitable[int]]


class BatchInserter:
    def __init__(self, run_batch: RunBatch, run_one: RunOne, max_in_flight: int) -> None:
        self._run_batch = run_batch
        self._run_one = run_one
        self._max_in_flight = max(1, max_in_flight)
        self._waiting: list[tuple[Params, asyncio.Future[int]]] = []
        self._flushers: set[asyncio.Task[None]] = set()

    async def insert(self, params: Params) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((params, future))
        if len(self._flushers) < self._max_in_flight:
            task = asyncio.create_task(self._flush())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        return await future

    async def _flush(self) -> None:
        # Started from insert(); by the time it runs, every insert of this
        # event-loop iteration has joined the queue.
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            params = [p for p, _ in batch]
            try:
                ids = await self._run_batch(params)
            except Unavailable as exc:
                # The database is out of reach, and the batch may even have
                # committed with its answer lost: trying the events again one
                # by one could store them twice. Every caller hears 503.
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except Exception:
                await self._one_by_one(batch)
                continue
            for (_, future), i_event in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(i_event)

    async def _one_by_one(self, batch: list[tuple[Params, asyncio.Future[int]]]) -> None:
        for params, future in batch:
            try:
                i_event = await self._run_one(params)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(i_event)
