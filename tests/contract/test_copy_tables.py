"""``espf copy`` decides on every table: each one a migration creates is
either copied or named, with its reason, as not copied. A table added
without that decision fails here, on the backend that has it."""

from __future__ import annotations

import sqlite3

import asyncpg

from espf.copy import COPIED_TABLES, NOT_COPIED_TABLES
from espf.store import Store
from espf.store.sqlite import sqlite_path_from_url


async def tables_of(database_url: str) -> set[str]:
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path_from_url(database_url))
        try:
            found = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
        finally:
            conn.close()
        return {str(r[0]) for r in found}
    pg = await asyncpg.connect(database_url)
    try:
        found = await pg.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    finally:
        await pg.close()
    return {str(r[0]) for r in found}


async def test_every_table_is_copied_or_said_why_not(store: Store, database_url: str) -> None:
    tables = await tables_of(database_url)
    decided = set(COPIED_TABLES) | set(NOT_COPIED_TABLES)
    assert tables - decided == set(), "new tables: add them to espf/copy.py's COPIED_TABLES"
    assert not set(COPIED_TABLES) & set(NOT_COPIED_TABLES)
    # Backend-only tables (PostgreSQL's console change logs) may be absent.
    assert set(COPIED_TABLES) <= tables
