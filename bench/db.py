"""Databases for the benchmark: a fresh one per measurement, set up through
espf's own service layer, filled in bulk straight through the schema, and
counted for the ledger.

SQLite databases are files under the run's work directory; PostgreSQL ones
are databases created on the local server and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from espf.config import Settings
from espf.domain import AuthMethod, HandlerSettings
from espf.service import Service
from espf.store import create_store

ADMIN_LOGIN = "bench"
ADMIN_PASSWORD = "bench-password-1"
EVENT_TYPE = "Custom/Bench"
HANDLER = "receiver"
AUTHORIZATION = "Basic " + base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
_EVENT_COLUMNS = ("i_env", "i_event_type", "variables", "start_at", "created_at", "state")


def now_ms() -> int:
    return int(time.time() * 1000)


def postgres_problem() -> str | None:
    """Why the PostgreSQL backend cannot be benchmarked, or None."""
    if importlib.util.find_spec("espf.store.postgres") is None:
        return "espf has no PostgreSQL store yet (espf/store/postgres.py)"

    async def probe() -> None:
        import asyncpg

        conn = await asyncpg.connect(f"{POSTGRES_SERVER}/test", timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_SERVER} does not answer ({exc})"
    return None


@dataclass
class Database:
    backend: str  # "sqlite" or "postgres"
    url: str
    path: Path | None = None  # SQLite only
    pg_name: str | None = None  # PostgreSQL only
    i_event_type: int = 0

    def drop(self) -> None:
        if self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        if self.pg_name is not None:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{POSTGRES_SERVER}/test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh(backend: str, work_dir: Path, tag: str, receiver_port: int) -> Database:
    """An empty database with espf's schema, an API user, the event type
    Custom/Bench and one EventSender handler pointing at the receiver."""
    if backend == "sqlite":
        work_dir.mkdir(parents=True, exist_ok=True)
        path = work_dir / f"{tag}.db"
        db = Database(backend, f"sqlite:///{path}", path=path)
        db.drop()
    else:
        name = f"espf_bench_{tag}_{uuid.uuid4().hex[:6]}".replace("-", "_")
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        db = Database(backend, f"{POSTGRES_SERVER}/{name}", pg_name=name)
    db.i_event_type = asyncio.run(_set_up(db.url, receiver_port))
    return db


async def _set_up(url: str, receiver_port: int) -> int:
    settings = Settings(database_url=url, admin_login=ADMIN_LOGIN, admin_password=ADMIN_PASSWORD)
    store = create_store(url)
    await store.open()
    try:
        service = Service(store, settings)
        await service.prepare_database()
        await service.bootstrap()
        event_type = await service.type_create(EVENT_TYPE)
        await service.handler_create(
            1,
            HANDLER,
            HandlerSettings(
                url=f"http://127.0.0.1:{receiver_port}/espf",
                auth_method=AuthMethod.BASIC,
                login="espf",
                password="secret",
            ),
        )
        await service.subscribe(1, HANDLER, EVENT_TYPE)
        return event_type.i_event_type
    finally:
        await store.close()


def _rows(
    i_event_type: int, count: int, first_ms: int, spread_ms: int, seed: int
) -> Iterator[tuple[int, int, str, int, int, str]]:
    rng = random.Random(seed)
    created = now_ms()
    for seq in range(count):
        start_at = first_ms + (rng.randrange(spread_ms) if spread_ms > 0 else 0)
        yield (
            1,
            i_event_type,
            f'{{"i_account": 541, "seq": {seq}}}',
            start_at,
            created,
            "scheduled",
        )


def bulk_insert(db: Database, count: int, first_ms: int, spread_ms: int, seed: int = 1) -> float:
    """Insert ``count`` scheduled events due between ``first_ms`` and
    ``first_ms + spread_ms``, with the service stopped; return the seconds it took.

    This is the benchmark's own fast path straight into the events table (one
    transaction, COPY on PostgreSQL), not espf's ingest path: it builds the
    backlog that the other scenarios run against."""
    t0 = time.monotonic()
    rows = _rows(db.i_event_type, count, first_ms, spread_ms, seed)
    if db.backend == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path, isolation_level=None)
        try:
            # The bench's own bulk load needs no durability: it is re-made each run.
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            conn.executemany(
                f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", rows
            )
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    else:
        asyncio.run(_pg_copy(db.url, rows))
    return time.monotonic() - t0


async def _pg_copy(url: str, rows: Iterator[tuple[int, int, str, int, int, str]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("events", columns=_EVENT_COLUMNS, records=rows)
        await conn.execute("ANALYZE events")
    finally:
        await conn.close()


@dataclass
class Counts:
    events: dict[str, int]
    deliveries: dict[str, int]

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    @property
    def pending(self) -> int:
        """Accepted and still to be delivered."""
        d = self.deliveries
        return (
            self.events.get("scheduled", 0)
            + d.get("pending", 0)
            + d.get("in_flight", 0)
            + d.get("held", 0)
        )

    @property
    def failed(self) -> int:
        """Ended without a 2xx: rejected, failed, or no handler to send it to."""
        d = self.deliveries
        return d.get("failed", 0) + d.get("rejected", 0) + self.events.get("unrouted", 0)

    @property
    def delivered(self) -> int:
        return self.deliveries.get("delivered", 0)


def counts(db: Database) -> Counts:
    async def read() -> Counts:
        store = create_store(db.url)
        await store.open()
        try:
            return Counts(await store.event_count_by_state(), await store.delivery_count_by_state())
        finally:
            await store.close()

    return asyncio.run(read())
