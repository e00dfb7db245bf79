"""Two nodes materializing the same due schedules at once: each occurrence
makes exactly one event. On PostgreSQL two stores (two pools, as two
dispatcher nodes) claim with SKIP LOCKED; on SQLite two stores on one file
are serialised by the database's lock."""

from __future__ import annotations

import asyncio
from collections import Counter

from espf.clock import FrozenClock
from espf.config import load_settings
from espf.domain import EventFilter
from espf.schedules.decide import Decider
from espf.schedules.materializer import Materializer
from espf.schedules.request import ScheduleSpec
from espf.service import Service
from espf.store import Store, create_store
from espf.timeparse import parse_start_time

SCHEDULES = 300


async def test_two_nodes_make_each_occurrence_once(store: Store, database_url: str) -> None:
    clock = FrozenClock(parse_start_time("2026-01-15 12:00:00"))
    first = Service(store, load_settings({}), clock)
    await first.env_create("one", 1)
    await first.type_create("Custom/Tick")
    for n in range(SCHEDULES):
        spec = ScheduleSpec(
            key=f"i_account={n}",
            event_type="Custom/Tick",
            rule="every 10 minutes",
            time_zone="UTC",
            variables={"i_account": n},
            catch_up="all",
            catch_up_window_s=3600,
        )
        await first.schedule_create(1, spec)
    other_store = create_store(database_url)
    await other_store.open()
    try:
        second = Service(other_store, load_settings({}), clock)
        # Three occurrences each are due (12:10, 12:20, 12:30).
        clock.advance(30 * 60_000)

        async def node(service: Service) -> int:
            made = 0
            while True:
                done = await service.schedules_materialize(Decider(), limit=17)
                made += done.events
                if done.schedules == 0:
                    return made

        made = await asyncio.gather(node(first), node(second), node(first), node(second))
    finally:
        await other_store.close()
    assert sum(made) == 3 * SCHEDULES
    events = await first.event_list(EventFilter(i_env=1, limit=1000))
    identities = Counter((e.variables["schedule_id"], e.start_at) for e in events)
    assert len(identities) == 3 * SCHEDULES
    assert set(identities.values()) == {1}


async def test_the_materializer_loop_makes_due_events_and_wakes_the_dispatcher(
    store: Store,
) -> None:
    clock = FrozenClock(parse_start_time("2026-01-15 12:00:00"))
    service = Service(store, load_settings({}), clock)
    await service.env_create("one", 1)
    await service.type_create("Custom/Tick")
    spec = ScheduleSpec(key="k", event_type="Custom/Tick", rule="every 1 minutes", time_zone="UTC")
    await service.schedule_create(1, spec)
    woken: list[int] = []
    service.wakeups.listen(woken.append)
    clock.advance(60_000)
    materializer = Materializer(service, poll_s=0.05, batch=10)
    running = asyncio.create_task(materializer.run())
    try:
        for _ in range(100):
            if woken:
                break
            await asyncio.sleep(0.02)
    finally:
        await materializer.stop()
        await running
    assert woken == [parse_start_time("2026-01-15 12:01:00")]
    assert len(await service.event_list(EventFilter(i_env=1))) == 1
