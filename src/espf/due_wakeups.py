"""The one way to say "a delivery may be due now": wake the dispatcher of
this process and, through the store, those of every other node.

Every change that makes something due calls ``DueWakeups.due`` once, after
its transaction has committed: an event created, a handler resumed or
enabled, a delivery retried or replayed, an event rescheduled or cancelled
(which may let the next delivery of its key go), and the next delivery of an
ordering key promoted when the one before it finished. The service owns one
``DueWakeups``; the dispatcher of the same process shares it (runner.py).

The store decides only *how* other nodes hear of it (PostgreSQL: a coalesced
NOTIFY sent after the commit, see store/postgres_wakeups.py; SQLite: nobody
else to tell), never *when*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Announcer(Protocol):
    def announce_due(self, due_at: int) -> None: ...


class DueWakeups:
    def __init__(self, store: Announcer) -> None:
        self._store = store
        self._listeners: list[Callable[[int], None]] = []

    def listen(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(due_at)`` on every ``due`` of this process (a
        dispatcher's ``notify``)."""
        self._listeners.append(listener)

    def due(self, due_at: int) -> None:
        """Something committed becomes due at ``due_at`` (epoch ms)."""
        for listener in self._listeners:
            listener(due_at)
        self._store.announce_due(due_at)
