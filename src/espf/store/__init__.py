"""Storage: the Store protocol and its backends, chosen by database URL."""

from __future__ import annotations

from espf.store.base import Store


def create_store(database_url: str, *, pool_size: int | None = None) -> Store:
    """``postgresql://...`` selects PostgreSQL; ``sqlite:///file`` or a path, SQLite.

    ``pool_size``: the most connections PostgreSQL gets from this process
    (the ``db_pool_size`` setting); SQLite ignores it."""
    if database_url.startswith(("postgresql://", "postgres://")):
        from espf.store.postgres import DEFAULT_POOL_SIZE, PostgresStore

        return PostgresStore(database_url, pool_size=pool_size or DEFAULT_POOL_SIZE)
    from espf.store.sqlite import SqliteStore

    return SqliteStore(database_url)


__all__ = ["Store", "create_store"]
