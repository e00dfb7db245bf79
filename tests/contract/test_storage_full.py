"""A full disk becomes StorageFull (503, Retry-After, the cause named), one
episode per outage, ended by the next committed write: on both backends,
through the store's own error path."""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg
import pytest

from espf.api.responses import error_response
from espf.errors import Unavailable
from espf.store import Store
from espf.store.postgres import PostgresStore
from espf.store.sqlite import SqliteStore
from espf.store.storage_full import StorageFull, postgres_full_cause, sqlite_full_cause

NOW = 1_700_000_000_000


def _disk_full_error() -> BaseException:
    error: BaseException = asyncpg.exceptions.DiskFullError(
        'could not extend file "base/16384/16402": No space left on device'
    )
    return error


async def _fail_a_write(store: Store) -> None:
    """Run one write through the backend's transaction that fails as its
    driver does when the disk is full."""
    if isinstance(store, PostgresStore):

        async def pg_write(conn: Any) -> None:
            await conn.execute("SELECT 1")
            raise _disk_full_error()

        await store._transaction(pg_write)
    else:
        assert isinstance(store, SqliteStore)

        def sqlite_write(conn: sqlite3.Connection) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        await store._submit(sqlite_write)


async def test_a_full_disk_is_one_episode_until_a_write_commits(store: Store) -> None:
    assert not store.storage.full
    for _ in range(3):
        with pytest.raises(StorageFull) as raised:
            await _fail_a_write(store)
    error = raised.value
    assert error.http_status == 503
    assert error.code == "storage_full"
    assert "disk" in error.message and "full" in error.message
    assert store.storage.full
    assert store.storage.episodes == 1  # three refusals, one episode

    await store.env_create(None, "after-the-outage", NOW)
    assert not store.storage.full
    assert store.storage.episodes == 1
    assert await store.env_get((await store.env_list())[-1].i_env) is not None


def test_the_answer_carries_retry_after_and_names_the_cause() -> None:
    response = error_response(StorageFull("SQLite: database or disk is full"))
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert b"database or disk is full" in response.body
    # Every 503 tells the client when to come back.
    assert "retry-after" in error_response(Unavailable("down")).headers


def test_postgres_errors_classified() -> None:
    assert postgres_full_cause(_disk_full_error()) is not None
    wal = asyncpg.exceptions.PostgresIOError(
        'could not write to file "pg_wal/xlogtemp.42": No space left'
    )
    wal_text = asyncpg.exceptions.PostgresIOError(
        'could not write to file "pg_wal/xlogtemp.42": No space left on device'
    )
    assert postgres_full_cause(wal) is None
    assert postgres_full_cause(wal_text) is not None
    # Too many connections and out of memory are outages, not a full disk.
    assert postgres_full_cause(asyncpg.exceptions.TooManyConnectionsError("too many")) is None
    assert postgres_full_cause(asyncpg.exceptions.OutOfMemoryError("oom")) is None
    assert postgres_full_cause(asyncpg.exceptions.UniqueViolationError("dup")) is None


def test_sqlite_errors_classified() -> None:
    assert sqlite_full_cause(sqlite3.OperationalError("database or disk is full")) is not None
    assert sqlite_full_cause(sqlite3.OperationalError("database is locked")) is None
    assert sqlite_full_cause(ValueError("database or disk is full")) is None
