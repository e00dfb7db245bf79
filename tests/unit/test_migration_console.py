"""The console's migration on a SQLite database that already holds events and
attempts: the console's summaries start from what is there, and the triggers
keep them right from then on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from espf.store.sql_loader import load_migrations
from espf.store.sqlite import SqliteStore, _split_statements

MINUTE = 60_000
MIGRATIONS = load_migrations("sqlite")
CONSOLE = next(version for version, name, _ in MIGRATIONS if name == "console")
T0 = 1_700_000_040_000  # a whole minute


async def test_summaries_count_the_existing_history(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE espf_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT 'then')"
    )
    for version, name, sql in MIGRATIONS[: CONSOLE - 1]:
        for statement in _split_statements(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO espf_migrations (version, name) VALUES (?, ?)", (version, name))
    conn.execute("INSERT INTO environments VALUES (1, 'one', 0)")
    conn.execute(
        "INSERT INTO event_types (i_event_type, name, builtin, created_at) "
        "VALUES (10001, 'Custom/Old', 0, 0)"
    )
    conn.execute(
        "INSERT INTO handlers (i_handler, i_env, name, enabled, url, auth_method, timeout_s, "
        "created_at, updated_at) VALUES (1, 1, 'app', 1, 'http://app.example', 'none', 5, 0, 0)"
    )
    for i_event, state in ((1, "delivered"), (2, "delivered"), (3, "failed"), (4, "scheduled")):
        conn.execute(
            "INSERT INTO events (i_event, i_env, i_event_type, variables, start_at, created_at, "
            "state) VALUES (?, 1, 10001, ?, ?, ?, ?)",
            (i_event, f'{{"i_account": {540 + i_event}}}', T0, T0, state),
        )
    for i_delivery, outcome in ((1, "delivered"), (2, "delivered"), (3, "failed")):
        conn.execute(
            "INSERT INTO deliveries (i_delivery, i_event, i_handler, state, attempts) "
            "VALUES (?, ?, 1, ?, 1)",
            (i_delivery, i_delivery, outcome),
        )
        conn.execute(
            "INSERT INTO attempts (i_delivery, attempt_no, started_at, duration_ms, outcome) "
            "VALUES (?, 1, ?, 5, ?)",
            (i_delivery, T0 + 5 + i_delivery, outcome),
        )
    conn.close()

    store = SqliteStore(f"sqlite:///{path}")
    await store.open()
    try:
        assert CONSOLE in await store.migrate()
        assert await store.console_event_counts(1, None) == {
            "delivered": 2,
            "failed": 1,
            "scheduled": 1,
        }
        buckets = await store.console_attempt_buckets(1, T0, T0 + MINUTE, MINUTE)
        assert sorted(buckets) == [(T0, "delivered", 2), (T0, "failed", 1)]
    finally:
        await store.close()
