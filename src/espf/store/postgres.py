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

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

from espf.auth_records import ApiToken, StoredSession
from espf.domain import (
    AccountRef,
    AccountStatusChange,
    ApiUser,
    AttemptOutcome,
    BlockedKey,
    ClaimedDelivery,
    Delivery,
    Environment,
    Event,
    EventFilter,
    EventType,
    EventTypeUsage,
    Handler,
    HandlerHealth,
    HandlerSettings,
    NewEvent,
    ProvisioningStatus,
    ReplayFilter,
    Role,
    Transition,
)
from espf.errors import Conflict, NotFound, Unavailable
from espf.standard_types import BUILTIN_EVENT_TYPES, FIRST_CUSTOM_ID
from espf.store import auth_rows, console_reads, rows
from espf.store.batch_insert import BatchInserter
from espf.store.params import (
    HELD_REASON,
    PROMOTED_REASON,
    SUPERSEDED_REASON,
    WAITING_REASON,
    account_status_params,
    deleted_handler_name,
    event_filter_params,
    handler_params,
    idempotency_key_params,
    idempotent_repeat,
    interrupted_attempts,
    interrupted_transitions,
    new_event_params,
    outcome_params,
    outcome_reasons,
    replay_params,
    settings_of,
    split_by_health,
    transition_row,
)
from espf.store.pg_migrate import apply_migrations, schema_version
from espf.store.pg_pool import Conn, PgPool, execute, executemany, fetch, fetchrow
from espf.store.pg_sql import load_pg_queries
from espf.store.postgres_wakeups import DueAnnouncer, DueListener

T = TypeVar("T")
Q = load_pg_queries()
PG_ONLY = load_pg_queries("backend_only.sql")

