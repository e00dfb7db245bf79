"""PostgreSQL only: several stores (several pools, as several processes would
have) on one schema, working at the same time.

Each test gets its own schema from the ``postgres_url`` fixture; the helpers
here open as many stores on it as a test needs.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from espf.domain import AuthMethod, ClaimedDelivery, NewEvent
from espf.errors import Unavailable
from espf.store import Store, create_store
from espf.store.postgres import PostgresStore
from espf.store.sql_loader import load_migrations
from tests.factories import a_delivered_outcome

from .senders import sender_settings

T0 = 1_700_000_000_000
SENDER = sender_settings(auth_method=AuthMethod.NONE, login=None, password=None)


def _with_param(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


@asynccontextmanager
async def open_stores(url: str, count: int, pool_size: int = 4) -> AsyncIterator[list[Store]]:
    stores = [create_store(url, pool_size=pool_size) for _ in range(count)]
    for store in stores:
        await store.open()
    try:
        yield stores
    finally:
        for store in stores:
            await store.close()


async def prepared(store: Store, handlers: int = 1) -> int:
    """Migrate, create environment 1 and ``handlers`` handlers subscribed to
    one custom type; return the type's id."""
    await store.migrate()
    await store.ensure_builtin_event_types(T0)
    await store.env_create(1, "default", T0)
    event_type = await store.event_type_create_custom("Custom/Load", T0)
    for n in range(handlers):
        handler = await store.handler_create(1, f"sender{n}", SENDER, T0)
        await store.subscription_add(handler.i_handler, event_type.i_event_type)
    return event_type.i_event_type


async def insert_due_events(store: Store, i_event_type: int, count: int) -> list[int]:
    return [
        await store.event_insert(NewEvent(1, i_event_type, "{}", T0 + n % 100), T0)
        for n in range(count)
    ]


async def claim_until_empty(store: Store, node_id: str, batch: int) -> list[ClaimedDelivery]:
    claimed: list[ClaimedDelivery] = []
    idle_rounds = 0
    # Another store may hold rows locked for a moment: only several empty
    # rounds in a row mean there is nothing left.
    while idle_rounds < 3:
        got = await store.dispatch_due(node_id, T0 + 1_000, batch)
        claimed.extend(got)
        idle_rounds = 0 if got else idle_rounds + 1
        await asyncio.sleep(0)
    return claimed


async def test_concurrent_claims_never_hand_out_one_delivery_twice(postgres_url: str) -> None:
    async with open_stores(postgres_url, 2) as (first, second):
        i_event_type = await prepared(first)
        await insert_due_events(first, i_event_type, 1500)
        # Four claimers per store (eight dispatchers over two pools).
        results = await asyncio.gather(
            *(
                claim_until_empty(store, f"node-{n}-{i}", batch=37)
                for n, store in enumerate((first, second))
                for i in range(4)
            )
        )
        ids = [d.i_delivery for claimed in results for d in claimed]
        assert len(ids) == len(set(ids)), "a delivery was claimed twice"
        assert len(ids) == 1500
        # SKIP LOCKED: claimers share the work instead of queueing behind one
        # another (not necessarily all of them: a busy machine may starve one).
        assert sum(1 for claimed in results if claimed) >= 2
        assert await first.delivery_count_by_state() == {"in_flight": 1500}


async def test_concurrent_fan_out_never_duplicates(postgres_url: str) -> None:
    # Drop the second guard, UNIQUE (i_event, i_handler), so that only
    # SKIP LOCKED on events stands between two dispatchers and a double
    # fan-out: ON CONFLICT DO NOTHING without a constraint inserts anything.
    async with open_stores(postgres_url, 3) as stores:
        i_event_type = await prepared(stores[0], handlers=2)
        conn = await asyncpg.connect(postgres_url)
        try:
            await conn.execute(
                "ALTER TABLE deliveries DROP CONSTRAINT deliveries_i_event_i_handler_key"
            )
        finally:
            await conn.close()
        await insert_due_events(stores[0], i_event_type, 1000)
        results = await asyncio.gather(
            *(claim_until_empty(store, f"node-{n}", batch=25) for n, store in enumerate(stores))
        )
        pairs = [(d.i_event, d.handler.i_handler) for claimed in results for d in claimed]
        assert len(pairs) == len(set(pairs)) == 2000
        assert await stores[0].event_count_by_state() == {"in_flight": 1000}


