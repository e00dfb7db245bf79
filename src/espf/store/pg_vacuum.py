"""PostgreSQL: the space pruning frees made reusable, whatever the server's
autovacuum setting.

A DELETE leaves dead rows; only VACUUM makes their space reusable by new
rows. With autovacuum off (or lagging behind a steady prune) the tables and
their indexes grow although the rows kept stay the same. So after a prune
round the pruner vacuums (plain ``VACUUM (ANALYZE)``, never FULL: it takes
no lock that blocks inserts, claims or reads) each table whose dead rows
passed a threshold tighter than autovacuum's default, read from the same
statistics autovacuum reads. One node at a time (a session advisory lock);
``SKIP_LOCKED`` leaves a table an autovacuum worker is busy with to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from espf.store.pg_pool import Conn, PgPool, fetch, fetchrow
from espf.store.pg_sql import load_pg_queries

PG_ONLY = load_pg_queries("backend_only.sql")

# Vacuum a table once its dead rows pass this many plus this share of its
# live rows (autovacuum's defaults: 50 and 20 %). The fixed part keeps a
# small table from being vacuumed every round; the share keeps a large one
# from being vacuumed (a scan of every index) for a few thousand rows.
MIN_DEAD_ROWS = 1000
DEAD_FRACTION = 0.1


async def vacuum_tables(db: PgPool, tables: Sequence[str]) -> list[str]:
    """VACUUM (ANALYZE) those of ``tables`` that need it; the ones vacuumed
    (none while another node vacuums)."""

    async def vacuum(conn: Conn) -> list[str]:
        locked = await fetchrow(conn, PG_ONLY["vacuum_try_lock"], {})
        if not locked or not locked[0]:
            return []
        try:
            due = await fetch(
                conn,
                PG_ONLY["vacuum_due_tables"],
                {"tables": list(tables), "min_dead": MIN_DEAD_ROWS, "dead_fraction": DEAD_FRACTION},
            )
            names = [str(r[0]) for r in due]
            for name in names:
                # A name from our own list (the statistics view only
                # filters it), quoted as an identifier all the same.
                quoted = '"' + name.replace('"', '""') + '"'
                await conn.execute(f"VACUUM (ANALYZE, SKIP_LOCKED) {quoted}")
            return names
        finally:
            await fetchrow(conn, PG_ONLY["vacuum_unlock"], {})

    return await db.run(vacuum)
