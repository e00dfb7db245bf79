"""The PostgreSQL connection pool and the way every statement is run on it.

One place decides what a failure means: a connection the server ended while
it sat idle is replaced and the work runs again (nothing was sent on it); a
deadlock or serialization failure reruns the transaction (nothing was
committed); a connection-level failure becomes ``Unavailable``
(pg_errors.py); anything else is the caller's to handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlsplit

import asyncpg

from espf.errors import Unavailable
from espf.store.pg_errors import unavailable_when_unreachable
from espf.store.pg_sql import PgQuery
from espf.store.storage_full import StorageWatch, postgres_full_cause

T = TypeVar("T")
Conn: TypeAlias = asyncpg.Connection

log = logging.getLogger("espf.store")

# A dead server must not hold a request for asyncpg's default 60 s.
CONNECT_TIMEOUT_S = 5.0
ACQUIRE_TIMEOUT_S = 10.0
# A statement that takes longer is treated as the database being unreachable.
STATEMENT_TIMEOUT_S = 60.0
# Deadlocks between claims, outcomes and rescues are rare and harmless to retry.
TRANSACTION_TRIES = 3
# Give idle connections back to the server after a burst.
IDLE_CONNECTION_LIFETIME_S = 60.0


class _StaleConnection(Exception):
    """A pooled connection turned out dead before anything was sent on it."""


def server_settings_for(url: str) -> dict[str, str]:
    """Settings every connection of ours carries, unless the URL sets them.

    ``application_name`` lets an administrator (and the reconnect test) pick
    out espf's connections in pg_stat_activity. ``force_custom_plan``:
    asyncpg prepares every statement, and after five runs PostgreSQL may
    switch to a generic plan; for the claim (``next_at <= $1 ... LIMIT $2``)
    that plan was markedly slower (bench/driver_choice.py)."""
    in_url = dict(parse_qsl(urlsplit(url).query))
    defaults = {"application_name": "espf", "plan_cache_mode": "force_custom_plan"}
    return {k: v for k, v in defaults.items() if k not in in_url}


async def _keep_session(conn: Conn) -> None:
    """Replaces asyncpg's reset on release, a round trip per release (UNLISTEN
    *, RESET ALL, CLOSE ALL, unlock all) for state our pooled connections never
    have: no LISTEN (the listener has its own connection), no SET, only
    transaction-scoped advisory locks. asyncpg still rolls back an open
    transaction before calling this."""


def _rowcount(status: str) -> int:
    """asyncpg reports ``INSERT 0 3`` / ``UPDATE 3`` / ``DELETE 3``."""
    return int(status.rsplit(" ", 1)[-1])


async def fetch(conn: Conn, query: PgQuery, params: Mapping[str, Any]) -> list[Any]:
    result: list[Any] = await conn.fetch(query.sql, *query.args(params))
    return result


async def fetchrow(conn: Conn, query: PgQuery, params: Mapping[str, Any]) -> Any:
    return await conn.fetchrow(query.sql, *query.args(params))


async def execute(conn: Conn, query: PgQuery, params: Mapping[str, Any]) -> int:
    """Run one statement; return how many rows it changed."""
    return _rowcount(await conn.execute(query.sql, *query.args(params)))


async def executemany(conn: Conn, query: PgQuery, params: Sequence[Mapping[str, Any]]) -> None:
    if params:
        await conn.executemany(query.sql, query.many(params))


class PgPool:
    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = size
        self._server_settings = server_settings_for(url)
        self._pool: asyncpg.Pool | None = None
        self.storage = StorageWatch()

    async def open(self) -> None:
        with unavailable_when_unreachable():
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.size,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=STATEMENT_TIMEOUT_S,
                server_settings=self._server_settings,
                max_inactive_connection_lifetime=IDLE_CONNECTION_LIFETIME_S,
                reset=_keep_session,
            )

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=5.0)
            except Exception:
                pool.terminate()

    async def connect_one(self) -> Conn:
        """A connection outside the pool, with the pool's settings."""
        conn: Conn = await asyncpg.connect(
            self.url, timeout=CONNECT_TIMEOUT_S, server_settings=self._server_settings
        )
        return conn

    async def run(
        self,
        fn: Callable[[Conn], Awaitable[T]],
        *,
        transaction: bool = False,
        isolation: str = "read_committed",
    ) -> T:
        """Run ``fn`` on a pooled connection (in a transaction if asked),
        again on another one if nothing of it can have taken effect.

        A full disk becomes ``StorageFull`` (the transaction was rolled
        back); a committed read-committed transaction, our writes, ends a
        full-disk episode."""
        stale_left = self.size + 1
        rollbacks_left = TRANSACTION_TRIES
        while True:
            try:
                async with self._connection() as conn:
                    if not transaction:
                        return await fn(conn)
                    async with conn.transaction(isolation=isolation):
                        result = await fn(conn)
                    if isolation == "read_committed":
                        self.storage.committed()
                    return result
            except _StaleConnection as exc:
                stale_left -= 1
                if stale_left == 0:
                    raise Unavailable("the database connections keep failing; try again") from exc
            except asyncpg.exceptions.TransactionRollbackError:
                # Deadlock or serialization failure: nothing was committed.
                rollbacks_left -= 1
                if rollbacks_left == 0:
                    raise
            except asyncpg.PostgresError as exc:
                cause = postgres_full_cause(exc)
                if cause is None:
                    raise
                raise self.storage.failed(cause) from exc

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        pool = self._pool
        assert pool is not None, "store is not open"
        with unavailable_when_unreachable():
            conn = await pool.acquire(timeout=ACQUIRE_TIMEOUT_S)
        try:
            with unavailable_when_unreachable():
                try:
                    yield conn
                except asyncpg.exceptions.InternalClientError as exc:
                    # The server ended this connection while it sat idle in
                    # the pool (pg_terminate_backend, a restart): asyncpg read
                    # the goodbye and refuses to start anything on it, before
                    # sending a byte. Drop it; the caller may try another.
                    conn.terminate()
                    raise _StaleConnection() from exc
        finally:
            try:
                await pool.release(conn)
            except Exception as exc:
                # The connection broke after our work on it was settled
                # (committed, or failed and reported): asyncpg has dropped it
                # and will open another. Not a reason to fail a done write.
                log.debug("dropped a broken connection on release: %s", exc)
