"""Many nodes on one PostgreSQL: 2 API processes and 3 dispatcher processes
share one schema; 20,000 events, half due at once and half over the next 10
seconds, created through both APIs at once.

Without faults every event reaches the Application exactly once. With one
dispatcher killed (SIGKILL) mid-run every event still arrives; the only
duplicates are deliveries that dispatcher held at the moment it died, so at
most its ``dispatch_concurrency``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from tests.e2e.multinode_support import (
    EspfProcess,
    Producer,
    Receiver,
    espf_env,
    free_port,
    prepare_database,
    wait_for_api,
    wait_for_deliveries,
    wait_for_nodes,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EVENTS = 20_000
SPREAD_S = 10.0
APIS = 2
DISPATCHERS = 3
DISPATCH_CONCURRENCY = 100
DELIVERY_TIMEOUT_S = 60.0


@asynccontextmanager
async def cluster(
    url: str, receiver: Receiver, log_dir: Path
) -> AsyncIterator[tuple[list[EspfProcess], list[EspfProcess]]]:
    await prepare_database(url, receiver.url)
    env = espf_env(
        url,
        node_ttl_s=2,
        heartbeat_interval_s=0.5,
        dispatch_concurrency=DISPATCH_CONCURRENCY,
        dispatch_batch_size=DISPATCH_CONCURRENCY,
        db_pool_size=5,
    )
    apis = [EspfProcess("api", env, log_dir, f"api{n}", port=free_port()) for n in range(APIS)]
    dispatchers = [EspfProcess("dispatcher", env, log_dir, f"dispatcher{n}") for n in range(3)]
    try:
        await wait_for_api(apis)
        await wait_for_nodes(url, DISPATCHERS)
        yield apis, dispatchers
    finally:
        codes = {proc.name: proc.stop() for proc in apis + dispatchers}
        print(f"exit codes: {codes}")


async def test_every_event_once_across_nodes(postgres_url: str, tmp_path: Path) -> None:
    async with Receiver() as receiver, cluster(postgres_url, receiver, tmp_path) as (apis, disp):
        producer = Producer([api.base_url for api in apis], concurrency=50)
        t0, cpu0 = time.monotonic(), time.process_time()
        await producer.create(EVENTS, spread_s=SPREAD_S)
        created_s = time.monotonic() - t0
        assert not producer.refused and not producer.failed_connections
        assert len(set(producer.acknowledged)) == EVENTS
        await wait_for_deliveries(
            receiver, set(producer.acknowledged), DELIVERY_TIMEOUT_S, apis + disp
        )
        delivered_s = time.monotonic() - t0
        await asyncio.sleep(1.0)  # a late duplicate would show up here
        print(
            f"\n{EVENTS} events created in {created_s:.1f} s, all delivered after "
            f"{delivered_s:.1f} s; requests {len(receiver.received)}, "
            f"duplicates {receiver.duplicates()}; this process (producer and receiver) "
            f"used {time.process_time() - cpu0:.1f} s of CPU"
        )
        assert receiver.duplicates() == 0


async def test_a_dispatcher_killed_mid_run_loses_nothing(postgres_url: str, tmp_path: Path) -> None:
    async with Receiver() as receiver, cluster(postgres_url, receiver, tmp_path) as (apis, disp):
        producer = Producer([api.base_url for api in apis], concurrency=50)
        t0 = time.monotonic()
        creating = asyncio.create_task(producer.create(EVENTS, spread_s=SPREAD_S))
        # Kill one dispatcher while events pour in and go out.
        while len(receiver.received) < EVENTS // 4 and not creating.done():
            await asyncio.sleep(0.05)
        victim = disp[0]
        victim.kill_hard()
        killed_at = len(receiver.received)
        await creating
        assert not producer.refused and not producer.failed_connections
        await wait_for_deliveries(
            receiver, set(producer.acknowledged), DELIVERY_TIMEOUT_S, apis + disp[1:]
        )
        delivered_s = time.monotonic() - t0
        await asyncio.sleep(1.0)
        duplicates = receiver.duplicates()
        rescued = await count_interrupted_attempts(postgres_url)
        print(
            f"\n{victim.name} killed with SIGKILL after {killed_at} deliveries; all "
            f"{EVENTS} delivered after {delivered_s:.1f} s; {rescued} deliveries it held "
            f"were resent, {duplicates} of them had reached the receiver before "
            f"(bound: dispatch_concurrency = {DISPATCH_CONCURRENCY})"
        )
        # Only what the dead node held is resent, and it never held more than
        # its dispatch_concurrency.
        assert duplicates <= rescued <= DISPATCH_CONCURRENCY


async def count_interrupted_attempts(url: str) -> int:
    """Deliveries taken over from a dead node (each gets one such attempt)."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM attempts WHERE outcome = 'interrupted'")
        )
    finally:
        await conn.close()
