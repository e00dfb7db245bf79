"""The dispatcher: sleep exactly until something is due, claim it in batches,
send it with bounded concurrency, record what happened.

Timing: after each round the dispatcher asks the store for the next instant
at which something becomes due and sleeps until then; a new event created in
this process wakes it early (``notify``), and a slow poll covers events
created elsewhere. Liveness: every node beats its heart into the store; the
in-flight deliveries of a node that stopped beating are handed to others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid

from prometheus_client import Histogram

from espf.circuit_breaker import FIRST_PROBE_MS
from espf.clock import Clock, SystemClock
from espf.config import Settings
from espf.dispatch.auto_pause import AutoPauser
from espf.dispatch.breaker_gate import BreakerGate, announce_circuit
from espf.dispatch.outcome import decide_outcome
from espf.dispatch.outcomes import OutcomeRecorder
from espf.dispatch.pacing import Pacer
from espf.dispatch.pruner import Pruner
from espf.dispatch.sender import EventSender
from espf.domain import ClaimedDelivery, DeliveryState, HandlerHealth, RetryOverrides
from espf.due_wakeups import DueWakeups
from espf.metrics import Metrics
from espf.retry import RetryPolicy, Verdict, classify
from espf.retry_overrides import retry_policy_for
from espf.store import Store
from espf.store.storage_full import StorageFull

log = logging.getLogger("espf.dispatch")

_NEVER = float("inf")
# How long a dispatcher with a backlog waits for more free slots before it
# claims for the few it has.
CLAIM_GATHER_S = 0.005
# How often expired Idempotency-Keys are deleted.
PRUNE_INTERVAL_S = 60.0


def new_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock | None = None,
        sender: EventSender | None = None,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        wakeups: DueWakeups | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        self.node_id = new_node_id()
        self.policy: RetryPolicy = settings.retry_policy
        self._sender = sender or EventSender(settings.handler_connections)
        self._rng = rng or random.Random()
        self._pacer = Pacer()
        self._gate = BreakerGate(store, self.node_id, self.clock, settings.handler_connections)
        self._policies: dict[RetryOverrides, RetryPolicy] = {}
        self.metrics = metrics or Metrics()
        # Shared with the service of this process (runner.py), so that its
        # operations wake this dispatcher; ours wake the others.
        self.wakeups = wakeups or DueWakeups(store)
        self.wakeups.listen(self.notify)
        self._pauser = AutoPauser(store, settings.auto_pause_after_s, self.metrics, self.wakeups)
        self._latency_children: dict[str, Histogram] = {}
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._recorder = OutcomeRecorder(
            store,
            self.node_id,
            self._check_health,
            on_written=self._outcomes_written,
            wakeups=self.wakeups,
        )
        # An outcome of a handler with max_in_flight frees one of its slots
        # only once written: then its queued work may be due again.
        self._in_flight_limit_freed = False
        self._planned_wake: float = _NEVER
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._maintenance: asyncio.Task[None] | None = None
        self._pruner = Pruner(store, settings, self.clock)

    # -- waking -------------------------------------------------------------------
    def notify(self, due_at: int) -> None:
        """Something becomes due at ``due_at``: wake up if that is sooner
        than planned. Cheap enough to call for every created event."""
        if due_at <= self._planned_wake:
            self._wake.set()

    # -- running ------------------------------------------------------------------
    async def run(self) -> None:
        # Events created by other processes (PostgreSQL) wake us too.
        await self.store.listen_for_due(self.notify)
        await self._beat()
        await self._declare_dead_local_nodes()
        await self._rescue_orphans()
        self._maintenance = asyncio.create_task(self._maintain())
        # Its own task: a long round must not delay the heartbeat.
        pruning = asyncio.create_task(self._pruner.run_forever())
        log.info("dispatcher %s started", self.node_id)
        try:
            await self._loop()
        finally:
            for task in (self._maintenance, pruning):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def stop(self) -> None:
        """Stop claiming; let in-flight requests finish within the grace
        period; hand back the rest; leave the node table."""
        self._stopping = True
        self._wake.set()
        self._slot_freed.set()
        if self._in_flight:
            _, still_running = await asyncio.wait(
                set(self._in_flight), timeout=self.settings.shutdown_grace_s
            )
            for task in still_running:
                task.cancel()
            await asyncio.gather(*still_running, return_exceptions=True)
        await self._recorder.drain()
        await self._gate.drain()
        now = self.clock.now_ms()
        released = await self.store.node_release(self.node_id, now)
        if released:
            log.info("handed back %d deliveries still in flight", released)
            self.wakeups.due(now)  # for the other nodes to send them now
        await self._sender.close()

    async def _loop(self) -> None:
        batch_size = self.settings.dispatch_batch_size
        # With a backlog, claiming for every slot that frees would make many
        # small claims, each paying a whole round trip: wait a moment for a
        # quarter of the slots instead.
        worth_a_claim = max(1, min(batch_size, self.settings.dispatch_concurrency) // 4)
        backlogged = False
        while not self._stopping:
            free = self._free_slots()
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            if backlogged and free < worth_a_claim:
                free = await self._gather_slots(worth_a_claim)
            # From here until we sleep, any new event matters.
            self._planned_wake = _NEVER
            self._wake.clear()
            limit = min(batch_size, free)
            try:
                claimed = await self.store.dispatch_due(self.node_id, self.clock.now_ms(), limit)
            except StorageFull:
                # Logged once per episode by the store's watch, not per poll.
                await self._sleep(self.settings.poll_interval_s)
                continue
            except Exception:
                log.exception("could not claim due deliveries; retrying")
                await self._sleep(self.settings.poll_interval_s)
                continue
            for delivery in claimed:
                self._start(delivery)
            backlogged = len(claimed) == limit
            if backlogged:
                continue  # there may be more due right now
            await self._sleep_until_next_due()

    def _outcomes_written(self) -> None:
        self._slot_freed.set()
        if self._in_flight_limit_freed:
            # Every write wakes until all are written: which batch held the
            # limited outcome is not known here.
            self._in_flight_limit_freed = self._recorder.unwritten > 0
            self._wake.set()

    def _latency_of(self, handler: str) -> Histogram:
        # labels() looks the child up under a lock each time; handlers are few.
        child = self._latency_children.get(handler)
        if child is None:
            child = self._latency_children[handler] = self.metrics.attempt_latency.labels(handler)
        return child

    def _free_slots(self) -> int:
        # A delivery stays in flight in the database until its outcome is
        # written: counting those too keeps what this node holds, and so what
        # a kill -9 would make others resend, within the limit.
        held = len(self._in_flight) + self._recorder.unwritten + self._gate.unwritten
        return self.settings.dispatch_concurrency - held

    async def _gather_slots(self, wanted: int) -> int:
        """Wait up to CLAIM_GATHER_S for ``wanted`` free slots; return how many are free."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLAIM_GATHER_S
        free = self._free_slots()
        while free < wanted and not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._slot_freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._slot_freed.wait(), timeout=remaining)
            free = self._free_slots()
        return free

    async def _sleep_until_next_due(self) -> None:
        poll_s = self.settings.poll_interval_s
        try:
            next_due = await self.store.next_due_at(self.node_id)
        except Exception:
            log.exception("could not read the next due time")
            next_due = None
        now = self.clock.now_ms()
        delay_s = poll_s if next_due is None else min(max(next_due - now, 0) / 1000, poll_s)
        if delay_s <= 0:
            return
        self._planned_wake = now + delay_s * 1000
        await self._sleep(delay_s)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    # -- sending ------------------------------------------------------------------------
    def _start(self, delivery: ClaimedDelivery) -> None:
        task = asyncio.create_task(self._deliver(delivery))
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    def _policy(self, delivery: ClaimedDelivery) -> RetryPolicy:
        overrides = delivery.handler.retry
        policy = self._policies.get(overrides)
        if policy is None:
            policy = self._policies[overrides] = retry_policy_for(overrides, self.policy)
        return policy

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        started_at = self.clock.now_ms()
        if delivery.send_at > started_at:
            # Claimed a little ahead of its slot in the handler's rate.
            await asyncio.sleep((delivery.send_at - started_at) / 1000)
            started_at = self.clock.now_ms()
        if delivery.handler.max_rate:
            # Timers that fired late together go out spaced, not at once.
            wait_ms = self._pacer.reserve(delivery.handler, started_at)
            if wait_ms:
                await asyncio.sleep(wait_ms / 1000)
                started_at = self.clock.now_ms()
        if not await self._gate.admit(delivery):
            # The handler failed every recent attempt here: do not spend one
            # more on it (breaker_gate.py).
            self._gate.hand_back(delivery)
            self.notify(self.clock.now_ms() + FIRST_PROBE_MS)
            return
        if delivery.send_at == 0:
            started_at = self.clock.now_ms()  # it may have waited for its turn
        t0 = time.perf_counter()
        failed = True
        try:
            result = await self._sender.send(delivery)
            failed = classify(result.status_code) is Verdict.RETRY
        finally:
            self._gate.done(delivery.handler, failed)
        duration_ms = int((time.perf_counter() - t0) * 1000)
        outcome = decide_outcome(
            delivery,
            result,
            self._policy(delivery),
            started_at=started_at,
            duration_ms=duration_ms,
            now=self.clock.now_ms(),
            rng=self._rng,
        )
        finished = outcome.new_state is not DeliveryState.PENDING
        if delivery.handler.max_in_flight:
            self._in_flight_limit_freed = True
        self._recorder.add(outcome, frees_key=finished and delivery.handler.ordered)
        handler = delivery.handler.name
        self._latency_of(handler).observe(duration_ms / 1000)
        verdict = "retry" if outcome.new_state is DeliveryState.PENDING else outcome.new_state.value
        self.metrics.deliveries.labels(handler, verdict).inc()
        if log.isEnabledFor(logging.INFO):  # the fields cost more than the check
            log.info(
                "delivery i_event=%d handler=%s attempt=%d status=%s outcome=%s%s",
                delivery.i_event,
                handler,
                outcome.attempt_no,
                result.status_code if result.status_code is not None else "-",
                verdict,
                f" error={result.error!r}" if result.error else "",
                extra={
                    "i_event": delivery.i_event,
                    "i_delivery": delivery.i_delivery,
                    "handler": handler,
                    "attempt": outcome.attempt_no,
                    "status": result.status_code,
                    "outcome": verdict,
                    "duration_ms": duration_ms,
                },
            )
        if outcome.next_at is not None:
            self.notify(outcome.next_at)

    async def _check_health(self, health: list[HandlerHealth]) -> None:
        now = self.clock.now_ms()
        changes = [announce_circuit(handler) for handler in health]
        if False in changes:
            self.wakeups.due(now)  # what the circuit held is due now, on every node
        await self._pauser.check(health, now)

    # -- liveness ----------------------------------------------------------------------
    async def _beat(self) -> None:
        await self.store.node_heartbeat(
            self.node_id, socket.gethostname(), os.getpid(), self.clock.now_ms()
        )

    async def _declare_dead_local_nodes(self) -> None:
        """A node on this host whose process is gone is dead now, not after
        the TTL: a restart after a crash resends its work at once."""
        host = socket.gethostname()
        for node_id, hostname, pid, _ in await self.store.node_list():
            if node_id != self.node_id and hostname == host and not _pid_alive(pid):
                await self.store.node_mark_dead(node_id)

    async def _rescue_orphans(self) -> None:
        now = self.clock.now_ms()
        cutoff = now - int(self.settings.node_ttl_s * 1000)
        rescued = await self.store.node_rescue_orphans(now, cutoff)
        if rescued:
            log.warning("took over %d deliveries from dispatchers that stopped", rescued)
            self.wakeups.due(now)

    async def _maintain(self) -> None:
        next_prune = 0.0
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval_s)
            try:
                await self._beat()
                await self._rescue_orphans()
                if time.monotonic() >= next_prune:
                    await self._forget_old_idempotency_keys()
                    next_prune = time.monotonic() + PRUNE_INTERVAL_S
            except StorageFull:
                pass  # logged once per episode by the store's watch
            except Exception:
                log.exception("dispatcher maintenance failed; will retry")

    async def _forget_old_idempotency_keys(self) -> None:
        # Keys past their window answer nothing any more; without this the
        # table would grow by one row per keyed create for ever. Every node
        # may run it at once: deleting what is already gone does no harm.
        window_ms = int(self.settings.idempotency_window_s * 1000)
        await self.store.idempotency_prune(self.clock.now_ms() - window_ms)
