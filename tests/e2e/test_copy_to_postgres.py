"""Moving from SQLite to PostgreSQL with ``espf copy``: events created on the
embedded database, one of them scheduled for later, are copied; the service
started on PostgreSQL delivers the scheduled one when it falls due, resends
none of those already delivered, and new events get new ids."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from tests.e2e.multinode_support import (
    ESPF,
    EspfProcess,
    Producer,
    Receiver,
    espf_env,
    free_port,
    prepare_database,
    start_time_in,
    wait_for_api,
    wait_for_deliveries,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DELIVERED_BEFORE = 20
SCHEDULED_IN_S = 8.0


def run_copy(source: str, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ESPF, "copy", "--from", source, "--to", target],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_scheduled_event_survives_the_move_to_postgres(
    postgres_url: str, tmp_path: Path
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'old.db'}"
    async with Receiver() as receiver:
        await prepare_database(sqlite_url, receiver.url)

        old = EspfProcess("serve", espf_env(sqlite_url), tmp_path, "old", port=free_port())
        try:
            await wait_for_api([old])
            producer = Producer([old.base_url], concurrency=5)
            await producer.create(DELIVERED_BEFORE)
            await wait_for_deliveries(receiver, set(producer.acknowledged), 30, [old])
            scheduled = Producer([old.base_url], concurrency=1)
            await scheduled.post_one(start_time_in(SCHEDULED_IN_S))
            (i_scheduled,) = scheduled.acknowledged
        finally:
            assert old.stop() == 0, old.log_text()[-3000:]
        delivered_before = len(receiver.received)

        copied = run_copy(sqlite_url, postgres_url)
        assert copied.returncode == 0, copied.stderr
        for table in ("environments", "handlers", "events", "deliveries", "attempts"):
            assert table in copied.stdout
        print(f"\n{copied.stdout}")

        again = run_copy(sqlite_url, postgres_url)
        assert again.returncode == 5
        assert "not empty" in again.stderr

        new = EspfProcess("serve", espf_env(postgres_url), tmp_path, "new", port=free_port())
        try:
            await wait_for_api([new])
            assert i_scheduled not in receiver.distinct(), "delivered before it was due"
            await wait_for_deliveries(receiver, {i_scheduled}, SCHEDULED_IN_S + 20, [new])
            after = Producer([new.base_url], concurrency=1)
            await after.create(1)
            assert after.acknowledged[0] > i_scheduled, "ids continue past the copied ones"
            await wait_for_deliveries(receiver, set(after.acknowledged), 20, [new])
            await asyncio.sleep(0.5)
        finally:
            assert new.stop() == 0, new.log_text()[-3000:]
        # Nothing delivered on SQLite went out again from PostgreSQL.
        assert receiver.duplicates() == 0
        assert len(receiver.received) == delivered_before + 2
