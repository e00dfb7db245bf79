"""The PostgreSQL store: the engine for several API and dispatcher processes
on several hosts (design.md §3).

Durability: every write commits with ``synchronous_commit=on`` (the server's
default, left alone) before the method returns. No group commit of our own:
PostgreSQL already flushes the commits of concurrent transactions together,
so the pool (``db_pool_size`` connections) is what lets them overlap.

The operations are written once, in sql_store.py and the plans (plan.py);
this module says how a step runs on asyncpg: each plan is awaited inside one
transaction, its ``lock`` steps taking the advisory and row locks of
backend_only.sql. Claiming uses ``FOR UPDATE SKIP LOCKED`` (see
sql/postgres/queries.sql), so any number of dispatchers share the work
without waiting for one another. Connection handling, retries and the mapping
of connection failures to ``Unavailable`` live in pg_pool.py; the wake-ups of
other nodes in postgres_wakeups.py, reached through ``announce_due`` alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import asyncpg

from espf.domain import ClaimedDelivery
from espf.errors import Unavailable
from espf.store.batch_insert import BatchInserter
from espf.store.console_reads import Summary
from espf.store.delivery_rules import dispatch_due as dispatch_due_plan
from espf.store.pg_migrate import apply_migrations, schema_version
from espf.store.pg_pool import Conn, PgPool, execute, executemany, fetch, fetchrow
from espf.store.pg_sql import load_pg_queries
from espf.store.pg_vacuum import vacuum_tables
from espf.store.plan import IntegrityFailure, Plan, Step, rows, run
from espf.store.postgres_wakeups import DueAnnouncer, DueListener
from espf.store.retention_plans import RECLAIMED_TABLES
from espf.store.sql_store import SqlStore

P = ParamSpec("P")
T = TypeVar("T")
Q = load_pg_queries()
PG_ONLY = load_pg_queries("backend_only.sql")
# A plan names queries of either file; the names never collide.
STEP_QUERIES = Q | PG_ONLY
assert len(STEP_QUERIES) == len(Q) + len(PG_ONLY), "a backend_only.sql name repeats queries.sql"

DEFAULT_POOL_SIZE = 10

_EVENT_COLUMNS = (
    "i_env",
    "i_event_type",
    "variables",
    "start_at",
    "coalesce_key",
    "created_by",
    "local_start",
    "time_zone",
    "now",
)
_OUTCOME_COLUMNS = (
    "i_delivery",
    "state",
    "attempt_no",
    "next_at",
    "status_code",
    "error",
    "finished_at",
)


@contextlib.contextmanager
def _integrity_failures() -> Iterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise IntegrityFailure("unique", str(exc)) from None
    except asyncpg.ForeignKeyViolationError as exc:
        raise IntegrityFailure("foreign_key", str(exc)) from None


async def run_plan(conn: Conn, plan: Plan[T]) -> T:
    """Await ``plan`` to its end on ``conn``, in the caller's transaction."""
    answer: Any = None
    send = plan.send
    try:
        while True:
            step: Step = send(answer)
            query = STEP_QUERIES[step.query]
            kind = step.kind
            if kind == "row" or kind == "lock":
                answer = await fetchrow(conn, query, step.params)
            elif kind == "rows":
                answer = await fetch(conn, query, step.params)
            elif kind == "run":
                answer = await execute(conn, query, step.params)
            else:
                await executemany(conn, query, step.params)
                answer = None
    except StopIteration as done:
        result: T = done.value
        return result


