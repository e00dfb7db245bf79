"""Exactly once per occurrence across ``kill -9`` in the middle of
materializing a burst: many schedules due at one instant, the service killed
as soon as their first events are in the database, started again on the same
database; every occurrence ends with exactly one event. On both backends."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.espf_process import EspfProcess, wait_until

pytestmark = pytest.mark.e2e

SCHEDULES = 20_000
TYPE = "Custom/MonthStart"


def _sql(database_url: str, sql: str) -> Any:
    """One statement on the service's database; the first row of its answer."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=30)
        try:
            with conn:
                return conn.execute(sql).fetchone()
        finally:
            conn.close()

    async def run() -> Any:
        import asyncpg

        url, _, query = database_url.partition("?search_path=")
        conn = await asyncpg.connect(url, server_settings={"search_path": query})
        try:
            return await conn.fetchrow(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def espf(tmp_path: Path, database_url: str) -> Iterator[EspfProcess]:
    process = EspfProcess(tmp_path, ESPF_DATABASE_URL=database_url).start()
    try:
        yield process
    finally:
        process.stop()
        print(process.log_tail(80))


def test_kill_9_mid_materialization_makes_each_occurrence_once(
    espf: EspfProcess, database_url: str
) -> None:
    espf.cli("type", "create", TYPE)
    i_event_type = _sql(
        database_url, f"SELECT i_event_type FROM event_types WHERE name = '{TYPE}'"
    )[0]
    instant = int(time.time() * 1000) + 2_000
    series = (
        f"generate_series(1, {SCHEDULES}) AS s(x)"
        if database_url.startswith("postgres")
        else f"(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s "
        f"WHERE x < {SCHEDULES}) SELECT x FROM s)"
    )
    _sql(
        database_url,
        "INSERT INTO schedules (i_env, key, i_event_type, variables, rule, time_zone, start_at, "
        "catch_up, paused, last_at, next_at, created_at, updated_at) "
        f"SELECT 1, 'i_account=' || x, {i_event_type}, '{{}}', 'every 60 minutes', 'UTC', "
        f"{instant}, 'skip', false, {instant - 1}, {instant}, {instant}, {instant} FROM {series}",
    )

    def some_made() -> int | None:
        made = int(_sql(database_url, "SELECT count(*) FROM events")[0])
        return made or None

    at_kill = wait_until(some_made, 30, "the first events of the burst", interval=0.01)
    espf.kill9()
    print(f"{at_kill} of {SCHEDULES} events made at the kill")
    espf.start()

    def all_made() -> bool:
        return int(_sql(database_url, "SELECT count(*) FROM events")[0]) >= SCHEDULES

    wait_until(all_made, 60, f"all {SCHEDULES} events (had {at_kill} at the kill)")
    time.sleep(1.5)  # a second round, if any, would make more
    events, occurrences = _sql(
        database_url,
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM schedule_occurrences)",
    )
    assert (events, occurrences) == (SCHEDULES, SCHEDULES), f"{at_kill} made at the kill"
    due_left = _sql(database_url, f"SELECT count(*) FROM schedules WHERE next_at <= {instant}")
    assert due_left[0] == 0
