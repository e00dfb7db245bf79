"""Storage: the Store protocol and its backends, chosen by database URL."""

from __future__ import annotations

from espf.store.base import Store


def create_store(database_url: str) -> Store:
    """``postgresql://...`` selects PostgreSQL; ``sqlite:///file`` or a path, SQLite."""
    if database_url.startswith(("postgresql://", "postgres://")):
        from espf.store.postgres import PostgresStore

        return PostgresStore(database_url)
    from espf.store.sqlite import SqliteStore

    return SqliteStore(database_url)


__all__ = ["Store", "create_store"]