class PostgresStore(SqlStore):
    backend = "postgres"

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.pool_size = pool_size
        self._db = PgPool(url, pool_size)
        self.storage = self._db.storage
        self._announcer = DueAnnouncer(self._announce)
        self._listener: DueListener | None = None
        # (node_id, now) of claims whose commit may or may not have happened.
        self._lost_claims: list[tuple[str, int]] = []
        # Half the pool for event inserts in flight; the rest serves the others.
        self._inserter = BatchInserter(
            self._insert_events, self._insert_event, max_in_flight=pool_size // 2
        )

    # -- plumbing ------------------------------------------------------------
    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await self._announcer.close()
        await self._db.close()

    async def _transaction(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        return await self._db.run(fn, transaction=True)

    async def _write(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        # A new plan on every try: pg_pool runs a transaction again after a
        # deadlock or on a stale connection.
        with _integrity_failures():
            return await self._transaction(lambda conn: run_plan(conn, plan(*args, **kwargs)))

    async def _read(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        # REPEATABLE READ: one snapshot for every statement of the plan.
        return await self._db.run(
            lambda conn: run_plan(conn, plan(*args, **kwargs)),
            transaction=True,
            isolation="repeatable_read",
        )

    async def _fetchall(self, query: str, params: Mapping[str, Any]) -> list[Any]:
        return await self._db.run(lambda conn: fetch(conn, Q[query], params))

    async def _fetchone(self, query: str, params: Mapping[str, Any]) -> Any:
        return await self._db.run(lambda conn: fetchrow(conn, Q[query], params))

    async def _change(self, query: str, params: Mapping[str, Any]) -> int:
        with _integrity_failures():
            return await self._db.run(lambda conn: execute(conn, Q[query], params))

    async def _fold_console_summary(self, summary: Summary) -> None:
        # Several nodes may fold at once; see backend_only.sql.
        await self._db.run(lambda conn: execute(conn, PG_ONLY[f"console_fold_{summary}"], {}))

    # -- waking the dispatchers of every node -------------------------------------
    def announce_due(self, due_at: int) -> None:
        """The one place this store sends a NOTIFY (coalesced; callers call
        it after the commit, through espf.due_wakeups)."""
        self._announcer.announce(due_at)

    async def _announce(self, due_at: int) -> None:
        params = {"due_at": due_at}
        await self._db.run(lambda conn: execute(conn, PG_ONLY["due_announce"], params))

    async def listen_for_due(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(due_at)`` whenever any process announces a new
        event; keeps listening, reconnecting, until the store is closed."""
        if self._listener is not None:
            await self._listener.stop()

        async def check(conn: Conn) -> None:
            await fetchrow(conn, PG_ONLY["connection_check"], {})

        self._listener = DueListener(self._db.connect_one, check, callback)
        self._listener.start()

    # -- schema ----------------------------------------------------------------
    async def migrate(self) -> list[int]:
        return await self._transaction(apply_migrations)

    async def schema_version(self) -> int:
        return await self._db.run(schema_version)

    # -- what differs from SQLite -------------------------------------------------
    async def _insert_events(self, batch: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many events in one transaction; their ids, in order."""
        columns = {f"{name}s": [p[name] for p in batch] for name in _EVENT_COLUMNS}

        async def insert(conn: Conn) -> list[int]:
            ids = [
                row[0] for row in await fetch(conn, PG_ONLY["event_ids_next"], {"n": len(batch)})
            ]
            await execute(conn, PG_ONLY["event_insert_many"], {"i_events": ids, **columns})
            return ids

        with _integrity_failures():
            return await self._transaction(insert)

    def _record_rows(self, node_id: str, updates: list[dict[str, Any]]) -> Plan[list[Any]]:
        # One statement for the whole batch: a round trip per outcome was
        # most of a dispatcher's time on PostgreSQL.
        batch = {"node_id": node_id} | {
            f"{column}s": [u[column] for u in updates] for column in _OUTCOME_COLUMNS
        }
        recorded: list[Any] = yield rows("delivery_record_outcomes", batch)
        return recorded

    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        lost_claims = list(self._lost_claims)
        with_limits = await self._limits_in_use()

        def dispatch() -> Plan[list[ClaimedDelivery]]:
            for lost_node_id, claimed_at in lost_claims:
                yield run(
                    "delivery_release_lost_claim",
                    {"node_id": lost_node_id, "claimed_at": claimed_at, "now": now},
                )
            return (yield from dispatch_due_plan(node_id, now, limit, with_limits))

        try:
            claimed = await self._write(dispatch)
        except Unavailable:
            # Maybe committed, maybe not: see delivery_release_lost_claim.
            self._lost_claims.append((node_id, now))
            raise
        self._lost_claims = [c for c in self._lost_claims if c not in lost_claims]
        return claimed

    async def reclaim_space(self) -> list[str]:
        return await vacuum_tables(self._db, RECLAIMED_TABLES)

    async def copy_read(self, table: str, after: int, limit: int) -> list[dict[str, Any]]:
        if table == "console_attempt_minutes":
            await self._fold_console_summary("attempt_minutes")
        found = await self._fetchall(f"copy_read_{table}", {"after": after, "limit": limit})
        return [dict(row.items()) for row in found]

    async def copy_finish(self) -> None:
        found = PG_ONLY["identity_columns"]
        columns = await self._db.run(lambda conn: fetch(conn, found, {}))

        async def reset(conn: Conn) -> None:
            for table, column in columns:
                # Names from the catalog, quoted: nothing here comes from a user.
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f'coalesce(max("{column}"), 0) + 1, false) FROM "{table}"'
                )

        await self._db.run(reset)
        drop = PG_ONLY["copy_console_changes_drop"]
        await self._db.run(lambda conn: execute(conn, drop, {}))
