"""A full disk is an outage the service reports, not a crash.

When the database cannot grow (SQLite: "database or disk is full",
SQLITE_FULL; PostgreSQL: "could not extend file", SQLSTATE 53100 disk_full,
or "No space left on device" writing a file) nothing of the failed write was
committed, so nothing is acknowledged: the caller gets ``StorageFull``, a 503
with ``Retry-After`` and a message that names the cause.

``StorageWatch`` remembers the episode: the first failure logs once (not once
per request), the first write that commits again ends it (logged once too).
/readyz and /metrics read it, so monitoring sees the outage while it lasts.
Each store has one watch (``store.storage``); it is per process.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import asyncpg

from espf.errors import Unavailable

log = logging.getLogger("espf.store")

# Long enough not to hammer a full disk, short enough to notice it freed.
RETRY_AFTER_S = 30

_NO_SPACE_WORDS = ("could not extend file", "no space left on device", "disk is full")


class StorageFull(Unavailable):
    """The database's disk is full: nothing of this write was committed."""

    code = "storage_full"

    def __init__(self, cause: str) -> None:
        super().__init__(
            f"the database's disk is full ({cause}); nothing was stored. "
            "Free space on the database volume; the service recovers by itself",
            retry_after_s=RETRY_AFTER_S,
        )
        self.cause = cause


def sqlite_full_cause(exc: BaseException) -> str | None:
    """SQLite's words when ``exc`` means the file could not grow, else None."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return f"SQLite: {exc}"
    return f"SQLite: {exc}" if "disk is full" in str(exc) else None


def postgres_full_cause(exc: BaseException) -> str | None:
    """PostgreSQL's words when ``exc`` means its disk is full, else None.

    SQLSTATE 53100 (disk_full) is what a table or index that cannot grow
    raises ("could not extend file"); a write to another file that fails with
    ENOSPC arrives as an I/O error (class 58) whose text says so. The other
    insufficient-resource errors (too many connections, out of memory) are
    not a full disk: they stay plain ``Unavailable`` (pg_errors.py)."""
    if isinstance(exc, asyncpg.exceptions.DiskFullError):
        return f"PostgreSQL disk_full (SQLSTATE 53100): {exc}"
    if isinstance(exc, asyncpg.PostgresError):
        text = str(exc).lower()
        if any(words in text for words in _NO_SPACE_WORDS):
            state = getattr(exc, "sqlstate", "?")
            return f"PostgreSQL (SQLSTATE {state}): {exc}"
    return None


class StorageWatch:
    """Whether the database's disk is full now, and since when."""

    def __init__(self) -> None:
        self.cause: str | None = None
        self.since: float | None = None
        self.episodes = 0

    @property
    def full(self) -> bool:
        return self.cause is not None

    def failed(self, cause: str) -> StorageFull:
        """Note a write refused for want of space; the error to raise."""
        if self.cause is None:
            self.episodes += 1
            self.since = time.time()
            log.error(
                "the database's disk is full: writes are refused with 503 until "
                "space is freed (%s)",
                cause,
            )
        self.cause = cause
        return StorageFull(cause)

    def committed(self) -> None:
        """Note a write that committed: a full-disk episode, if any, is over."""
        if self.cause is not None:
            lasted = time.time() - (self.since or time.time())
            log.warning("the database accepts writes again after %.0f s of a full disk", lasted)
            self.cause = None
            self.since = None
