"""The embedded SQLite store.

Durability: WAL journal with ``synchronous=FULL``, so a commit has reached the
disk before ``event_insert`` returns. Writes are serialised through one
group-commit thread (``sqlite_writer.py``); reads use their own connections on
a small thread pool, which WAL lets run beside the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

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
from espf.errors import Conflict, NotFound
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
from espf.store.sql_loader import load_migrations, load_queries
from espf.store.sqlite_writer import GroupCommitWriter

T = TypeVar("T")
Q = load_queries("sqlite")

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS espf_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
)"""


def sqlite_path_from_url(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or a plain path."""
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        return rest[1:] if rest.startswith("/") else rest
    return url


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Other processes (the CLI beside a running service) write too: wait for
    # them rather than fail with "database is locked".
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _is_foreign_key_error(exc: sqlite3.IntegrityError) -> bool:
    return "FOREIGN KEY" in str(exc)


def _conflict(exc: sqlite3.IntegrityError, message: str) -> Conflict:
    return (
        Conflict(message)
        if "UNIQUE" in str(exc) or "PRIMARY" in str(exc)
        else Conflict(f"{message} ({exc})")
    )


class SqliteStore:
    backend = "sqlite"

    def __init__(self, url: str) -> None:
        self.path = sqlite_path_from_url(url)
        self._writer: GroupCommitWriter | None = None
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="espf-sqlite-read")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        # One writer thread: two batches in flight, one committing, one gathering.
        self._inserter = BatchInserter(self._insert_events, self._insert_event, max_in_flight=2)

    # -- plumbing ------------------------------------------------------------
    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = GroupCommitWriter(lambda: connect(self.path))
        self._writer.start()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        self._readers.shutdown(wait=True)
        for conn in self._reader_conns:
            conn.close()

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._writer is not None, "store is not open"
        result: T = await self._writer.submit(fn)
        return result

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            self._reader_conns.append(conn)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: fn(self._reader()))

    async def _fetchall(self, query: str, params: dict[str, Any]) -> list[Any]:
        return await self._read(lambda c: c.execute(Q[query], params).fetchall())

    async def _fetchone(self, query: str, params: dict[str, Any]) -> Any:
        return await self._read(lambda c: c.execute(Q[query], params).fetchone())

    # -- schema ----------------------------------------------------------------
    async def migrate(self) -> list[int]:
        def apply(conn: sqlite3.Connection) -> list[int]:
            conn.execute(_MIGRATIONS_TABLE)
            done = {row[0] for row in conn.execute("SELECT version FROM espf_migrations")}
            applied = []
            for version, name, sql in load_migrations("sqlite"):
                if version in done:
                    continue
                # executescript would commit our transaction first; run the
                # statements one by one so a migration applies whole or not at all.
                for statement in _split_statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO espf_migrations (version, name) VALUES (?, ?)", (version, name)
                )
                applied.append(version)
            return applied

        return await self._write(apply)

    async def schema_version(self) -> int:
        def read(conn: sqlite3.Connection) -> int:
            try:
                row = conn.execute("SELECT max(version) FROM espf_migrations").fetchone()
            except sqlite3.OperationalError:
                return 0
            return int(row[0] or 0)

        return await self._read(read)

    async def ensure_builtin_event_types(self, now: int) -> None:
        params = [{"i_event_type": i, "name": n, "now": now} for i, n in BUILTIN_EVENT_TYPES]
        await self._write(lambda c: c.executemany(Q["event_type_insert_builtin"], params))

    # -- environments and users ---------------------------------------------------
    async def env_create(self, i_env: int | None, name: str, now: int) -> Environment:
        def insert(conn: sqlite3.Connection) -> Environment:
            try:
                row = conn.execute(
                    Q["env_insert"], {"i_env": i_env, "name": name, "now": now}
                ).fetchone()
            except sqlite3.IntegrityError as exc:
                raise _conflict(exc, f"environment {i_env or name!r} already exists") from None
            return rows.environment(row)

        return await self._write(insert)

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

        def insert(conn: sqlite3.Connection) -> ApiUser:
            try:
                return rows.api_user(conn.execute(Q["user_insert"], params).fetchone())
            except sqlite3.IntegrityError as exc:
                raise _conflict(exc, f"user {login!r} already exists") from None

        return await self._write(insert)

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
        return await self._write(
            lambda c: c.execute(Q["user_delete"], params).fetchone() is not None
        )

    async def user_set_role(self, i_env: int, login: str, role: Role) -> ApiUser | None:
        params = {"i_env": i_env, "login": login, "role": role.value}

        def update(conn: sqlite3.Connection) -> ApiUser | None:
            row = conn.execute(Q["user_set_role"], params).fetchone()
            return rows.api_user(row) if row else None

        return await self._write(update)

    # -- event types ----------------------------------------------------------------
    async def event_type_create_custom(self, name: str, now: int) -> EventType:
        def insert(conn: sqlite3.Connection) -> EventType:
            next_id = conn.execute(
                Q["event_type_next_custom_id"], {"first_custom_id": FIRST_CUSTOM_ID}
            ).fetchone()[0]
            try:
                row = conn.execute(
                    Q["event_type_insert_custom"],
                    {"i_event_type": next_id, "name": name, "now": now},
                ).fetchone()
            except sqlite3.IntegrityError as exc:
                raise _conflict(exc, f"event type {name!r} already exists") from None
            return rows.event_type(row)

        return await self._write(insert)

    async def event_type_get_by_name(self, name: str) -> EventType | None:
        row = await self._fetchone("event_type_get_by_name", {"name": name})
        return rows.event_type(row) if row else None

    async def event_type_list(self) -> list[EventType]:
        return [rows.event_type(r) for r in await self._fetchall("event_type_list", {})]

    async def event_type_delete(self, i_event_type: int, now: int) -> bool:
        key = {"i_event_type": i_event_type}

        def delete(conn: sqlite3.Connection) -> bool:
            try:
                row = conn.execute(Q["event_type_delete_unused"], key).fetchone()
            except sqlite3.IntegrityError as exc:
                if _is_foreign_key_error(exc):
                    return False  # events of this type exist
                raise
            if row is None:
                return False
            conn.execute(Q["event_type_retire"], {**key, "name": row[1], "now": now})
            return True

        return await self._write(delete)

    async def event_type_usage(self, i_event_type: int, i_env: int) -> EventTypeUsage:
        key = {"i_event_type": i_event_type, "i_env": i_env}

        def read(conn: sqlite3.Connection) -> EventTypeUsage:
            subscribers = conn.execute(Q["event_type_subscribers"], key).fetchall()
            here, elsewhere = conn.execute(Q["event_type_event_counts"], key).fetchone()
            return rows.event_type_usage(subscribers, here, elsewhere, i_env)

        return await self._read(read)

    # -- handlers and subscriptions --------------------------------------------------
    async def handler_create(
        self, i_env: int, name: str, settings: HandlerSettings, now: int
    ) -> Handler:
        params = handler_params(settings)
        params.update({"i_env": i_env, "name": name, "now": now})

        def insert(conn: sqlite3.Connection) -> Handler:
            try:
                conn.execute(Q["handler_insert"], params)
            except sqlite3.IntegrityError as exc:
                raise _conflict(
                    exc, f"handler {name!r} already exists in environment {i_env}"
                ) from None
            return rows.handler(conn.execute(Q["handler_get"], params).fetchone())

        return await self._write(insert)

    async def handler_update(self, handler: Handler, now: int) -> Handler:
        params = handler_params(settings_of(handler))
        params.update({"i_handler": handler.i_handler, "now": now})
        key = {"i_handler": handler.i_handler}

        def update(conn: sqlite3.Connection) -> Handler:
            conn.execute(Q["handler_update"], params)
            conn.execute(
                Q[
                    "delivery_unhold_for_handler"
                    if handler.enabled
                    else "delivery_hold_for_handler"
                ],
                key,
            )
            return rows.handler(
                conn.execute(
                    Q["handler_get"], {"i_env": handler.i_env, "name": handler.name}
                ).fetchone()
            )

        return await self._write(update)

    async def handler_get(self, i_env: int, name: str) -> Handler | None:
        row = await self._fetchone("handler_get", {"i_env": i_env, "name": name})
        return rows.handler(row) if row else None

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        return [rows.handler(r) for r in await self._fetchall("handler_list", {"i_env": i_env})]

    async def handler_delete(self, handler: Handler, now: int) -> int:
        key = {"i_handler": handler.i_handler}

        def delete(conn: sqlite3.Connection) -> int:
            unfinished = int(conn.execute(Q["handler_count_unfinished"], key).fetchone()[0])
            if unfinished:
                return unfinished
            conn.execute(Q["subscription_delete_all"], key)
            conn.execute(
                Q["handler_mark_deleted"],
                {**key, "now": now, "deleted_name": deleted_handler_name(handler)},
            )
            return 0

        return await self._write(delete)

    async def subscription_add(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}

        def insert(conn: sqlite3.Connection) -> bool:
            try:
                return bool(conn.execute(Q["subscription_insert"], params).rowcount > 0)
            except sqlite3.IntegrityError as exc:
                if _is_foreign_key_error(exc):
                    raise _type_gone() from None
                raise

        return await self._write(insert)

    async def subscription_remove(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        return await self._write(lambda c: c.execute(Q["subscription_delete"], params).rowcount > 0)

    async def subscription_add_all(self, i_handler: int) -> int:
        params = {"i_handler": i_handler}
        return await self._write(lambda c: c.execute(Q["subscription_insert_all"], params).rowcount)

    async def subscription_list(self, i_handler: int) -> list[str]:
        return [r[0] for r in await self._fetchall("subscription_list", {"i_handler": i_handler})]

    # -- events ------------------------------------------------------------------------
    async def event_insert(self, event: NewEvent, now: int) -> int:
        params = new_event_params(event, now)
        idem = event.idempotency
        if idem is None:
            return await self._inserter.insert(params)

        def insert(conn: sqlite3.Connection) -> int:
            key = {"i_env": event.i_env, "key": idem.key, "not_before": idem.not_before}
            seen = conn.execute(Q["idempotency_key_get"], key).fetchone()
            if seen is not None:
                return idempotent_repeat(idem, seen[0], seen[1])
            i_event = _insert_one(conn, params)
            conn.execute(Q["idempotency_key_put"], idempotency_key_params(event, i_event, now))
            return i_event

        return await self._write(insert)

    async def _insert_events(self, batch: Sequence[Mapping[str, Any]]) -> list[int]:
        def insert(conn: sqlite3.Connection) -> list[int]:
            query = Q["event_insert"]
            return [int(conn.execute(query, params).fetchone()[0]) for params in batch]

        return await self._write(insert)

    async def _insert_event(self, params: Mapping[str, Any]) -> int:
        return await self._write(lambda conn: _insert_one(conn, params))

    async def idempotency_prune(self, not_before: int) -> int:
        return await self._write(
            lambda c: c.execute(Q["idempotency_key_prune"], {"not_before": not_before}).rowcount
        )

    async def transition_list(self, i_event: int) -> list[Transition]:
        return [
            rows.transition(r)
            for r in await self._fetchall("transition_list_for_event", {"i_event": i_event})
        ]

    async def event_get(self, i_event: int, i_env: int | None) -> Event | None:
        row = await self._fetchone("event_get", {"i_event": i_event, "i_env": i_env})
        return rows.event(row) if row else None

    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        params = event_filter_params(event_filter)
        return [rows.event(r) for r in await self._fetchall("event_list", params)]

    async def event_count_by_state(self) -> dict[str, int]:
        return dict(await self._fetchall("event_count_by_state", {}))

    async def delivery_list_for_event(self, i_event: int) -> list[Delivery]:
        def read(conn: sqlite3.Connection) -> list[Delivery]:
            key = {"i_event": i_event}
            delivery_rows = conn.execute(Q["delivery_list_for_event"], key).fetchall()
            attempt_rows = conn.execute(Q["attempt_list_for_event"], key).fetchall()
            return rows.deliveries_with_attempts(delivery_rows, attempt_rows)

        return await self._read(read)

    async def delivery_count_by_state(self) -> dict[str, int]:
        return dict(await self._fetchall("delivery_count_by_state", {}))

    async def due_backlog(self, now: int) -> tuple[int, int | None]:
        count, oldest = await self._fetchone("due_backlog", {"now": now})
        return int(count), (oldest if oldest is not None and oldest <= now else None)

    # -- dispatching ------------------------------------------------------------------------
    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        def dispatch(conn: sqlite3.Connection) -> list[ClaimedDelivery]:
            due = conn.execute(Q["event_take_due"], {"now": now, "limit": limit}).fetchall()
            if due:
                _fan_out(conn, [row[0] for row in due], now)
            claimed = conn.execute(
                Q["delivery_claim_due"], {"node_id": node_id, "now": now, "limit": limit}
            ).fetchall()
            if not claimed:
                return []
            ids = _json_ids(row[0] for row in claimed)
            detail = conn.execute(Q["delivery_claimed_detail"], {"ids": ids}).fetchall()
            deliveries = rows.claimed_deliveries(detail)
            event_ids = _json_ids({d.i_event for d in deliveries})
            conn.execute(Q["event_mark_in_flight"], {"ids": event_ids})
            return deliveries

        return await self._write(dispatch)

    async def listen_for_due(self, callback: Callable[[int], None]) -> None:
        # One file, so usually one process: Service.event_listeners wakes the
        # dispatcher in-process, and the poll covers a CLI writing beside it.
        return None

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

        def record(conn: sqlite3.Connection) -> list[HandlerHealth]:
            transitions: list[dict[str, Any]] = []
            finished: list[tuple[int, str | None]] = []
            touched: set[int] = set()
            for params in updates:
                row = conn.execute(Q["delivery_record_outcome"], params).fetchone()
                if row is None:
                    continue  # another node took it over meanwhile
                touched.add(row[1])
                reason, at = reasons[row[0]]
                # row[4]: the state it got (a retry for a paused handler is held)
                transitions.append(transition_row(row[1], row[0], row[4], at, reason))
                if row[3] is not None and row[4] not in ("pending", "held"):
                    finished.append((row[2], row[3]))
            conn.executemany(Q["attempt_insert"], attempts)
            conn.executemany(Q["transition_insert"], transitions)
            touched |= _promote_keys(conn, finished, now=max(o.started_at for o in outcomes))
            _refresh_events(conn, touched)
            return _note_handler_health(conn, outcomes)

        return await self._write(record)

    async def node_heartbeat(self, node_id: str, hostname: str, pid: int, now: int) -> None:
        params = {"node_id": node_id, "hostname": hostname, "pid": pid, "now": now}
        await self._write(lambda c: c.execute(Q["node_upsert"], params))

    async def node_list(self) -> list[tuple[str, str, int, int]]:
        return [tuple(r) for r in await self._fetchall("node_list", {})]

    async def node_mark_dead(self, node_id: str) -> None:
        await self._write(lambda c: c.execute(Q["node_mark_dead"], {"node_id": node_id}))

    async def node_rescue_orphans(self, now: int, cutoff: int) -> int:
        def rescue(conn: sqlite3.Connection) -> int:
            rescued = conn.execute(
                Q["delivery_rescue_orphans"], {"now": now, "cutoff": cutoff}
            ).fetchall()
            conn.executemany(Q["attempt_insert"], interrupted_attempts(rescued, now))
            conn.executemany(Q["transition_insert"], interrupted_transitions(rescued, now))
            conn.execute(Q["node_delete_dead"], {"cutoff": cutoff})
            _refresh_events(conn, {row[3] for row in rescued})
            return len(rescued)

        return await self._write(rescue)

    async def node_release(self, node_id: str, now: int) -> int:
        def release(conn: sqlite3.Connection) -> int:
            released = conn.execute(
                Q["delivery_release_node"], {"node_id": node_id, "now": now}
            ).fetchall()
            conn.execute(Q["node_delete"], {"node_id": node_id})
            _refresh_events(conn, {row[0] for row in released})
            return len(released)

        return await self._write(release)

    # -- operator actions ---------------------------------------------------------------
    async def handler_set_paused(
        self, handler: Handler, paused: bool, reason: str, now: int, announce: NewEvent | None
    ) -> bool:
        def pause(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                Q["handler_set_paused"],
                {
                    "i_handler": handler.i_handler,
                    "paused": paused,
                    "paused_at": now if paused else None,
                    "reason": reason if paused else None,
                    "now": now,
                },
            ).rowcount
            if not changed:
                return False
            if handler.enabled:
                waiting = "hold" if paused else "unhold"
                moved = conn.execute(
                    Q[f"delivery_{waiting}_for_handler"], {"i_handler": handler.i_handler}
                ).fetchall()
                state = "held" if paused else "pending"
                conn.executemany(
                    Q["transition_insert"],
                    [transition_row(row[1], row[0], state, now, reason) for row in moved],
                )
                _refresh_events(conn, {row[1] for row in moved})
            if announce is not None:
                conn.execute(Q["event_insert"], new_event_params(announce, now))
            return True

        return await self._write(pause)

    async def delivery_get(self, i_delivery: int, i_env: int | None) -> Delivery | None:
        row = await self._fetchone("delivery_get", {"i_delivery": i_delivery, "i_env": i_env})
        return rows.delivery(row, []) if row else None

    async def deliveries_reopen(self, ids: Sequence[int], now: int, reason: str) -> int:
        def reopen(conn: sqlite3.Connection) -> int:
            return _reopen(conn, list(ids), now, reason)

        return await self._write(reopen)

    async def deliveries_match(self, replay: ReplayFilter) -> list[int]:
        return [
            r[0] for r in await self._fetchall("delivery_match_for_replay", replay_params(replay))
        ]

    async def event_cancel(self, i_event: int, i_env: int, now: int, reason: str) -> int:
        def cancel(conn: sqlite3.Connection) -> int:
            key = {"i_event": i_event, "i_env": i_env, "now": now}
            if conn.execute(Q["event_cancel_scheduled"], key).fetchone():
                conn.execute(
                    Q["transition_insert"],
                    transition_row(i_event, None, "cancelled", now, reason),
                )
                return 1
            cancelled = conn.execute(Q["delivery_cancel_for_event"], key).fetchall()
            conn.executemany(
                Q["transition_insert"],
                [transition_row(i_event, row[0], "cancelled", now, reason) for row in cancelled],
            )
            _promote_keys(conn, [(row[2], row[3]) for row in cancelled if row[3]], now)
            _refresh_events(conn, {i_event})
            return len(cancelled)

        return await self._write(cancel)

    async def event_reschedule(
        self, i_event: int, i_env: int, start_at: int, now: int, reason: str
    ) -> bool:
        def reschedule(conn: sqlite3.Connection) -> bool:
            key = {"i_event": i_event, "i_env": i_env, "start_at": start_at}
            if not conn.execute(Q["event_reschedule_scheduled"], key).fetchone():
                unfinished, other = conn.execute(
                    Q["event_count_unfinished_deliveries"], key
                ).fetchone()
                if not unfinished or other:
                    return False
                conn.execute(Q["event_reschedule_dispatched"], key)
                conn.execute(Q["delivery_reschedule_for_event"], key)
            conn.execute(
                Q["transition_insert"],
                transition_row(i_event, None, "rescheduled", now, reason),
            )
            return True

        return await self._write(reschedule)

    async def blocked_keys(self, i_env: int, handler: str | None) -> list[BlockedKey]:
        params = {"i_env": i_env, "handler": handler}
        return [rows.blocked_key(r) for r in await self._fetchall("delivery_blocked_keys", params)]

    # -- copying a whole database ------------------------------------------------------------
    async def copy_row_counts(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in await self._fetchall("copy_row_counts", {})}

    async def copy_read(self, table: str, after: int, limit: int) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = conn.execute(Q[f"copy_read_{table}"], {"after": after, "limit": limit})
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

        return await self._read(read)

    async def copy_write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        query = Q[f"copy_write_{table}"]
        await self._write(lambda c: c.executemany(query, rows))

    async def copy_finish(self) -> None:
        # An INTEGER PRIMARY KEY continues from max(id) + 1 by itself.
        return None

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

        def report(conn: sqlite3.Connection) -> AccountStatusChange:
            change = rows.account_status_change(
                conn.execute(Q["account_status_insert"], params).fetchone()
            )
            conn.execute(
                Q["account_status_set_current"],
                params | {"i_status_change": change.i_status_change},
            )
            return change

        return await self._write(report)

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

        def update(conn: sqlite3.Connection) -> ApiUser | None:
            row = conn.execute(Q["user_set_password"], params).fetchone()
            if row is None:
                return None
            user = rows.api_user(row)
            conn.execute(Q["sessions_revoke_for_user"], {"i_user": user.i_user, "now": now})
            return user

        return await self._write(update)

    async def server_key(self, purpose: str, candidate: bytes, now: int) -> bytes:
        params = {"purpose": purpose, "key": candidate, "now": now}

        def get_or_insert(conn: sqlite3.Connection) -> bytes:
            conn.execute(Q["server_key_insert"], params)
            return bytes(conn.execute(Q["server_key_get"], params).fetchone()[0])

        return await self._write(get_or_insert)

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

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(Q["sessions_prune_for_user"], params)
            conn.execute(Q["session_insert"], params)

        await self._write(insert)

    async def session_get(self, session_id: str) -> StoredSession | None:
        row = await self._fetchone("session_get", {"session_id": session_id})
        return auth_rows.stored_session(row) if row else None

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
        return await self._write(
            lambda c: c.execute(Q["session_refresh"], params).fetchone() is not None
        )

    async def session_revoke(self, session_id: str, now: int) -> bool:
        params = {"session_id": session_id, "now": now}
        return await self._write(
            lambda c: c.execute(Q["session_revoke"], params).fetchone() is not None
        )

    async def api_token_create(self, i_user: int, name: str, token_hash: str, now: int) -> int:
        params = {"i_user": i_user, "name": name, "token_hash": token_hash, "now": now}
        return await self._write(
            lambda c: int(c.execute(Q["api_token_insert"], params).fetchone()[0])
        )

    async def api_token_list(self, i_env: int | None, login: str | None) -> list[ApiToken]:
        found = await self._fetchall("api_token_list", {"i_env": i_env, "login": login})
        return [auth_rows.api_token(r) for r in found]

    async def api_token_find(self, token_hash: str, now: int) -> tuple[int, ApiUser] | None:
        def find(conn: sqlite3.Connection) -> tuple[int, ApiUser] | None:
            row = conn.execute(Q["api_token_find"], {"token_hash": token_hash}).fetchone()
            if row is None:
                return None
            conn.execute(Q["api_token_used"], {"i_api_token": row[0], "now": now})
            return int(row[0]), auth_rows.user_at(row, 1)

        return await self._write(find)

    async def api_token_delete(self, i_env: int, login: str, i_api_token: int) -> bool:
        params = {"i_env": i_env, "login": login, "i_api_token": i_api_token}
        return await self._write(
            lambda c: c.execute(Q["api_token_delete"], params).fetchone() is not None
        )

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
        return await console_reads.event_counts(self._fetchall, i_env, created_by)

    async def console_due_soon(
        self, i_env: int, created_by: int | None, now: int
    ) -> tuple[int, int]:
        return await console_reads.due_soon(self._fetchall, i_env, created_by, now)

    async def console_attempt_buckets(
        self, i_env: int, since: int, until: int, bucket_ms: int
    ) -> list[tuple[int, str, int]]:
        return await console_reads.attempt_buckets(self._fetchall, i_env, since, until, bucket_ms)

    async def console_lateness(self, i_env: int, since: int, limit: int) -> list[int]:
        return await console_reads.lateness(self._fetchall, i_env, since, limit)

    async def console_handler_stats(self, i_env: int) -> dict[int, tuple[int, int | None]]:
        return await console_reads.handler_stats(self._fetchall, i_env)


def _type_gone() -> NotFound:
    # Another process deleted the type (or handler) after it was looked up.
    return NotFound(
        "the event type or handler no longer exists; it was just deleted",
        code="unknown_event_type",
    )


def _insert_one(conn: sqlite3.Connection, params: Mapping[str, Any]) -> int:
    try:
        return int(conn.execute(Q["event_insert"], params).fetchone()[0])
    except sqlite3.IntegrityError as exc:
        if _is_foreign_key_error(exc):
            raise _type_gone() from None
        raise


def _json_ids(ids: Iterable[int]) -> str:
    return orjson.dumps(list(ids)).decode()


def _fan_out(conn: sqlite3.Connection, event_ids: list[int], now: int) -> None:
    """Deliveries for due events, then ordering and "latest only" rules."""
    ids = _json_ids(event_ids)
    created = conn.execute(Q["delivery_fan_out"], {"ids": ids, "now": now}).fetchall()
    unrouted = {row[0] for row in conn.execute(Q["event_mark_unrouted"], {"ids": ids})}
    transitions = [
        transition_row(i_event, None, "unrouted", now, "no enabled handler is subscribed")
        for i_event in unrouted
    ]
    # Becoming due is in the delivery row (created_at); only a delivery that
    # does not go out at once says why here.
    transitions += [
        transition_row(r[1], r[0], "held", now, HELD_REASON) for r in created if r[3] == "held"
    ]
    new_ids = _json_ids(r[0] for r in created)
    if any(r[5] is not None for r in created):
        for i_delivery, i_event in conn.execute(Q["delivery_queue_behind_key"], {"ids": new_ids}):
            transitions.append(transition_row(i_event, i_delivery, "waiting", now, WAITING_REASON))
    # Events just taken are 'pending' already; only supersession changes more.
    touched: set[int] = set()
    if any(r[4] is not None for r in created):
        superseded = conn.execute(
            Q["delivery_supersede_older"], {"ids": new_ids, "now": now}
        ).fetchall()
        transitions += [
            transition_row(r[1], r[0], "superseded", now, SUPERSEDED_REASON) for r in superseded
        ]
        touched |= {r[1] for r in superseded}
        touched |= _promote_keys(conn, [(r[2], r[3]) for r in superseded if r[3]], now)
    conn.executemany(Q["transition_insert"], transitions)
    _refresh_events(conn, touched)


def _promote_keys(
    conn: sqlite3.Connection, finished: list[tuple[int, str | None]], now: int
) -> set[int]:
    """After a key's head is finished, let the next waiting delivery of the key go."""
    touched: set[int] = set()
    for i_handler, order_key in set(finished):
        if order_key is None:
            continue
        row = conn.execute(
            Q["delivery_promote_next_of_key"],
            {"i_handler": i_handler, "order_key": order_key, "now": now},
        ).fetchone()
        if row is not None:
            conn.execute(
                Q["transition_insert"],
                transition_row(row[1], row[0], "pending", now, PROMOTED_REASON),
            )
            touched.add(row[1])
    return touched


def _reopen(conn: sqlite3.Connection, ids: list[int], now: int, reason: str) -> int:
    reopened = conn.execute(Q["delivery_reopen"], {"ids": _json_ids(ids), "now": now}).fetchall()
    if not reopened:
        return 0
    transitions = [transition_row(r[1], r[0], "pending", now, reason) for r in reopened]
    if any(r[3] is not None for r in reopened):
        queued = conn.execute(
            Q["delivery_queue_behind_key"], {"ids": _json_ids(r[0] for r in reopened)}
        ).fetchall()
        transitions += [transition_row(r[1], r[0], "waiting", now, WAITING_REASON) for r in queued]
    conn.executemany(Q["transition_insert"], transitions)
    _refresh_events(conn, {r[1] for r in reopened})
    return len(reopened)


def _refresh_events(conn: sqlite3.Connection, event_ids: set[int]) -> None:
    if event_ids:
        conn.execute(Q["event_refresh_state"], {"ids": _json_ids(event_ids)})


def _note_handler_health(
    conn: sqlite3.Connection, outcomes: Sequence[AttemptOutcome]
) -> list[HandlerHealth]:
    """Track how long each handler has been failing, for automatic pause."""
    answered, failing = split_by_health(outcomes)
    for i_handler in answered:
        conn.execute(Q["handler_note_success"], {"i_handler": i_handler})
    health = []
    for i_handler, first_failure in failing.items():
        row = conn.execute(
            Q["handler_note_failure"], {"i_handler": i_handler, "at": first_failure}
        ).fetchone()
        if row is not None:
            health.append(rows.handler_health(row))
    return health


def _split_statements(sql: str) -> list[str]:
    """Split a migration into statements; sqlite3.complete_statement knows
    where a statement ends, including semicolons inside triggers and strings."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in current.splitlines()
    ):
        raise ValueError(f"incomplete statement at the end of a migration: {current[:80]!r}")
    return statements