async def test_an_announcement_wakes_listeners_in_other_processes(postgres_url: str) -> None:
    async with open_stores(postgres_url, 3) as (producer, *dispatchers):
        i_event_type = await prepared(producer)
        heard: list[list[int]] = [[], []]
        for store, log in zip(dispatchers, heard, strict=True):
            await store.listen_for_due(log.append)
        await wait_until(lambda: all(heard), "the listeners connect")
        start_at = T0 + 123_456
        await producer.event_insert(NewEvent(1, i_event_type, "{}", start_at), T0)
        # The service announces after the commit (espf.due_wakeups).
        producer.announce_due(start_at)
        await wait_until(lambda: all(start_at in log for log in heard), "the notification")


async def test_the_listener_reconnects_after_its_connection_is_killed(postgres_url: str) -> None:
    app_name = f"espf_listen_{uuid.uuid4().hex[:8]}"
    url = _with_param(postgres_url, "application_name", app_name)
    async with open_stores(url, 2) as (producer, listener):
        i_event_type = await prepared(producer)
        heard: list[int] = []
        await listener.listen_for_due(heard.append)
        await wait_until(lambda: bool(heard), "the listener connects")
        assert await terminate_backends(app_name) >= 1
        heard.clear()
        # After a reconnect the listener wakes its dispatcher once (it may
        # have missed notifications), then hears new ones again.
        await wait_until(lambda: bool(heard), "the listener reconnects", timeout=10)
        start_at = T0 + 777
        await producer.event_insert(NewEvent(1, i_event_type, "{}", start_at), T0)
        producer.announce_due(start_at)
        await wait_until(lambda: start_at in heard, "a notification after the reconnect")


async def test_rescue_by_every_node_at_once_rescues_each_delivery_once(postgres_url: str) -> None:
    async with open_stores(postgres_url, 4) as stores:
        i_event_type = await prepared(stores[0])
        await insert_due_events(stores[0], i_event_type, 300)
        await stores[0].node_heartbeat("dead-node", "host", 1, T0)
        assert len(await stores[0].dispatch_due("dead-node", T0 + 1_000, 300)) == 300
        later = T0 + 60_000
        rescues = [store.node_rescue_orphans(later, later - 15_000) for store in stores * 3]
        rescued = await asyncio.gather(*rescues)
        assert sum(rescued) == 300
        assert await stores[0].delivery_count_by_state() == {"pending": 300}
        # Rescued once: one attempt counted, one "interrupted" entry.
        detail = await stores[0].delivery_list_for_event(1)
        assert [d.attempts for d in detail] == [1]
        assert [a.outcome for a in detail[0].attempt_log] == ["interrupted"]


async def test_migrations_from_many_processes_at_once_apply_once(postgres_url: str) -> None:
    async with open_stores(postgres_url, 5, pool_size=1) as stores:
        applied = await asyncio.gather(*(store.migrate() for store in stores))
        every = list(range(1, len(load_migrations("postgres")) + 1))
        assert sorted(applied) == [[], [], [], [], every]
        assert {await store.schema_version() for store in stores} == {every[-1]}


async def test_custom_types_created_at_once_get_distinct_ids(postgres_url: str) -> None:
    async with open_stores(postgres_url, 4) as stores:
        await stores[0].migrate()
        created = await asyncio.gather(
            *(
                store.event_type_create_custom(f"Custom/T{n}_{i}", T0)
                for n, store in enumerate(stores)
                for i in range(3)
            )
        )
        ids = [t.i_event_type for t in created]
        assert len(set(ids)) == 12
        assert min(ids) == 10001


async def test_killed_connections_are_replaced(postgres_url: str) -> None:
    app_name = f"espf_pool_{uuid.uuid4().hex[:8]}"
    async with open_stores(_with_param(postgres_url, "application_name", app_name), 1) as (store,):
        i_event_type = await prepared(store)
        assert await terminate_backends(app_name) >= 1
        # An idle connection that was killed is noticed and replaced when the
        # pool hands it out; at worst one call fails, as Unavailable.
        outcomes: list[int | None] = []
        for _ in range(3):
            try:
                outcomes.append(await store.event_insert(NewEvent(1, i_event_type, "{}", T0), T0))
            except Unavailable:
                outcomes.append(None)
        assert outcomes[-1] is not None
        assert outcomes.count(None) <= 1


