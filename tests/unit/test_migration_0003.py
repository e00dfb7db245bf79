"""Migration 0003 on a SQLite database that already holds users: the
api_users table is rebuilt (for AUTOINCREMENT) without losing a row or
changing an id, and ids of deleted users are not handed out again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from espf.domain import Role
from espf.store.sql_loader import load_migrations
from espf.store.sqlite import SqliteStore, _split_statements


async def test_users_survive_the_rebuild_and_their_ids_stay_unique(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE espf_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT 'then')"
    )
    for version, name, sql in load_migrations("sqlite")[:2]:
        for statement in _split_statements(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO espf_migrations (version, name) VALUES (?, ?)", (version, name))
    conn.execute("INSERT INTO environments VALUES (1, 'one', 0)")
    conn.execute("INSERT INTO api_users VALUES (7, 1, 'old-admin', 'hash', 'admin', 0)")
    conn.execute("INSERT INTO api_users VALUES (9, 1, 'old-producer', 'hash', 'producer', 0)")
    conn.close()

    store = SqliteStore(f"sqlite:///{path}")
    await store.open()
    try:
        assert await store.migrate() == list(range(3, len(load_migrations("sqlite")) + 1))
        kept = await store.user_list(1)
        assert [(u.i_user, u.login, u.role) for u in kept] == [
            (7, "old-admin", Role.ADMIN),
            (9, "old-producer", Role.PRODUCER),
        ]
        assert await store.user_delete(1, "old-producer")
        fresh = await store.user_create(1, "new", "hash", Role.PRODUCER, 0)
        assert fresh.i_user == 10  # not 9 again
    finally:
        await store.close()
