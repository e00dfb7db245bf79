"""Remembering which events were processed, so that a resend of the same
``i_event`` (espf delivers at least once) does not run the handler twice.

A key goes through two states:

- ``busy``: a handler is running for it, until ``lease`` seconds have passed
  (so that a process that died mid-handler does not block the event for
  ever). A second delivery meanwhile is told to come back later (503).
- ``done``: the handler returned; a delivery within ``ttl`` is a duplicate.

A handler that raised, rejected or asked to retry *releases* its keys:
nothing is remembered, and the next delivery runs the handler again. A
release only undoes its own claim (each claim has an owner token), so a
handler that outlived its lease cannot free the keys of the delivery that
took over.

The guarantee: one handler run at a time per event among the receivers that
share a store (one process for :class:`MemoryDedup`, every process on the
host for :class:`SqliteDedup`), and no second run after one that returned,
for ``ttl``. A handler may still run twice if the process dies after the
handler's effect and before ``complete``, or if it runs longer than the
lease: make effects idempotent where that matters. Choose ``ttl`` longer
than espf's retry horizon (``retry_max_age_s``, 3 days by default).
"""

from __future__ import annotations

import enum
import secrets
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

DEFAULT_TTL_S = 4 * 86400.0
DEFAULT_LEASE_S = 300.0


class Claim(enum.Enum):
    NEW = "new"  # ours to process
    DONE = "done"  # processed before: a duplicate
    BUSY = "busy"  # another delivery of it is being processed right now


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claim: Claim
    busy_for: float = 0.0  # BUSY: seconds left of the other delivery's lease
    owner: str = ""  # NEW: the token that releases this claim


class DedupStore(Protocol):
    def claim(self, keys: Sequence[str], now: float) -> ClaimResult: ...

    def complete(self, keys: Sequence[str], now: float) -> None: ...

    def release(self, keys: Sequence[str], owner: str) -> None: ...


def _verdict(states: Sequence[tuple[str, float]], now: float) -> ClaimResult | None:
    """DONE or BUSY from live records, or None when the keys are free."""
    live = [(state, expires) for state, expires in states if expires > now]
    if any(state == "done" for state, _ in live):
        return ClaimResult(Claim.DONE)
    busy = [expires - now for state, expires in live if state == "busy"]
    return ClaimResult(Claim.BUSY, max(busy)) if busy else None


class MemoryDedup:
    """In this process's memory: lost on restart, not shared between processes."""

    SWEEP_EVERY = 1024

    def __init__(self, *, ttl: float = DEFAULT_TTL_S, lease: float = DEFAULT_LEASE_S) -> None:
        self.ttl = ttl
        self.lease = lease
        self._records: dict[str, tuple[str, float, str]] = {}  # key: state, expires, owner
        self._lock = threading.Lock()
        self._claims = 0

    def claim(self, keys: Sequence[str], now: float) -> ClaimResult:
        with self._lock:
            self._claims += 1
            if self._claims % self.SWEEP_EVERY == 0:
                self._records = {k: r for k, r in self._records.items() if r[1] > now}
            found = [self._records[k][:2] for k in keys if k in self._records]
            verdict = _verdict(found, now)
            if verdict is not None:
                return verdict
            owner = secrets.token_hex(8)
            for key in keys:
                self._records[key] = ("busy", now + self.lease, owner)
            return ClaimResult(Claim.NEW, owner=owner)

    def complete(self, keys: Sequence[str], now: float) -> None:
        with self._lock:
            for key in keys:
                self._records[key] = ("done", now + self.ttl, "")

    def release(self, keys: Sequence[str], owner: str) -> None:
        with self._lock:
            for key in keys:
                record = self._records.get(key)
                if record is not None and record[0] == "busy" and record[2] == owner:
                    del self._records[key]


class SqliteDedup:
    """In an SQLite file: survives restarts, and is shared by every process
    of the host that opens the same file (claims are serialised by SQLite's
    write lock)."""

    SWEEP_EVERY = 1024

    def __init__(
        self, path: str | Path, *, ttl: float = DEFAULT_TTL_S, lease: float = DEFAULT_LEASE_S
    ) -> None:
        self.path = Path(path)
        self.ttl = ttl
        self.lease = lease
        self._lock = threading.Lock()
        self._claims = 0
        # Autocommit mode: transactions are begun explicitly, IMMEDIATE, so
        # that two processes cannot both see a key free and both take it.
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS espf_received ("
            " key TEXT PRIMARY KEY, state TEXT NOT NULL, expires REAL NOT NULL,"
            " owner TEXT NOT NULL DEFAULT '')"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def claim(self, keys: Sequence[str], now: float) -> ClaimResult:
        marks = ",".join("?" * len(keys))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._claims += 1
                if self._claims % self.SWEEP_EVERY == 0:
                    self._db.execute("DELETE FROM espf_received WHERE expires <= ?", (now,))
                found = self._db.execute(
                    f"SELECT state, expires FROM espf_received WHERE key IN ({marks})", tuple(keys)
                ).fetchall()
                verdict = _verdict(found, now)
                owner = secrets.token_hex(8)
                if verdict is None:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO espf_received VALUES (?, 'busy', ?, ?)",
                        [(key, now + self.lease, owner) for key in keys],
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return verdict or ClaimResult(Claim.NEW, owner=owner)

    def complete(self, keys: Sequence[str], now: float) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO espf_received VALUES (?, 'done', ?, '')",
                [(key, now + self.ttl) for key in keys],
            )

    def release(self, keys: Sequence[str], owner: str) -> None:
        with self._lock:
            self._db.executemany(
                "DELETE FROM espf_received WHERE key = ? AND state = 'busy' AND owner = ?",
                [(key, owner) for key in keys],
            )
