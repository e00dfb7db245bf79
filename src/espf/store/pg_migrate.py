"""Applying the numbered PostgreSQL migrations (sql/postgres/migrations).

Every process applies pending migrations at start, so several may try at
once: a transaction-scoped advisory lock, one per schema, makes them take
turns, and each migration runs inside that transaction, whole or not at all.
"""

from __future__ import annotations

import asyncpg

from espf.store.pg_pool import Conn
from espf.store.sql_loader import load_migrations

# One key per schema, so that installations in different schemas do not wait
# for each other. Held until the migration transaction ends.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('espf.migrate.' || coalesce(current_schema(), '')))"
_TABLE = """
CREATE TABLE IF NOT EXISTS espf_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
_APPLIED = "SELECT version FROM espf_migrations"
_RECORD = "INSERT INTO espf_migrations (version, name) VALUES ($1, $2)"
_VERSION = "SELECT max(version) FROM espf_migrations"


async def apply_migrations(conn: Conn) -> list[int]:
    """Run inside a transaction; return the versions applied now."""
    await conn.execute(_LOCK)
    await conn.execute(_TABLE)
    done = {row[0] for row in await conn.fetch(_APPLIED)}
    applied = []
    for version, name, sql in load_migrations("postgres"):
        if version in done:
            continue
        # Several statements in one simple-protocol call.
        await conn.execute(sql)
        await conn.execute(_RECORD, version, name)
        applied.append(version)
    return applied


async def schema_version(conn: Conn) -> int:
    try:
        return int(await conn.fetchval(_VERSION) or 0)
    except asyncpg.exceptions.UndefinedTableError:
        return 0
