"""The PostgreSQL store's plumbing that needs no server: which failures mean
"unreachable", and how new-event announcements are coalesced."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from espf.errors import Unavailable
from espf.store.pg_errors import is_unreachable, unavailable_when_unreachable
from espf.store.pg_pool import server_settings_for
from espf.store.postgres_wakeups import DueAnnouncer


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(104, "reset"),
        TimeoutError(),
        asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.ReadOnlySQLTransactionError("read-only transaction"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.InterfaceError("pool is closing"),
    ],
)
def test_connection_failures_are_unavailable(error: Exception) -> None:
    assert is_unreachable(error)
    with pytest.raises(Unavailable) as raised, unavailable_when_unreachable():
        raise error
    assert raised.value.http_status == 503


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UndefinedTableError("no such table"),
        asyncpg.InterfaceError("the number of query arguments cannot exceed 32767"),
        ValueError("a bug"),
    ],
)
def test_other_failures_stay_what_they_are(error: Exception) -> None:
    assert not is_unreachable(error)
    with pytest.raises(type(error)), unavailable_when_unreachable():
        raise error


def test_the_url_may_override_the_connection_settings() -> None:
    assert server_settings_for("postgresql://h/db")["application_name"] == "espf"
    chosen = server_settings_for("postgresql://h/db?search_path=s&application_name=mine")
    assert "application_name" not in chosen  # asyncpg takes it from the URL
    assert chosen["plan_cache_mode"] == "force_custom_plan"


async def test_announcements_are_coalesced_to_the_earliest() -> None:
    sent: list[int] = []
    release = asyncio.Event()

    async def send(due_at: int) -> None:
        sent.append(due_at)
        await release.wait()

    announcer = DueAnnouncer(send)
    announcer.announce(500)  # goes out at once
    await asyncio.sleep(0)
    for due_at in (900, 300, 700):  # wait behind it, coalesced
        announcer.announce(due_at)
    release.set()
    await announcer.close()
    await asyncio.sleep(0.05)
    assert sent == [500, 300]


async def test_a_failed_announcement_is_dropped_not_raised() -> None:
    async def send(due_at: int) -> None:
        raise ConnectionRefusedError(111, "refused")

    announcer = DueAnnouncer(send)
    announcer.announce(1)
    await announcer.close()
