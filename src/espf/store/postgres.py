"""The PostgreSQL store: the engine for several API and dispatcher processes
on several hosts (design.md §3).

Durability: every write commits with ``synchronous_commit=on`` (the server's
default, left alone) before the method returns. No group commit of our own:
PostgreSQL already flushes the commits of concurrent transactions together,
so the pool (``db_pool_size`` connections) is what lets them overlap.

Claiming uses ``FOR UPDATE SKIP LOCKED`` (see sql/postgres/queries.sql), so
any number of dispatchers share the work without waiting for one another.
Connection handling, retries and the mapping of connection failures to
``Unavailable`` live in pg_pool.py; the wake-ups of other nodes in
postgres_wakeups.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

from espf.domain import (
    ApiUser,
    AttemptOutcome,
    ClaimedDelivery,
    Delivery,
    Environment,
    Event,
    EventFilter,
    EventType,
    Handler,
    HandlerSettings,
    NewEvent,
    Role,
)
from espf.errors import Conflict, Unavailable
from espf.standard_types import BUILTIN_EVENT_TYPES, FIRST_CUSTOM_ID
from espf.store import rows
from espf.store.params import (
    handler_params,
    interrupted_attempts,
    outcome_params,
    settings_of,
)
from espf.store.pg_migrate import apply_migrations, schema_version
from espf.store.pg_pool import Conn, PgPool, execute, executemany, fetch, fetchrow
from espf.store.pg_sql import load_pg_queries
from espf.store.postgres_wakeups import DueAnnouncer, DueListener

T = TypeVar("T")
Q = load_pg_queries()
PG_ONLY = load_pg_queries("backend_only.sql")

DEFAULT_POOL_SIZE = 10


class PostgresStore:
    backend = "postgres"

    def __init__(self, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.pool_size = pool_size
        self._db = PgPool(url, pool_size)
        self._announcer = DueAnnouncer(self._announce)
        self._listener: DueListener | None = None
        # (node_id, now) of claims whose commit may or may not have happened.
        self._lost_claims: list[tuple[str, int]] = []

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

    async def _fetchall(self, name: str, params: Mapping[str, Any]) -> list[Any]:
        return await self._db.run(lambda conn: fetch(conn, Q[name], params))

    async def _fetchone(self, name: str, params: Mapping[str, Any]) -> Any:
        return await self._db.run(lambda conn: fetchrow(conn, Q[name], params))

    async def _run(self, name: str, params: Mapping[str, Any]) -> int:
        return await self._db.run(lambda conn: execute(conn, Q[name], params))

    # -- schema ----------------------------------------------------------------
    async def migrate(self) -> list[int]:
        return await self._transaction(apply_migrations)

    async def schema_version(self) -> int:
        return await self._db.run(schema_version)

    async def ensure_builtin_event_types(self, now: int) -> None:
        params = [{"i_event_type": i, "name": n, "now": now} for i, n in BUILTIN_EVENT_TYPES]

        async def insert(conn: Conn) -> None:
            await executemany(conn, Q["event_type_insert_builtin"], params)

        await self._transaction(insert)

    # -- environments and users ---------------------------------------------------
    async def env_create(self, i_env: int | None, name: str, now: int) -> Environment:
        params = {"i_env": i_env, "name": name, "now": now}

        async def insert(conn: Conn) -> Environment:
            if i_env is None:
                await execute(conn, PG_ONLY["id_allocation_lock"], {"table_name": "environments"})
            return rows.environment(await fetchrow(conn, Q["env_insert"], params))

        try:
            return await self._transaction(insert)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"environment {i_env or name!r} already exists") from None

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

    # -- event types ----------------------------------------------------------------
    async def event_type_create_custom(self, name: str, now: int) -> EventType:
        async def insert(conn: Conn) -> EventType:
            await execute(conn, PG_ONLY["id_allocation_lock"], {"table_name": "event_types"})
            next_id = (
                await fetchrow(
                    conn, Q["event_type_next_custom_id"], {"first_custom_id": FIRST_CUSTOM_ID}
                )
            )[0]
            row = await fetchrow(
                conn,
                Q["event_type_insert_custom"],
                {"i_event_type": next_id, "name": name, "now": now},
            )
            return rows.event_type(row)

        try:
            return await self._transaction(insert)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"event type {name!r} already exists") from None

    async def event_type_get_by_name(self, name: str) -> EventType | None:
        row = await self._fetchone("event_type_get_by_name", {"name": name})
        return rows.event_type(row) if row else None

    async def event_type_list(self) -> list[EventType]:
        return [rows.event_type(r) for r in await self._fetchall("event_type_list", {})]

    # -- handlers and subscriptions --------------------------------------------------
    async def handler_create(
        self, i_env: int, name: str, settings: HandlerSettings, now: int
    ) -> Handler:
        params = handler_params(settings)
        params.update({"i_env": i_env, "name": name, "now": now})

        async def insert(conn: Conn) -> Handler:
            await fetchrow(conn, Q["handler_insert"], params)
            return rows.handler(await fetchrow(conn, Q["handler_get"], params))

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
            await execute(conn, Q["handler_update"], params)
            await execute(conn, Q[hold], key)
            row = await fetchrow(
                conn, Q["handler_get"], {"i_env": handler.i_env, "name": handler.name}
            )
            return rows.handler(row)

        return await self._transaction(update)

    async def handler_get(self, i_env: int, name: str) -> Handler | None:
        row = await self._fetchone("handler_get", {"i_env": i_env, "name": name})
        return rows.handler(row) if row else None

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        return [rows.handler(r) for r in await self._fetchall("handler_list", {"i_env": i_env})]

    async def subscription_add(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        return await self._run("subscription_insert", params) > 0

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
            "now": now,
        }
        # One statement, committed on its own: durable when this returns.
        row = await self._fetchone("event_insert", params)
        self._announcer.announce(event.start_at)
        return int(row[0])

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

    async def event_get(self, i_event: int, i_env: int | None) -> Event | None:
        row = await self._fetchone("event_get", {"i_event": i_event, "i_env": i_env})
        return rows.event(row) if row else None

    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        params = {
            "i_env": event_filter.i_env,
            "event_type": event_filter.event_type,
            "state": event_filter.state.value if event_filter.state else None,
            "before": event_filter.before_i_event,
            "limit": event_filter.limit,
        }
        return [rows.event(r) for r in await self._fetchall("event_list", params)]

    async def event_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("event_count_by_state", {})}

    async def delivery_list_for_event(self, i_event: int) -> list[Delivery]:
        key = {"i_event": i_event}

        async def read(conn: Conn) -> list[Delivery]:
            delivery_rows = await fetch(conn, Q["delivery_list_for_event"], key)
            attempt_rows = await fetch(conn, Q["attempt_list_for_event"], key)
            return rows.deliveries_with_attempts(delivery_rows, attempt_rows)

        # One snapshot for both reads (REPEATABLE READ) so that the attempt
        # log matches the deliveries it belongs to.
        return await self._db.run(read, transaction=True, isolation="repeatable_read")

    async def delivery_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("delivery_count_by_state", {})}

    # -- dispatching ------------------------------------------------------------------------
    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        lost_claims = list(self._lost_claims)

        async def dispatch(conn: Conn) -> list[ClaimedDelivery]:
            for lost_node_id, claimed_at in lost_claims:
                await execute(
                    conn,
                    PG_ONLY["delivery_release_lost_claim"],
                    {"node_id": lost_node_id, "claimed_at": claimed_at, "now": now},
                )
            due = await fetch(conn, Q["event_take_due"], {"now": now, "limit": limit})
            if due:
                ids = {"ids": [row[0] for row in due]}
                await execute(conn, Q["delivery_fan_out"], ids)
                await execute(conn, Q["event_mark_unrouted"], ids)
            claimed = await fetch(
                conn, Q["delivery_claim_due"], {"node_id": node_id, "now": now, "limit": limit}
            )
            if not claimed:
                return []
            detail = await fetch(
                conn, Q["delivery_claimed_detail"], {"ids": [row[0] for row in claimed]}
            )
            return [rows.claimed_delivery(tuple(row)) for row in detail]

        try:
            claimed = await self._transaction(dispatch)
        except Unavailable:
            # Maybe committed, maybe not: see delivery_release_lost_claim.
            self._lost_claims.append((node_id, now))
            raise
        self._lost_claims = [c for c in self._lost_claims if c not in lost_claims]
        return claimed

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
            await executemany(conn, Q["delivery_record_outcome"], updates)
            await executemany(conn, Q["attempt_insert"], attempts)

        await self._transaction(record)

    async def node_heartbeat(self, node_id: str, hostname: str, pid: int, now: int) -> None:
        params = {"node_id": node_id, "hostname": hostname, "pid": pid, "now": now}
        await self._run("node_upsert", params)

    async def node_list(self) -> list[tuple[str, str, int, int]]:
        return [(r[0], r[1], r[2], r[3]) for r in await self._fetchall("node_list", {})]

    async def node_mark_dead(self, node_id: str) -> None:
        await self._run("node_mark_dead", {"node_id": node_id})

    async def node_rescue_orphans(self, now: int, cutoff: int) -> int:
        async def rescue(conn: Conn) -> int:
            rescued = await fetch(
                conn, Q["delivery_rescue_orphans"], {"now": now, "cutoff": cutoff}
            )
            await executemany(
                conn, Q["attempt_insert"], interrupted_attempts([tuple(r) for r in rescued], now)
            )
            await execute(conn, Q["node_delete_dead"], {"cutoff": cutoff})
            return len(rescued)

        return await self._transaction(rescue)

    async def node_release(self, node_id: str, now: int) -> int:
        async def release(conn: Conn) -> int:
            count = await execute(
                conn, Q["delivery_release_node"], {"node_id": node_id, "now": now}
            )
            await execute(conn, Q["node_delete"], {"node_id": node_id})
            return count

        return await self._transaction(release)

    # -- copying a whole database ------------------------------------------------------------
    async def copy_row_counts(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in await self._fetchall("copy_row_counts", {})}

    async def copy_read(self, table: str, after: int, limit: int) -> list[dict[str, Any]]:
        found = await self._fetchall(f"copy_read_{table}", {"after": after, "limit": limit})
        return [dict(row.items()) for row in found]

    async def copy_write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        query = Q[f"copy_write_{table}"]

        async def write(conn: Conn) -> None:
            await executemany(conn, query, rows)

        await self._transaction(write)

    async def copy_finish(self) -> None:
        reset = PG_ONLY["identity_sequences_reset"]
        await self._db.run(lambda conn: fetch(conn, reset, {}))
