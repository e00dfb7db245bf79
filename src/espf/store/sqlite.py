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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

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
from espf.errors import Conflict
from espf.standard_types import BUILTIN_EVENT_TYPES, FIRST_CUSTOM_ID
from espf.store import rows
from espf.store.params import (
    handler_params,
    interrupted_attempts,
    outcome_params,
    settings_of,
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
        self, i_env: int, login: str, password_hash: str, role: Role, now: int
    ) -> ApiUser:
        params = {
            "i_env": i_env,
            "login": login,
            "password_hash": password_hash,
            "role": role.value,
            "now": now,
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

    async def subscription_add(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        return await self._write(lambda c: c.execute(Q["subscription_insert"], params).rowcount > 0)

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
        params = {
            "i_env": event.i_env,
            "i_event_type": event.i_event_type,
            "variables": event.variables_json,
            "start_at": event.start_at,
            "now": now,
        }
        return await self._write(lambda c: int(c.execute(Q["event_insert"], params).fetchone()[0]))

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

    # -- dispatching ------------------------------------------------------------------------
    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        def dispatch(conn: sqlite3.Connection) -> list[ClaimedDelivery]:
            due = conn.execute(Q["event_take_due"], {"now": now, "limit": limit}).fetchall()
            if due:
                ids = orjson.dumps([row[0] for row in due]).decode()
                conn.execute(Q["delivery_fan_out"], {"ids": ids})
                conn.execute(Q["event_mark_unrouted"], {"ids": ids})
            claimed = conn.execute(
                Q["delivery_claim_due"], {"node_id": node_id, "now": now, "limit": limit}
            ).fetchall()
            if not claimed:
                return []
            ids = orjson.dumps([row[0] for row in claimed]).decode()
            detail = conn.execute(Q["delivery_claimed_detail"], {"ids": ids}).fetchall()
            return [rows.claimed_delivery(row) for row in detail]

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
    ) -> None:
        updates, attempts = outcome_params(node_id, outcomes)

        def record(conn: sqlite3.Connection) -> None:
            conn.executemany(Q["delivery_record_outcome"], updates)
            conn.executemany(Q["attempt_insert"], attempts)

        await self._write(record)

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
            conn.execute(Q["node_delete_dead"], {"cutoff": cutoff})
            return len(rescued)

        return await self._write(rescue)

    async def node_release(self, node_id: str, now: int) -> int:
        def release(conn: sqlite3.Connection) -> int:
            count = conn.execute(
                Q["delivery_release_node"], {"node_id": node_id, "now": now}
            ).rowcount
            conn.execute(Q["node_delete"], {"node_id": node_id})
            return int(count)

        return await self._write(release)

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
