"""Losing the database connections mid-run: every connection of an ``espf
serve`` process (its pool and its LISTEN connection) is ended with
pg_terminate_backend, twice, while events are being created and delivered.

The process lives on; the API answers 200 or, while it has no connection,
503 with the JSON error body; afterwards every event the API acknowledged is
delivered.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import orjson
import pytest

from tests.conftest import POSTGRES_URL
from tests.e2e.multinode_support import (
    EspfProcess,
    Producer,
    Receiver,
    espf_env,
    free_port,
    prepare_database,
    wait_for_api,
    wait_for_deliveries,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EVENTS = 4000


async def terminate_backends(application_name: str) -> int:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        killed = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = $1",
            application_name,
        )
        return len(killed)
    finally:
        await conn.close()


async def test_service_survives_its_connections_being_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    app_name = f"espf_reconnect_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}&application_name={app_name}"
    async with Receiver() as receiver:
        await prepare_database(url, receiver.url)
        service = EspfProcess(
            "serve", espf_env(url, db_pool_size=4), tmp_path, "serve", port=free_port()
        )
        try:
            await wait_for_api([service])
            producer = Producer([service.base_url], concurrency=20)
            creating = asyncio.create_task(producer.create(EVENTS))
            killed = []
            for share in (4, 2):
                while len(producer.acknowledged) < EVENTS // share and not creating.done():
                    await asyncio.sleep(0.02)
                killed.append(await terminate_backends(app_name))
                await asyncio.sleep(0.3)
            await creating
            assert all(killed), f"no connection of {app_name} was found to terminate"
            assert service.alive(), service.log_text()[-3000:]
            assert producer.failed_connections == 0, producer.connection_errors
            assert set(producer.refused) <= {503}, producer.refused
            if 503 in producer.refusal_bodies:
                body = orjson.loads(producer.refusal_bodies[503])
                assert body["error"] == "unavailable"
            await wait_for_deliveries(
                receiver, set(producer.acknowledged), timeout=60, processes=[service]
            )
            print(
                f"\nterminated {killed} backends; {len(producer.acknowledged)} events "
                f"acknowledged, {producer.refused[503]} answered 503; all acknowledged "
                f"delivered ({receiver.duplicates()} duplicates)"
            )
            # The process recovered fully: new events go through again.
            after = Producer([service.base_url], concurrency=5)
            await after.create(50)
            assert len(after.acknowledged) == 50
        finally:
            assert service.stop() == 0, service.log_text()[-3000:]