async def test_a_claim_whose_commit_answer_was_lost_is_handed_back(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_stores(postgres_url, 1) as (store,):
        assert isinstance(store, PostgresStore)
        i_event_type = await prepared(store)
        await insert_due_events(store, i_event_type, 10)
        really_transact = store._transaction

        async def commit_then_lose_the_answer(fn: Any) -> Any:
            await really_transact(fn)
            raise Unavailable("connection lost while waiting for the COMMIT answer")

        monkeypatch.setattr(store, "_transaction", commit_then_lose_the_answer)
        with pytest.raises(Unavailable):
            await store.dispatch_due("node", T0 + 1_000, 10)
        monkeypatch.undo()
        # Committed, yet the dispatcher never saw them: they are handed back
        # to it on its next claim instead of staying in flight for ever.
        assert await store.delivery_count_by_state() == {"in_flight": 10}
        again = await store.dispatch_due("node", T0 + 2_000, 10)
        assert len(again) == 10
        assert all(d.attempts == 0 for d in again)
        assert await store.dispatch_due("node", T0 + 3_000, 10) == []


async def test_an_unreachable_server_is_unavailable_not_a_crash() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(Unavailable) as raised:
        await store.open()
    assert raised.value.http_status == 503


# -- helpers -------------------------------------------------------------------------------
async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def terminate_backends(application_name: str) -> int:
    from tests.conftest import POSTGRES_URL

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        killed: list[asyncpg.Record] = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = $1",
            application_name,
        )
        return len(killed)
    finally:
        await conn.close()


async def _limited_handler(store: Store, **limits: Any) -> int:
    await store.migrate()
    await store.ensure_builtin_event_types(T0)
    await store.env_create(1, "default", T0)
    event_type = await store.event_type_create_custom("Custom/Limited", T0)
    handler = await store.handler_create(1, "limited", sender_settings(**limits), T0)
    await store.subscription_add(handler.i_handler, event_type.i_event_type)
    return event_type.i_event_type


async def test_nodes_claiming_at_once_share_one_rate_slot_by_slot(postgres_url: str) -> None:
    """Three stores claim a rate-limited handler's backlog as fast as they
    can for 1.5 s of the clock: every send slot they are given is a slot of
    one bucket, 20 ms after the one before (50/s), whoever took it."""
    async with open_stores(postgres_url, 3) as stores:
        i_type = await _limited_handler(stores[0], max_rate=50.0)
        await asyncio.gather(
            *(stores[0].event_insert(NewEvent(1, i_type, "{}", T0), T0) for _ in range(200))
        )
        start = time.monotonic()

        async def node(store: Store, name: str) -> list[int]:
            slots: list[int] = []
            while (elapsed := time.monotonic() - start) < 1.5:
                now = T0 + int(elapsed * 1000)
                slots += [d.send_at for d in await store.dispatch_due(name, now, 64)]
                await asyncio.sleep(0.001)
            return slots

        found = await asyncio.gather(*(node(s, f"n{k}") for k, s in enumerate(stores)))
    slots = sorted(s for node_slots in found for s in node_slots)
    assert len(slots) >= 60, slots
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 19, gaps  # 1 ms of rounding


async def test_nodes_claiming_at_once_never_open_more_than_max_in_flight(
    postgres_url: str,
) -> None:
    """Four stores claim a handler with max_in_flight = 3 as fast as they
    can, each finishing what it holds right after: the requests open over
    all of them never exceed 3 (a count that does not see what another node
    has just claimed lets more through)."""
    async with open_stores(postgres_url, 4) as stores:
        i_type = await _limited_handler(stores[0], max_in_flight=3)
        await asyncio.gather(
            *(stores[0].event_insert(NewEvent(1, i_type, "{}", T0), T0) for _ in range(400))
        )
        open_now, most_open, delivered = 0, 0, 0

        async def node(store: Store, name: str) -> None:
            nonlocal open_now, most_open, delivered
            for round_no in range(150):
                claimed = await store.dispatch_due(name, T0 + round_no, 10)
                open_now += len(claimed)
                most_open = max(most_open, open_now)
                if claimed:
                    outcomes = [a_delivered_outcome(d, T0 + round_no) for d in claimed]
                    await store.delivery_record_outcomes(name, outcomes)
                    # Counted closed once written: until then it is open in the database.
                    open_now -= len(claimed)
                    delivered += len(claimed)

        await asyncio.gather(*(node(s, f"n{k}") for k, s in enumerate(stores)))
    assert delivered >= 30
    assert most_open == 3
