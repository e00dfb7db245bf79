"""The embedded SQLite store.

Durability: WAL journal with ``synchronous=FULL``, so a commit has reached the
disk before ``event_insert`` returns. Writes are serialised through one
group-commit thread (``sqlite_writer.py``): a plan (plan.py) runs there
synchronously, inside the group's transaction. Reads use their own
connections on a small thread pool, which WAL lets run beside the writer.

The operations themselves are written once, in sql_store.py and the plans;
this module says how a step runs on ``sqlite3``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import orjson

from espf.store.batch_insert import BatchInserter
from espf.store.plan import IntegrityFailure, Plan, Step, row
from espf.store.sql_loader import load_migrations, load_queries
from espf.store.sql_store import SqlStore
from espf.store.sqlite_writer import GroupCommitWriter
from espf.store.storage_full import StorageWatch, sqlite_full_cause

P = ParamSpec("P")
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


def _integrity_failure(exc: sqlite3.IntegrityError) -> IntegrityFailure:
    text = str(exc)
    if "FOREIGN KEY" in text:
        return IntegrityFailure("foreign_key", text)
    if "UNIQUE" in text or "PRIMARY" in text:
        return IntegrityFailure("unique", text)
    return IntegrityFailure("other", text)


def _bind(params: Any) -> Any:
    # SQLite binds no lists: a list of ids goes in as JSON, for json_each(:ids).
    if "ids" in params:
        return {**params, "ids": orjson.dumps(list(params["ids"])).decode()}
    return params


def run_plan(conn: sqlite3.Connection, plan: Plan[T]) -> T:
    """Run ``plan`` to its end on ``conn``, in the caller's transaction."""
    answer: Any = None
    try:
        while True:
            step: Step = plan.send(answer)
            kind = step.kind
            if kind == "lock":
                answer = None  # one writer thread: nothing to serialise
            elif kind == "run_many":
                answer = conn.executemany(Q[step.query], step.params)
            else:
                cursor = conn.execute(Q[step.query], _bind(step.params))
                if kind == "rows":
                    answer = cursor.fetchall()
                elif kind == "row":
                    answer = cursor.fetchone()
                else:
                    answer = cursor.rowcount
    except StopIteration as done:
        result: T = done.value
        return result


class SqliteStore(SqlStore):
    backend = "sqlite"

    def __init__(self, url: str) -> None:
        self.path = sqlite_path_from_url(url)
        self._writer: GroupCommitWriter | None = None
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="espf-sqlite-read")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        # One writer thread: two batches in flight, one committing, one gathering.
        self._inserter = BatchInserter(self._insert_events, self._insert_event, max_in_flight=2)
        self.storage = StorageWatch()

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

    async def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._writer is not None, "store is not open"
        try:
            result: T = await self._writer.submit(fn)
        except sqlite3.IntegrityError as exc:
            raise _integrity_failure(exc) from None
        except sqlite3.DatabaseError as exc:
            cause = sqlite_full_cause(exc)
            if cause is None:
                raise
            raise self.storage.failed(cause) from exc
        self.storage.committed()
        return result

    async def _write(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        # A new plan on every run: the writer runs a group again, each write
        # in its own savepoint, when one of them fails.
        return await self._submit(lambda conn: run_plan(conn, plan(*args, **kwargs)))

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            self._reader_conns.append(conn)
        return conn

    async def _on_reader(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._readers, lambda: fn(self._reader()))
        except sqlite3.DatabaseError as exc:
            # A read that needs a temporary file can fail on a full disk too;
            # only a committed write ends the episode, so no committed() here.
            cause = sqlite_full_cause(exc)
            if cause is None:
                raise
            raise self.storage.failed(cause) from exc

    async def _read(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._on_reader(lambda conn: run_plan(conn, plan(*args, **kwargs)))

    async def _fetchall(self, query: str, params: Mapping[str, Any]) -> list[Any]:
        return await self._on_reader(lambda c: c.execute(Q[query], params).fetchall())

    async def _fetchone(self, query: str, params: Mapping[str, Any]) -> Any:
        return await self._on_reader(lambda c: c.execute(Q[query], params).fetchone())

    async def _change(self, query: str, params: Mapping[str, Any]) -> int:
        return await self._submit(lambda c: c.execute(Q[query], params).rowcount)

    def announce_due(self, due_at: int) -> None:
        # One file, so usually one process: DueWakeups wakes the dispatcher
        # in-process, and the poll covers a CLI writing beside it.
        return None

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

        return await self._submit(apply)

    async def schema_version(self) -> int:
        def read(conn: sqlite3.Connection) -> int:
            try:
                row = conn.execute("SELECT max(version) FROM espf_migrations").fetchone()
            except sqlite3.OperationalError:
                return 0
            return int(row[0] or 0)

        return await self._on_reader(read)

    # -- what differs from PostgreSQL ---------------------------------------------
    async def _insert_events(self, batch: Sequence[Mapping[str, Any]]) -> list[int]:
        def insert(conn: sqlite3.Connection) -> list[int]:
            query = Q["event_insert"]
            return [int(conn.execute(query, params).fetchone()[0]) for params in batch]

        return await self._submit(insert)

    def _record_rows(self, node_id: str, updates: list[dict[str, Any]]) -> Plan[list[Any]]:
        # One statement per delivery: on SQLite a statement costs no round trip.
        recorded = []
        for params in updates:
            found = yield row("delivery_record_outcome", params)
            if found is not None:
                recorded.append(found)
        return recorded

    async def listen_for_due(self, callback: Callable[[int], None]) -> None:
        # See announce_due: nothing to listen to.
        return None

    async def reclaim_space(self) -> list[str]:
        # A delete puts its pages on the free list and the next inserts take
        # them from there (auto_vacuum stays off): the file stops growing
        # once pruning keeps up, with no VACUUM to rewrite it.
        return []

    async def copy_read(self, table: str, after: int, limit: int) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = conn.execute(Q[f"copy_read_{table}"], {"after": after, "limit": limit})
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

        return await self._on_reader(read)

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
