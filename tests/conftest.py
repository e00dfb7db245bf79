"""Shared fixtures: a store per backend, so that one contract suite runs
against SQLite and against PostgreSQL.

PostgreSQL: ``ESPF_TEST_POSTGRES_URL`` (default the machine's server at
127.0.0.1:5432, database ``test``). Each test gets its own schema, so runs
cannot collide. Without a reachable server the PostgreSQL tests skip with the
reason, except under ``CI=true``, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from espf.store import Store, create_store

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("ESPF_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

_postgres_checked = False
_postgres_problem: str | None = None


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None if it can. Checked once."""
    global _postgres_checked, _postgres_problem
    if not _postgres_checked:
        import asyncio

        import asyncpg

        async def probe() -> None:
            conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
            await conn.close()

        try:
            asyncio.run(probe())
            _postgres_problem = None
        except Exception as exc:
            _postgres_problem = f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc})"
        _postgres_checked = True
    return _postgres_problem


def require_postgres() -> None:
    problem = postgres_unavailable()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{problem}; under CI=true the PostgreSQL tests must run")
    pytest.skip(problem)


def _with_search_path(url: str, schema: str) -> str:
    # asyncpg passes unknown query parameters on as server settings.
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}search_path={schema}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'espf.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema on the test server, dropped afterwards."""
    require_postgres()
    import asyncio

    import asyncpg

    schema = f"espf_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE SCHEMA {schema}"))
    try:
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        asyncio.run(run(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """One URL per backend: tests that take it run on both."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """An open, migrated store with the built-in event types."""
    opened = create_store(database_url)
    await opened.open()
    await opened.migrate()
    await opened.ensure_builtin_event_types(1_700_000_000_000)
    try:
        yield opened
    finally:
        await opened.close()