DEFAULT_POOL_SIZE = 10


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
        self._db = PgPool(url, pool_size)
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
        self,
        i_env: int,
        login: str,
        password_hash: str,
        role: Role,
        now: int,
        weak_password: bool = False,
    ) -> ApiUser:
        params = {
            "i_env": i_env,
            "login": login,
            "password_hash": password_hash,
            "role": role.value,
            "now": now,
            "weak_password": weak_password,
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
            await fetchrow(conn, PG_ONLY["environment_lock"], params)
            return await fetchrow(conn, Q["user_delete"], params) is not None

        return await self._transaction(delete)

    async def user_set_role(self, i_env: int, login: str, role: Role) -> ApiUser | None:
        params = {"i_env": i_env, "login": login, "role": role.value}

        async def update(conn: Conn) -> ApiUser | None:
            await fetchrow(conn, PG_ONLY["environment_lock"], params)
            row = await fetchrow(conn, Q["user_set_role"], params)
            return rows.api_user(row) if row else None

        return await self._transaction(update)

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

    async def event_type_delete(self, i_event_type: int, now: int) -> bool:
        key = {"i_event_type": i_event_type}

        async def delete(conn: Conn) -> bool:
            row = await fetchrow(conn, Q["event_type_delete_unused"], key)
            if row is None:
                return False
            await execute(conn, Q["event_type_retire"], {**key, "name": row[1], "now": now})
            return True

        try:
            return await self._transaction(delete)
        except asyncpg.ForeignKeyViolationError:
            return False  # events (or a subscription just committed) use it

    async def event_type_usage(self, i_event_type: int, i_env: int) -> EventTypeUsage:
        key = {"i_event_type": i_event_type, "i_env": i_env}

        async def read(conn: Conn) -> EventTypeUsage:
            subscribers = await fetch(conn, Q["event_type_subscribers"], key)
            here, elsewhere = await fetchrow(conn, Q["event_type_event_counts"], key)
            return rows.event_type_usage([tuple(r) for r in subscribers], here, elsewhere, i_env)

        return await self._db.run(read)

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
        runs = handler.enabled and not handler.paused
        hold = "delivery_unhold_for_handler" if runs else "delivery_hold_for_handler"

        async def update(conn: Conn) -> Handler:
            await execute(conn, Q["handler_update"], params)
            moved = await fetch(conn, Q[hold], key)
            await _refresh_events(conn, {row[1] for row in moved})
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

    async def handler_delete(self, handler: Handler, now: int) -> int:
        key = {"i_handler": handler.i_handler}

        async def delete(conn: Conn) -> int:
            await fetchrow(conn, PG_ONLY["handler_lock"], key)
            unfinished = int((await fetchrow(conn, Q["handler_count_unfinished"], key))[0])
            if unfinished:
                return unfinished
            await execute(conn, Q["subscription_delete_all"], key)
            await execute(
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
        params = new_event_params(event, now)
        idem = event.idempotency
        if idem is None:
            try:
                i_event = await self._inserter.insert(params)
            except asyncpg.ForeignKeyViolationError:
                raise _type_gone() from None
            self._announcer.announce(event.start_at)
            return i_event

        async def insert(conn: Conn) -> tuple[int, bool]:
            key = {"i_env": event.i_env, "key": idem.key, "not_before": idem.not_before}
            await fetchrow(conn, PG_ONLY["idempotency_key_lock"], key)
            seen = await fetchrow(conn, Q["idempotency_key_get"], key)
            if seen is not None:
                return idempotent_repeat(idem, seen[0], seen[1]), False
            i_event = int((await fetchrow(conn, Q["event_insert"], params))[0])
            await execute(
                conn, Q["idempotency_key_put"], idempotency_key_params(event, i_event, now)
            )
            return i_event, True

        # One transaction, committed before this returns: durable.
        try:
            i_event, created = await self._transaction(insert)
        except asyncpg.ForeignKeyViolationError:
            raise _type_gone() from None
        if created:
            self._announcer.announce(event.start_at)
        return i_event

    async def _insert_events(self, batch: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert many events in one transaction; their ids, in order."""
        columns = {f"{name}s": [p[name] for p in batch] for name in _EVENT_COLUMNS}

        async def insert(conn: Conn) -> list[int]:
            ids = [
                row[0] for row in await fetch(conn, PG_ONLY["event_ids_next"], {"n": len(batch)})
            ]
            await execute(conn, PG_ONLY["event_insert_many"], {"i_events": ids, **columns})
            return ids

        return await self._transaction(insert)

    async def _insert_event(self, params: Mapping[str, Any]) -> int:
        row = await self._transaction(lambda conn: fetchrow(conn, Q["event_insert"], params))
        return int(row[0])

    async def idempotency_prune(self, not_before: int) -> int:
        return await self._run("idempotency_key_prune", {"not_before": not_before})

    async def transition_list(self, i_event: int) -> list[Transition]:
        return [
            rows.transition(r)
            for r in await self._fetchall("transition_list_for_event", {"i_event": i_event})
        ]

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
        params = event_filter_params(event_filter)
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

    async def due_backlog(self, now: int) -> tuple[int, int | None]:
        count, oldest = await self._fetchone("due_backlog", {"now": now})
        return int(count), (oldest if oldest is not None and oldest <= now else None)

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
                await _fan_out(conn, [row[0] for row in due], now)
            claimed = await fetch(
                conn, Q["delivery_claim_due"], {"node_id": node_id, "now": now, "limit": limit}
            )
            if not claimed:
                return []
            detail = await fetch(
                conn, Q["delivery_claimed_detail"], {"ids": [row[0] for row in claimed]}
            )
            deliveries = rows.claimed_deliveries([tuple(row) for row in detail])
            event_ids = {"ids": sorted({d.i_event for d in deliveries})}
            await execute(conn, Q["event_mark_in_flight"], event_ids)
            return deliveries

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
    ) -> list[HandlerHealth]:
        if not outcomes:
            return []
        updates, attempts = outcome_params(node_id, outcomes)
        reasons = outcome_reasons(outcomes)
        # Rows locked in one order by every writer cannot deadlock each other.
        updates.sort(key=lambda u: int(u["i_delivery"]))
        now = max(o.started_at for o in outcomes)
        batch = {"node_id": node_id} | {
            f"{column}s": [u[column] for u in updates] for column in _OUTCOME_COLUMNS
        }

        async def record(conn: Conn) -> list[HandlerHealth]:
            transitions: list[dict[str, Any]] = []
            finished: list[tuple[int, str | None]] = []
            touched: set[int] = set()
            # One statement for the whole batch: a round trip per outcome was
            # most of a dispatcher's time on PostgreSQL. Deliveries another
            # node took over meanwhile do not match and are left alone.
            recorded = await fetch(conn, PG_ONLY["delivery_record_outcomes"], batch)
            for row in recorded:
                touched.add(row[1])
                reason, at = reasons[row[0]]
                # row[4]: the state it got (a retry for a paused handler is held)
                transitions.append(transition_row(row[1], row[0], row[4], at, reason))
                if row[3] is not None and row[4] not in ("pending", "held"):
                    finished.append((row[2], row[3]))
            await executemany(conn, Q["attempt_insert"], attempts)
            await executemany(conn, Q["transition_insert"], transitions)
            touched |= await _promote_keys(conn, finished, now)
            await _refresh_events(conn, touched)
            return await _note_handler_health(conn, outcomes)

        return await self._transaction(record)

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
                await fetchrow(conn, Q["account_status_insert"], params)
            )
            await execute(
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
            rescued = [
                tuple(r)
                for r in await fetch(
                    conn, Q["delivery_rescue_orphans"], {"now": now, "cutoff": cutoff}
                )
            ]
            await executemany(conn, Q["attempt_insert"], interrupted_attempts(rescued, now))
            await executemany(conn, Q["transition_insert"], interrupted_transitions(rescued, now))
            await execute(conn, Q["node_delete_dead"], {"cutoff": cutoff})
            await _refresh_events(conn, {row[3] for row in rescued})
            return len(rescued)

        return await self._transaction(rescue)

    async def node_release(self, node_id: str, now: int) -> int:
        async def release(conn: Conn) -> int:
            released = await fetch(
                conn, Q["delivery_release_node"], {"node_id": node_id, "now": now}
            )
            await execute(conn, Q["node_delete"], {"node_id": node_id})
            await _refresh_events(conn, {row[0] for row in released})
            return len(released)

        return await self._transaction(release)

    # -- operator actions ---------------------------------------------------------------
    async def handler_set_paused(
        self, handler: Handler, paused: bool, reason: str, now: int, announce: NewEvent | None
    ) -> bool:
        async def pause(conn: Conn) -> int | None:
            changed = await execute(
                conn,
                Q["handler_set_paused"],
                {
                    "i_handler": handler.i_handler,
                    "paused": paused,
                    "paused_at": now if paused else None,
                    "reason": reason if paused else None,
                    "now": now,
                },
            )
            if not changed:
                return None
            if handler.enabled:
                waiting = "hold" if paused else "unhold"
                moved = await fetch(
                    conn, Q[f"delivery_{waiting}_for_handler"], {"i_handler": handler.i_handler}
                )
                state = "held" if paused else "pending"
                await executemany(
                    conn,
                    Q["transition_insert"],
                    [transition_row(row[1], row[0], state, now, reason) for row in moved],
                )
                await _refresh_events(conn, {row[1] for row in moved})
            if announce is None:
                return 0
            row = await fetchrow(conn, Q["event_insert"], new_event_params(announce, now))
            return int(row[0])

        announced = await self._transaction(pause)
        if announce is not None and announced:
            self._announcer.announce(announce.start_at)
        return announced is not None

    async def delivery_get(self, i_delivery: int, i_env: int | None) -> Delivery | None:
        row = await self._fetchone("delivery_get", {"i_delivery": i_delivery, "i_env": i_env})
        return rows.delivery(row, []) if row else None

    async def deliveries_reopen(self, ids: Sequence[int], now: int, reason: str) -> int:
        async def reopen(conn: Conn) -> int:
            reopened = await fetch(conn, Q["delivery_reopen"], {"ids": list(ids), "now": now})
            if not reopened:
                return 0
            transitions = [transition_row(r[1], r[0], "pending", now, reason) for r in reopened]
            ordered = [(r[2], r[3]) for r in reopened if r[3] is not None]
            if ordered:
                await _lock_keys(conn, ordered)
                queued = await fetch(
                    conn, Q["delivery_queue_behind_key"], {"ids": [r[0] for r in reopened]}
                )
                transitions += [
                    transition_row(r[1], r[0], "waiting", now, WAITING_REASON) for r in queued
                ]
            await executemany(conn, Q["transition_insert"], transitions)
            await _refresh_events(conn, {r[1] for r in reopened})
            return len(reopened)

        count = await self._transaction(reopen)
        if count:
            self._announcer.announce(now)
        return count

    async def deliveries_match(self, replay: ReplayFilter) -> list[int]:
        matched = await self._fetchall("delivery_match_for_replay", replay_params(replay))
        return [row[0] for row in matched]

    async def event_cancel(self, i_event: int, i_env: int, now: int, reason: str) -> int:
        key = {"i_event": i_event, "i_env": i_env, "now": now}

        async def cancel(conn: Conn) -> int:
            if await fetchrow(conn, Q["event_cancel_scheduled"], key):
                await execute(
                    conn,
                    Q["transition_insert"],
                    transition_row(i_event, None, "cancelled", now, reason),
                )
                return 1
            cancelled = await fetch(conn, Q["delivery_cancel_for_event"], key)
            await executemany(
                conn,
                Q["transition_insert"],
                [transition_row(i_event, r[0], "cancelled", now, reason) for r in cancelled],
            )
            await _promote_keys(conn, [(r[2], r[3]) for r in cancelled if r[3]], now)
            await _refresh_events(conn, {i_event})
            return len(cancelled)

        return await self._transaction(cancel)

    async def event_reschedule(
        self, i_event: int, i_env: int, start_at: int, now: int, reason: str
    ) -> bool:
        key = {"i_event": i_event, "i_env": i_env, "start_at": start_at}

        async def reschedule(conn: Conn) -> bool:
            if not await fetchrow(conn, Q["event_reschedule_scheduled"], key):
                unfinished, other = await fetchrow(
                    conn, Q["event_count_unfinished_deliveries"], key
                )
                if not unfinished or other:
                    return False
                await execute(conn, Q["event_reschedule_dispatched"], key)
                await execute(conn, Q["delivery_reschedule_for_event"], key)
            await execute(
                conn,
                Q["transition_insert"],
                transition_row(i_event, None, "rescheduled", now, reason),
            )
            return True

        moved = await self._transaction(reschedule)
        if moved:
            self._announcer.announce(start_at)
        return moved

    async def blocked_keys(self, i_env: int, handler: str | None) -> list[BlockedKey]:
        params = {"i_env": i_env, "handler": handler}
        return [rows.blocked_key(r) for r in await self._fetchall("delivery_blocked_keys", params)]

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

    # -- passwords, server keys, sessions, API tokens (migration 0004) -------------
    async def user_set_password(
        self, i_env: int, login: str, password_hash: str, weak_password: bool, now: int
    ) -> ApiUser | None:
        params = {
            "i_env": i_env,
            "login": login,
            "password_hash": password_hash,
            "weak_password": weak_password,
        }

        async def update(conn: Conn) -> ApiUser | None:
            row = await fetchrow(conn, Q["user_set_password"], params)
            if row is None:
                return None
            user = rows.api_user(row)
            await execute(conn, Q["sessions_revoke_for_user"], {"i_user": user.i_user, "now": now})
            return user

        return await self._transaction(update)

    async def server_key(self, purpose: str, candidate: bytes, now: int) -> bytes:
        params = {"purpose": purpose, "key": candidate, "now": now}

        async def get_or_insert(conn: Conn) -> bytes:
            # ON CONFLICT waits for a racing insert to commit, then skips:
            # the read below sees the winner's key.
            await execute(conn, Q["server_key_insert"], params)
            return bytes((await fetchrow(conn, Q["server_key_get"], params))[0])

        return await self._db.run(get_or_insert)

    async def session_create(
        self,
        session_id: str,
        i_user: int,
        i_api_token: int | None,
        refresh_hash: str,
        now: int,
        expires_at: int,
    ) -> None:
        params = {
            "session_id": session_id,
            "i_user": i_user,
            "i_api_token": i_api_token,
            "refresh_hash": refresh_hash,
            "now": now,
            "expires_at": expires_at,
        }

        async def insert(conn: Conn) -> None:
            await execute(conn, Q["sessions_prune_for_user"], params)
            await execute(conn, Q["session_insert"], params)

        await self._transaction(insert)

    async def session_get(self, session_id: str) -> StoredSession | None:
        row = await self._fetchone("session_get", {"session_id": session_id})
        return auth_rows.stored_session(tuple(row)) if row else None

    async def session_refresh(
        self, session_id: str, refresh_hash: str, new_refresh_hash: str, now: int, expires_at: int
    ) -> bool:
        params = {
            "session_id": session_id,
            "refresh_hash": refresh_hash,
            "new_refresh_hash": new_refresh_hash,
            "now": now,
            "expires_at": expires_at,
        }
        return await self._fetchone("session_refresh", params) is not None

    async def session_revoke(self, session_id: str, now: int) -> bool:
        params = {"session_id": session_id, "now": now}
        return await self._fetchone("session_revoke", params) is not None

    async def api_token_create(self, i_user: int, name: str, token_hash: str, now: int) -> int:
        params = {"i_user": i_user, "name": name, "token_hash": token_hash, "now": now}
        return int((await self._fetchone("api_token_insert", params))[0])

    async def api_token_list(self, i_env: int | None, login: str | None) -> list[ApiToken]:
        found = await self._fetchall("api_token_list", {"i_env": i_env, "login": login})
        return [auth_rows.api_token(tuple(r)) for r in found]

    async def api_token_find(self, token_hash: str, now: int) -> tuple[int, ApiUser] | None:
        row = await self._fetchone("api_token_find", {"token_hash": token_hash})
        if row is None:
            return None
        await self._run("api_token_used", {"i_api_token": row[0], "now": now})
        return int(row[0]), auth_rows.user_at(tuple(row), 1)

    async def api_token_delete(self, i_env: int, login: str, i_api_token: int) -> bool:
        params = {"i_env": i_env, "login": login, "i_api_token": i_api_token}
        return await self._fetchone("api_token_delete", params) is not None

    # -- the operator console (espf/web), see console_reads.py ------------------------
    async def console_event_list(
        self,
        event_filter: EventFilter,
        handler: str | None,
        start_from: int | None,
        start_to: int | None,
    ) -> list[Event]:
        return await console_reads.event_list(
            self._fetchall, event_filter, handler, start_from, start_to
        )

    async def console_event_counts(self, i_env: int, created_by: int | None) -> dict[str, int]:
        await self._db.run(lambda conn: execute(conn, PG_ONLY["console_fold_event_states"], {}))
        return await console_reads.event_counts(self._fetchall, i_env, created_by)

    async def console_due_soon(
        self, i_env: int, created_by: int | None, now: int
    ) -> tuple[int, int]:
        return await console_reads.due_soon(self._fetchall, i_env, created_by, now)

    async def console_attempt_buckets(
        self, i_env: int, since: int, until: int, bucket_ms: int
    ) -> list[tuple[int, str, int]]:
        fold = PG_ONLY["console_fold_attempt_minutes"]
        await self._db.run(lambda conn: execute(conn, fold, {}))
        return await console_reads.attempt_buckets(self._fetchall, i_env, since, until, bucket_ms)

    async def console_lateness(self, i_env: int, since: int, limit: int) -> list[int]:
        return await console_reads.lateness(self._fetchall, i_env, since, limit)

    async def console_handler_stats(self, i_env: int) -> dict[int, tuple[int, int | None]]:
        return await console_reads.handler_stats(self._fetchall, i_env)


_EVENT_COLUMNS = (
    "i_env",
    "i_event_type",
    "variables",
    "start_at",
    "coalesce_key",
    "created_by",
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


async def _lock_keys(conn: Conn, keys: Iterable[tuple[int, str | None]]) -> None:
    """Take the ordering keys' locks in one order, so that two transactions
    never wait for each other in a circle."""
    for i_handler, order_key in sorted({(h, k) for h, k in keys if k is not None}):
        await fetchrow(
            conn, PG_ONLY["ordering_key_lock"], {"i_handler": i_handler, "order_key": order_key}
        )


async def _fan_out(conn: Conn, event_ids: list[int], now: int) -> None:
    """Deliveries for due events, then ordering and "latest only" rules."""
    ids = {"ids": event_ids, "now": now}
    created = [tuple(r) for r in await fetch(conn, Q["delivery_fan_out"], ids)]
    unrouted = {row[0] for row in await fetch(conn, Q["event_mark_unrouted"], ids)}
    transitions = [
        transition_row(i_event, None, "unrouted", now, "no enabled handler is subscribed")
        for i_event in unrouted
    ]
    # Becoming due is in the delivery row (created_at); only a delivery that
    # does not go out at once says why here.
    transitions += [
        transition_row(r[1], r[0], "held", now, HELD_REASON) for r in created if r[3] == "held"
    ]
    new_ids = {"ids": [r[0] for r in created], "now": now}
    ordered = [(r[2], r[5]) for r in created if r[5] is not None]
    if ordered:
        await _lock_keys(conn, ordered)
        for i_delivery, i_event in await fetch(conn, Q["delivery_queue_behind_key"], new_ids):
            transitions.append(transition_row(i_event, i_delivery, "waiting", now, WAITING_REASON))
    # Events just taken are 'pending' already; only supersession changes more.
    touched: set[int] = set()
    if any(r[4] is not None for r in created):
        superseded = await fetch(conn, Q["delivery_supersede_older"], new_ids)
        transitions += [
            transition_row(r[1], r[0], "superseded", now, SUPERSEDED_REASON) for r in superseded
        ]
        touched |= {r[1] for r in superseded}
        touched |= await _promote_keys(conn, [(r[2], r[3]) for r in superseded if r[3]], now)
    await executemany(conn, Q["transition_insert"], transitions)
    await _refresh_events(conn, touched)


async def _promote_keys(conn: Conn, finished: list[tuple[int, str | None]], now: int) -> set[int]:
    """After a key's head is finished, let the next waiting delivery of the key go."""
    keys = sorted({(h, k) for h, k in finished if k is not None})
    await _lock_keys(conn, keys)
    touched: set[int] = set()
    for i_handler, order_key in keys:
        row = await fetchrow(
            conn,
            Q["delivery_promote_next_of_key"],
            {"i_handler": i_handler, "order_key": order_key, "now": now},
        )
        if row is not None:
            await execute(
                conn,
                Q["transition_insert"],
                transition_row(row[1], row[0], "pending", now, PROMOTED_REASON),
            )
            touched.add(row[1])
    return touched


async def _refresh_events(conn: Conn, event_ids: set[int]) -> None:
    if event_ids:
        await execute(conn, Q["event_refresh_state"], {"ids": sorted(event_ids)})


async def _note_handler_health(
    conn: Conn, outcomes: Sequence[AttemptOutcome]
) -> list[HandlerHealth]:
    """Track how long each handler has been failing, for automatic pause."""
    answered, failing = split_by_health(outcomes)
    for i_handler in sorted(answered):
        await execute(conn, Q["handler_note_success"], {"i_handler": i_handler})
    health = []
    for i_handler, first_failure in sorted(failing.items()):
        row = await fetchrow(
            conn, Q["handler_note_failure"], {"i_handler": i_handler, "at": first_failure}
        )
        if row is not None:
            health.append(rows.handler_health(tuple(row)))
    return health
