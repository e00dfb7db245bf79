"""This node's first line of the circuit breaker: what it does before the
circuit opens in the database.

A burst of due deliveries to a dead Application is claimed and started at
once, before any of their outcomes is recorded; without this gate every one
of them would spend an attempt on the dead endpoint. So the node keeps, per
handler, how many requests it may have open: as many as it has connections
to it once the handler has answered well here (the connection pool's own
bound), but only PROBATION_REQUESTS before that and while it fails: a
healthy handler pays one round trip at 4 requests when a node starts. And it counts
the handler's failures in a row: a request that gets its turn after
``breaker_after`` of them is not sent. The delivery is handed back unsent,
its attempt count unchanged, due again a moment later; by then the recorded
failures have opened the circuit (circuit_breaker.py), shared by every node,
which holds it until a probe succeeds.

Deliveries claimed through the limiter (an open circuit's probes, rate
slots, max_in_flight) neither wait for a turn nor are handed back here: the
shared state already decided they go, and when.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from espf.circuit_breaker import FIRST_PROBE_MS, breaker_threshold
from espf.clock import Clock
from espf.domain import ClaimedDelivery, Handler, HandlerHealth
from espf.store import Store

log = logging.getLogger("espf.dispatch")

# A run of failures seen here holds deliveries back for this long after the
# last of them: long enough for the burst, short enough that a node which
# never sees the probe's success does not hold a recovered handler's work.
HOLD_AFTER_FAILURE_S = 2.0
# Requests a node may have open to a handler that has not answered well here
# yet, or whose latest answer here was a failure.
PROBATION_REQUESTS = 4
HANDED_BACK_REASON = (
    "not sent: its handler failed every recent attempt (circuit breaker); "
    "no attempt spent, due again shortly"
)


class BreakerGate:
    def __init__(self, store: Store, node_id: str, clock: Clock, connections: int) -> None:
        self._store = store
        self._node_id = node_id
        self._clock = clock
        self._connections = connections
        self._waiting: dict[int, deque[asyncio.Future[None]]] = {}
        self._open: dict[int, int] = {}
        # Handlers whose latest answer here was good: the full window.
        self._trusted: set[int] = set()
        # Per handler: failures in a row seen here, and when the last one came.
        self._runs: dict[int, tuple[int, float]] = {}
        self._back: list[int] = []
        self._writing = 0
        self._writer: asyncio.Task[None] | None = None

    @property
    def unwritten(self) -> int:
        """Deliveries held back whose hand-back is not yet written."""
        return len(self._back) + self._writing

    def _window(self, i_handler: int) -> int:
        if i_handler in self._trusted:
            return self._connections
        return min(self._connections, PROBATION_REQUESTS)

    async def admit(self, delivery: ClaimedDelivery) -> bool:
        """Wait for ``delivery``'s turn; False: do not send it, hand it back."""
        i_handler = delivery.handler.i_handler
        # The limiter has paced it already (send slot, max_in_flight, one
        # probe at a time): waiting here too would only bunch its slots.
        while not delivery.send_at and self._open.get(i_handler, 0) >= self._window(i_handler):
            turn = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(i_handler, deque()).append(turn)
            await turn
        if self.holds(delivery):
            self._wake(i_handler)  # the turn it does not take is someone else's
            return False
        self._open[i_handler] = self._open.get(i_handler, 0) + 1
        return True

    def done(self, handler: Handler, failed: bool) -> None:
        """An admitted request got its answer (``failed``: none worth having)."""
        i_handler = handler.i_handler
        if failed:
            self._trusted.discard(i_handler)
            count = self._runs.get(i_handler, (0, 0.0))[0]
            self._runs[i_handler] = (count + 1, time.monotonic())
        else:
            self._trusted.add(i_handler)
            self._runs.pop(i_handler, None)
        self._open[i_handler] -= 1
        self._wake(i_handler)

    def _wake(self, i_handler: int) -> None:
        waiting = self._waiting.get(i_handler)
        free = self._window(i_handler) - self._open.get(i_handler, 0)
        while waiting and free > 0:
            turn = waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                free -= 1

    def holds(self, delivery: ClaimedDelivery) -> bool:
        """Whether ``delivery`` must not be sent now (see the module)."""
        run = self._runs.get(delivery.handler.i_handler)
        if run is None or delivery.send_at:
            return False
        threshold = breaker_threshold(delivery.handler.breaker_after)
        return (
            threshold is not None
            and run[0] >= threshold
            and time.monotonic() - run[1] < HOLD_AFTER_FAILURE_S
        )

    def hand_back(self, delivery: ClaimedDelivery) -> None:
        self._back.append(delivery.i_delivery)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._back:
            batch, self._back = self._back, []
            self._writing += len(batch)
            now = self._clock.now_ms()
            try:
                await self._store.deliveries_hand_back(
                    self._node_id, batch, now, now + FIRST_PROBE_MS, HANDED_BACK_REASON
                )
            except Exception:
                # Still in flight under this node: resent by the rescue if it dies.
                log.exception("could not hand back %d unsent deliveries; will retry", len(batch))
                self._back[:0] = batch
                await asyncio.sleep(1.0)
            finally:
                self._writing -= len(batch)

    async def drain(self) -> None:
        while self._back or (self._writer is not None and not self._writer.done()):
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._write())
            await asyncio.gather(self._writer, return_exceptions=True)


def announce_circuit(handler: HandlerHealth) -> bool | None:
    """Log a circuit that these outcomes opened or closed. Only the
    transaction that changed it reports it: one line for every node.
    Answers ``circuit_opened`` (None: no change)."""
    if handler.circuit_opened:
        log.warning(
            "handler %s (environment %d): circuit open after %d failures in a row; "
            "its queued deliveries wait, one probe at a time is sent until one succeeds",
            handler.name,
            handler.i_env,
            handler.failures_in_row,
        )
    elif handler.circuit_opened is False:
        log.warning(
            "handler %s (environment %d): circuit closed, a probe succeeded; "
            "its queued deliveries go out again",
            handler.name,
            handler.i_env,
        )
    return handler.circuit_opened
