"""The PostgreSQL store: the engine for several API and dispatcher processes
on several hosts (design.md §3).

Durability: every write commits with ``synchronous_commit=on`` (the server's
default, left alone) before the method returns. No group commit of our own:
PostgreSQL already flushes the commits of concurrent transactions together,
so the pool (``db_pool_size`` connections) is what lets them overlap.

Claiming uses ``FOR UPDATE SKIP LOCKED`` (see sql/postgres/queries.sql), so
any number of dispatchers share the work without waiting for one another.
Connection failures become ``Unavailable`` (pg_errors.py); asyncpg's pool
replaces dead connections on the next acquire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlsplit

import asyncpg

from espf.domain import (
    AccountRef,
    AccountStatusChange,
    ApiUser,
    AttemptOutcome,
    ClaimedDelivery,
    Delivery,
    Environment,
    Event,
    EventFilter,
    EventType,
    EventTypeUsage,
    Handler,
    HandlerSettings,
    NewEvent,
    ProvisioningStatus,
    Role,
)
from espf.errors import Conflict, NotFound
from espf.standard_types import BUILTIN_EVENT_TYPES, FIRST_CUSTOM_ID
from espf.store import rows
from espf.store.params import (
    account_status_params,
    deleted_handler_name,
    event_filter_params,
    handler_params,
    interrupted_attempts,
    outcome_params,
    settings_of,
)
from espf.store.pg_errors import unavailable_when_unreachable
from espf.store.pg_sql import PgQuery, load_pg_queries
from espf.store.postgres_wakeups import DueAnnouncer, DueListener
from espf.store.sql_loader import load_migrations

T = TypeVar("T")
Q = load_pg_queries()
PG_ONLY = load_pg_queries("backend_only.sql")
Conn: TypeAlias = asyncpg.Connection

DEFAULT_POOL_SIZE = 10
# A dead server must not hold a request for asyncpg's default 60 s.
CONNECT_TIMEOUT_S = 5.0
ACQUIRE_TIMEOUT_S = 10.0
# A statement that takes longer is treated as the database being unreachable.
STATEMENT_TIMEOUT_S = 60.0
# Deadlocks between claims, outcomes and rescues are rare and harmless to retry.
TRANSACTION_TRIES = 3
# How often another process's id may be taken under us (custom event type or
# environment ids are max + 1) before giving up.
ID_TRIES = 5

# Serialises `migrate` across every process starting at once; one key per
# schema, so that installations in different schemas do not wait for each
# other. Held until the migration transaction ends.
_MIGRATION_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('espf.migrate.' || coalesce(current_schema(), '')))"
)
_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS espf_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
_APPLIED_VERSIONS = "SELECT version FROM espf_migrations"
_RECORD_VERSION = "INSERT INTO espf_migrations (version, name) VALUES ($1, $2)"
_SCHEMA_VERSION = "SELECT max(version) FROM espf_migrations"

log = logging.getLogger("espf.store")


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


def _rowcount(status: str) -> int:
    """asyncpg reports ``INSERT 0 3`` / ``UPDATE 3`` / ``DELETE 3``."""
    return int(status.rsplit(" ", 1)[-1])


async def _fetch(conn: Conn, query: PgQuery, params: Mapping[str, Any]) -> list[Any]:
    result: list[Any] = await conn.fetch(query.sql, *query.args(params))
    return result


async def _fetchrow(conn: Conn, query: PgQuery, params: Mapping[str, Any]) -> Any:
    return await conn.fetchrow(query.sql, *query.args(params))


async def _execute(conn: Conn, query: PgQuery, params: Mapping[str, Any]) -> int:
    return _rowcount(await conn.execute(query.sql, *query.args(params)))


async def _executemany(conn: Conn, query: PgQuery, params: Sequence[Mapping[str, Any]]) -> None:
    if params:
        await conn.executemany(query.sql, query.many(params))


def _type_gone() -> NotFound:
    # Another process deleted the type (or handler) after it was looked up.
    return NotFound(
        "the event type or handler no longer exists; it was just deleted",
        code="unknown_event_type",
    )


class PostgresStore:
    backend = "postgres"

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.pool_size = pool_size
        self._server_settings = server_settings_for(url)
        self._pool: asyncpg.Pool | None = None
        self._announcer = DueAnnouncer(self._announce)
        self._listener: DueListener | None = None

    # -- plumbing ------------------------------------------------------------
    async def open(self) -> None:
        with unavailable_when_unreachable():
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.pool_size,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=STATEMENT_TIMEOUT_S,
                server_settings=self._server_settings,
                # Give idle connections back to the server after a burst.
                max_inactive_connection_lifetime=60.0,
            )

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await self._announcer.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=5.0)
            except Exception:
                pool.terminate()

    async def _connect_one(self) -> Conn:
        """A connection outside the pool, with the pool's settings."""
        conn: Conn = await asyncpg.connect(
            self.url, timeout=CONNECT_TIMEOUT_S, server_settings=self._server_settings
        )
        return conn

    @contextlib.asynccontextmanager
    async def _connection(self) -> Any:
        assert self._pool is not None, "store is not open"
        with unavailable_when_unreachable():
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
                yield conn

    async def _transaction(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        for attempt in range(1, TRANSACTION_TRIES + 1):
            try:
                async with self._connection() as conn, conn.transaction():
                    return await fn(conn)
            except asyncpg.exceptions.TransactionRollbackError:
                # Deadlock or serialization failure: nothing was committed.
                if attempt == TRANSACTION_TRIES:
                    raise
        raise AssertionError("unreachable")

    async def _fetchall(self, name: str, params: Mapping[str, Any]) -> list[Any]:
        async with self._connection() as conn:
            return await _fetch(conn, Q[name], params)

    async def _fetchone(self, name: str, params: Mapping[str, Any]) -> Any:
        async with self._connection() as conn:
            return await _fetchrow(conn, Q[name], params)

    async def _run(self, name: str, params: Mapping[str, Any]) -> int:
        async with self._connection() as conn:
            return await _execute(conn, Q[name], params)

    # -- schema ----------------------------------------------------------------
    async def migrate(self) -> list[int]:
        async def apply(conn: Conn) -> list[int]:
            await conn.execute(_MIGRATION_LOCK)
            await conn.execute(_MIGRATIONS_TABLE)
            done = {row[0] for row in await conn.fetch(_APPLIED_VERSIONS)}
            applied = []
            for version, name, sql in load_migrations("postgres"):
                if version in done:
                    continue
                # Several statements in one simple-protocol call, inside our
                # transaction: a migration applies whole or not at all.
                await conn.execute(sql)
                await conn.execute(_RECORD_VERSION, version, name)
                applied.append(version)
            return applied

        return await self._transaction(apply)

    async def schema_version(self) -> int:
        async with self._connection() as conn:
            try:
                version = await conn.fetchval(_SCHEMA_VERSION)
            except asyncpg.exceptions.UndefinedTableError:
                return 0
        return int(version or 0)

    async def ensure_builtin_event_types(self, now: int) -> None:
        params = [{"i_event_type": i, "name": n, "now": now} for i, n in BUILTIN_EVENT_TYPES]

        async def insert(conn: Conn) -> None:
            await _executemany(conn, Q["event_type_insert_builtin"], params)

        await self._transaction(insert)

    # -- environments and users ---------------------------------------------------
    async def env_create(self, i_env: int | None, name: str, now: int) -> Environment:
        params = {"i_env": i_env, "name": name, "now": now}
        for _ in range(ID_TRIES):
            try:
                row = await self._fetchone("env_insert", params)
            except asyncpg.UniqueViolationError as exc:
                if i_env is None and exc.constraint_name == "environments_pkey":
                    continue  # another process took max + 1 first
                raise Conflict(f"environment {i_env or name!r} already exists") from None
            return rows.environment(row)
        raise Conflict("could not find a free environment id; try again")

    async def env_get(self, i_env: int) -> Environment | None:
        row = await self._fetchone("env_get", {"i_env": i_env})
        return rows.environment(row) if row else None

    async def env_list(self) -> list[Environment]:
        return [rows.environment(r) for r in await self._fetchall("env_list", {})]

    async def user_create(
        self, i_env: int, login: str, password_hash: str, role: Role, now: int
    ) -> ApiUser:
        params = {
            "i_env": i_env,
            "login": login,
            "password_hash": password_hash,
            "role": role.value,
            "now": now,
        }
        try:
            return rows.api_user(await self._fetchone("user_insert", params))
        except asyncpg.UniqueViolationError:
            raise Conflict(f"user {login!r} already exists") from None

    async def user_get_by_login(self, login: str) -> ApiUser | None:
        row = await self._fetchone("user_get_by_login", {"login": login})
        return rows.api_user(row) if row else None

    async def user_list(self, i_env: int | None) -> list[ApiUser]:
        return [rows.api_user(r) for r in await self._fetchall("user_list", {"i_env": i_env})]

    async def user_count(self) -> int:
        row = await self._fetchone("user_count", {})
        return int(row[0])

    async def user_delete(self, i_env: int, login: str) -> bool:
        params = {"i_env": i_env, "login": login}

        async def delete(conn: Conn) -> bool:
            await _fetchrow(conn, PG_ONLY["environment_lock"], params)
            return await _fetchrow(conn, Q["user_delete"], params) is not None

        return await self._transaction(delete)

    async def user_set_role(self, i_env: int, login: str, role: Role) -> ApiUser | None:
        params = {"i_env": i_env, "login": login, "role": role.value}

        async def update(conn: Conn) -> ApiUser | None:
            await _fetchrow(conn, PG_ONLY["environment_lock"], params)
            row = await _fetchrow(conn, Q["user_set_role"], params)
            return rows.api_user(row) if row else None

        return await self._transaction(update)

    # -- event types ----------------------------------------------------------------
    async def event_type_create_custom(self, name: str, now: int) -> EventType:
        async def insert(conn: Conn) -> EventType:
            next_id = (
                await _fetchrow(
                    conn, Q["event_type_next_custom_id"], {"first_custom_id": FIRST_CUSTOM_ID}
                )
            )[0]
            row = await _fetchrow(
                conn,
                Q["event_type_insert_custom"],
                {"i_event_type": next_id, "name": name, "now": now},
            )
            return rows.event_type(row)

        for _ in range(ID_TRIES):
            try:
                return await self._transaction(insert)
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == "event_types_pkey":
                    continue  # another process took max + 1 first
                raise Conflict(f"event type {name!r} already exists") from None
        raise Conflict(f"could not find a free id for event type {name!r}; try again")

    async def event_type_get_by_name(self, name: str) -> EventType | None:
        row = await self._fetchone("event_type_get_by_name", {"name": name})
        return rows.event_type(row) if row else None

    async def event_type_list(self) -> list[EventType]:
        return [rows.event_type(r) for r in await self._fetchall("event_type_list", {})]

    async def event_type_delete(self, i_event_type: int, now: int) -> bool:
        key = {"i_event_type": i_event_type}

        async def delete(conn: Conn) -> bool:
            row = await _fetchrow(conn, Q["event_type_delete_unused"], key)
            if row is None:
                return False
            await _execute(conn, Q["event_type_retire"], {**key, "name": row[1], "now": now})
            return True

        try:
            return await self._transaction(delete)
        except asyncpg.ForeignKeyViolationError:
            return False  # events (or a subscription just committed) use it

    async def event_type_usage(self, i_event_type: int, i_env: int) -> EventTypeUsage:
        key = {"i_event_type": i_event_type, "i_env": i_env}
        async with self._connection() as conn:
            subscribers = await _fetch(conn, Q["event_type_subscribers"], key)
            here, elsewhere = await _fetchrow(conn, Q["event_type_event_counts"], key)
        return rows.event_type_usage([tuple(r) for r in subscribers], here, elsewhere, i_env)

    # -- handlers and subscriptions --------------------------------------------------
    async def handler_create(
        self, i_env: int, name: str, settings: HandlerSettings, now: int
    ) -> Handler:
        params = handler_params(settings)
        params.update({"i_env": i_env, "name": name, "now": now})

        async def insert(conn: Conn) -> Handler:
            await _fetchrow(conn, Q["handler_insert"], params)
            return rows.handler(await _fetchrow(conn, Q["handler_get"], params))

        try:
            return await self._transaction(insert)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"handler {name!r} already exists in environment {i_env}") from None

    async def handler_update(self, handler: Handler, now: int) -> Handler:
        params = handler_params(settings_of(handler))
        params.update({"i_handler": handler.i_handler, "now": now})
        key = {"i_handler": handler.i_handler}
        hold = "delivery_unhold_for_handler" if handler.enabled else "delivery_hold_for_handler"

        async def update(conn: Conn) -> Handler:
            await _execute(conn, Q["handler_update"], params)
            await _execute(conn, Q[hold], key)
            row = await _fetchrow(
                conn, Q["handler_get"], {"i_env": handler.i_env, "name": handler.name}
            )
            return rows.handler(row)

        return await self._transaction(update)

    async def handler_get(self, i_env: int, name: str) -> Handler | None:
        row = await self._fetchone("handler_get", {"i_env": i_env, "name": name})
        return rows.handler(row) if row else None

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        return [rows.handler(r) for r in await self._fetchall("handler_list", {"i_env": i_env})]

    async def handler_delete(self, handler: Handler, now: int) -> int:
        key = {"i_handler": handler.i_handler}

        async def delete(conn: Conn) -> int:
            await _fetchrow(conn, PG_ONLY["handler_lock"], key)
            unfinished = int((await _fetchrow(conn, Q["handler_count_unfinished"], key))[0])
            if unfinished:
                return unfinished
            await _execute(conn, Q["subscription_delete_all"], key)
            await _execute(
                conn,
                Q["handler_mark_deleted"],
                {**key, "now": now, "deleted_name": deleted_handler_name(handler)},
            )
            return 0

        return await self._transaction(delete)

    async def subscription_add(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        try:
            return await self._run("subscription_insert", params) > 0
        except asyncpg.ForeignKeyViolationError:
            raise _type_gone() from None

    async def subscription_remove(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        return await self._run("subscription_delete", params) > 0

    async def subscription_add_all(self, i_handler: int) -> int:
        return await self._run("subscription_insert_all", {"i_handler": i_handler})

    async def subscription_list(self, i_handler: int) -> list[str]:
        return [r[0] for r in await self._fetchall("subscription_list", {"i_handler": i_handler})]

    # -- events ------------------------------------------------------------------------
    async def event_insert(self, event: NewEvent, now: int) -> int:
        params = {
            "i_env": event.i_env,
            "i_event_type": event.i_event_type,
            "variables": event.variables_json,
            "start_at": event.start_at,
            "created_by": event.created_by,
            "now": now,
        }
        # One statement, committed on its own: durable when this returns.
        try:
            row = await self._fetchone("event_insert", params)
        except asyncpg.ForeignKeyViolationError:
            raise _type_gone() from None
        self._announcer.announce(event.start_at)
        return int(row[0])

    async def _announce(self, due_at: int) -> None:
        async with self._connection() as conn:
            await _execute(conn, PG_ONLY["due_announce"], {"due_at": due_at})

    async def listen_for_due(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(due_at)`` whenever any process announces a new
        event; keeps listening, reconnecting, until the store is closed."""
        if self._listener is not None:
            await self._listener.stop()

        async def check(conn: Conn) -> None:
            await _fetchrow(conn, PG_ONLY["connection_check"], {})

        self._listener = DueListener(self._connect_one, check, callback)
        self._listener.start()

    async def event_get(self, i_event: int, i_env: int | None) -> Event | None:
        row = await self._fetchone("event_get", {"i_event": i_event, "i_env": i_env})
        return rows.event(row) if row else None

    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        params = event_filter_params(event_filter)
        return [rows.event(r) for r in await self._fetchall("event_list", params)]

    async def event_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("event_count_by_state", {})}

    async def delivery_list_for_event(self, i_event: int) -> list[Delivery]:
        key = {"i_event": i_event}

        async def read(conn: Conn) -> list[Delivery]:
            delivery_rows = await _fetch(conn, Q["delivery_list_for_event"], key)
            attempt_rows = await _fetch(conn, Q["attempt_list_for_event"], key)
            return rows.deliveries_with_attempts(delivery_rows, attempt_rows)

        # One snapshot for both reads (REPEATABLE READ) so that the attempt
        # log matches the deliveries it belongs to.
        async with self._connection() as conn, conn.transaction(isolation="repeatable_read"):
            return await read(conn)

    async def delivery_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("delivery_count_by_state", {})}

    # -- dispatching ------------------------------------------------------------------------
    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        async def dispatch(conn: Conn) -> list[ClaimedDelivery]:
            due = await _fetch(conn, Q["event_take_due"], {"now": now, "limit": limit})
            if due:
                ids = {"ids": [row[0] for row in due]}
                await _execute(conn, Q["delivery_fan_out"], ids)
                await _execute(conn, Q["event_mark_unrouted"], ids)
            claimed = await _fetch(
                conn, Q["delivery_claim_due"], {"node_id": node_id, "now": now, "limit": limit}
            )
            if not claimed:
                return []
            detail = await _fetch(
                conn, Q["delivery_claimed_detail"], {"ids": [row[0] for row in claimed]}
            )
            return [rows.claimed_delivery(tuple(row)) for row in detail]

        return await self._transaction(dispatch)

    async def next_due_at(self) -> int | None:
        row = await self._fetchone("next_due_at", {})
        return None if row[0] is None else int(row[0])

    async def delivery_record_outcomes(
        self, node_id: str, outcomes: Sequence[AttemptOutcome]
    ) -> None:
        updates, attempts = outcome_params(node_id, outcomes)
        # Rows locked in one order by every writer cannot deadlock each other.
        updates.sort(key=lambda u: int(u["i_delivery"]))

        async def record(conn: Conn) -> None:
            await _executemany(conn, Q["delivery_record_outcome"], updates)
            await _executemany(conn, Q["attempt_insert"], attempts)

        await self._transaction(record)

    # -- account provisioning status ---------------------------------------------------
    async def account_status_report(
        self,
        i_env: int,
        account: AccountRef,
        group: str,
        status: ProvisioningStatus,
        message: str,
        now: int,
        reported_by: int | None,
    ) -> AccountStatusChange:
        params = account_status_params(i_env, account, group) | {
            "status": status.value,
            "message": message,
            "now": now,
            "reported_by": reported_by,
        }

        async def report(conn: Conn) -> AccountStatusChange:
            change = rows.account_status_change(
                await _fetchrow(conn, Q["account_status_insert"], params)
            )
            await _execute(
                conn,
                Q["account_status_set_current"],
                params | {"i_status_change": change.i_status_change},
            )
            return change

        return await self._transaction(report)

    async def account_status_current(
        self, i_env: int, account: AccountRef
    ) -> list[AccountStatusChange]:
        params = account_status_params(i_env, account, None)
        found = await self._fetchall("account_status_current", params)
        return [rows.account_status_change(r) for r in found]

    async def account_status_history(
        self, i_env: int, account: AccountRef, group: str | None, before: int | None, limit: int
    ) -> list[AccountStatusChange]:
        params = account_status_params(i_env, account, group) | {"before": before, "limit": limit}
        found = await self._fetchall("account_status_history", params)
        return [rows.account_status_change(r) for r in found]

    async def node_heartbeat(self, node_id: str, hostname: str, pid: int, now: int) -> None:
        params = {"node_id": node_id, "hostname": hostname, "pid": pid, "now": now}
        await self._run("node_upsert", params)

    async def node_list(self) -> list[tuple[str, str, int, int]]:
        return [(r[0], r[1], r[2], r[3]) for r in await self._fetchall("node_list", {})]

    async def node_mark_dead(self, node_id: str) -> None:
        await self._run("node_mark_dead", {"node_id": node_id})

    async def node_rescue_orphans(self, now: int, cutoff: int) -> int:
        async def rescue(conn: Conn) -> int:
            rescued = await _fetch(
                conn, Q["delivery_rescue_orphans"], {"now": now, "cutoff": cutoff}
            )
            await _executemany(
                conn, Q["attempt_insert"], interrupted_attempts([tuple(r) for r in rescued], now)
            )
            await _execute(conn, Q["node_delete_dead"], {"cutoff": cutoff})
            return len(rescued)

        return await self._transaction(rescue)

    async def node_release(self, node_id: str, now: int) -> int:
        async def release(conn: Conn) -> int:
            count = await _execute(
                conn, Q["delivery_release_node"], {"node_id": node_id, "now": now}
            )
            await _execute(conn, Q["node_delete"], {"node_id": node_id})
            return count

        return await self._transaction(release)
