"""Waking the dispatchers of every node when an event is created: NOTIFY and
LISTEN on the channel ``espf_due``, the payload being an instant (epoch ms).

Announcing: one ``pg_notify`` in flight at a time per process, sent after the
event's commit, carrying the earliest start time announced since the last
one, and at most one per ``ANNOUNCE_GAP_S``: every NOTIFY wakes every
dispatcher into a claim round, so under load fifty a second per process wake
them as well as thousands would, at a fraction of the cost.

Why not a NOTIFY inside every insert transaction: PostgreSQL serialises the
commits of notifying transactions on one database-wide lock, which takes away
the group commit that concurrent inserts otherwise get (bench/notify_cost.py
measures it). The event is committed before its announcement, so a woken
dispatcher finds it; an announcement lost to a crash in between is covered by
the dispatchers' poll (``poll_interval_s``).

Listening: a dedicated connection per process (outside the pool, since a
pooled connection is handed to others), re-established whenever it drops,
after which the callback is called once because notifications sent meanwhile
are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

log = logging.getLogger("espf.store")

CHANNEL = "espf_due"
# Well under the "tens of milliseconds" a due event may wait (design.md §5).
ANNOUNCE_GAP_S = 0.02
# How often the idle listening connection is checked: a peer that vanished
# without closing the socket (a failover, a cable) is noticed within this.
CHECK_INTERVAL_S = 5.0
CHECK_TIMEOUT_S = 5.0
RECONNECT_FIRST_S = 0.2
RECONNECT_MAX_S = 5.0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class DueAnnouncer:
    """Coalesces the start times of new events into few NOTIFYs."""

    def __init__(self, send: Callable[[int], Awaitable[None]]) -> None:
        self._send = send
        self._earliest: int | None = None
        self._sender: asyncio.Task[None] | None = None

    def announce(self, due_at: int) -> None:
        if self._earliest is None or due_at < self._earliest:
            self._earliest = due_at
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_pending())

    async def _send_pending(self) -> None:
        while self._earliest is not None:
            due_at, self._earliest = self._earliest, None
            try:
                await self._send(due_at)
            except Exception as exc:
                # Best effort by design: the dispatchers' poll finds the event.
                log.debug("could not announce a due event: %s", exc)
                return
            await asyncio.sleep(ANNOUNCE_GAP_S)

    async def close(self) -> None:
        if self._sender is not None and not self._sender.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._sender, timeout=1.0)


class DueListener:
    """LISTENs on a connection of its own and calls ``callback(due_at)``."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        check: Callable[[asyncpg.Connection], Awaitable[Any]],
        callback: Callable[[int], None],
    ) -> None:
        self._connect = connect
        self._check = check
        self._callback = callback
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # tests wait on it

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="espf-due-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_notification(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            due_at = int(payload)
        except ValueError:
            log.warning("ignored a notification on %s with payload %r", channel, payload)
            return
        self._callback(due_at)

    async def _run(self) -> None:
        delay = RECONNECT_FIRST_S
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await self._connect()
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notification)
                self.connected.set()
                delay = RECONNECT_FIRST_S
                # Whatever was announced while we were not listening is lost:
                # let the dispatcher look for due work now.
                self._callback(_now_ms())
                await self._watch(conn, lost)
                log.warning("the connection listening for due events was lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "cannot listen for due events (%s: %s); retrying in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
            finally:
                self.connected.clear()
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection is gone."""
        while not conn.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=CHECK_INTERVAL_S)
            if lost.is_set() or conn.is_closed():
                return
            await asyncio.wait_for(self._check(conn), timeout=CHECK_TIMEOUT_S)
