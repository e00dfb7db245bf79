"""Retention per environment (setting retention_by_env), the console's
attempts per minute pruned with the events, and the space pruning frees
made reusable: PostgreSQL vacuums one node at a time, SQLite reuses its
free pages. On both backends."""

from __future__ import annotations

import asyncpg
import pytest

from espf.clock import FrozenClock
from espf.config import load_settings
from espf.dispatch.pruner import Pruner
from espf.domain import AuthMethod, HandlerSettings
from espf.errors import NotFound
from espf.service import Service
from espf.store import Store, pg_vacuum
from espf.store.postgres import PostgresStore
from espf.store.sqlite import SqliteStore
from tests.contract.test_delivery_control import NODE, answer, claim
from tests.contract.test_retention import DAY_MS, advance, exists

MINUTE_MS = 60_000


@pytest.fixture
async def service(store: Store) -> Service:
    return await service_on(store)


async def service_on(store: Store) -> Service:
    clock = FrozenClock()
    settings = load_settings(
        {}, prune_batch_size=2, retention_by_env="3: delivered=1d; 5: delivered=10d"
    )
    svc = Service(store, settings, clock)
    for i_env in (1, 3, 5):
        await svc.env_create(f"env{i_env}", i_env)
        base = HandlerSettings(url="http://127.0.0.1:9/", auth_method=AuthMethod.NONE)
        await svc.handler_create(i_env, "H", base)
        await svc.subscribe_all(i_env, "H")
    await store.node_heartbeat(NODE, "host", 1, clock.now_ms())
    return svc


def pruner_of(service: Service) -> Pruner:
    return Pruner(service.store, service.settings, service.clock)


async def delivered_in(service: Service, i_env: int) -> int:
    i_event = await service.event_create(i_env, {"event_type": "Account/New", "variables": {}})
    await answer(service, await claim(service), 200)
    return i_event


async def test_an_environment_keeps_its_own_windows(service: Service) -> None:
    default, short, long = [await delivered_in(service, i_env) for i_env in (1, 3, 5)]
    advance(service, 2 * DAY_MS)
    assert (await pruner_of(service).preview())["delivered"] == 1, "env 3: 1 day"
    assert (await pruner_of(service).round(pause_s=0)).events == 1
    assert not await exists_in(service, short, 3)
    assert await exists(service, default) and await exists_in(service, long, 5)

    advance(service, 6 * DAY_MS)  # 8 days: the installation's 7 days passed, env 5's 10 not
    assert (await pruner_of(service).round(pause_s=0)).events == 1
    assert not await exists(service, default) and await exists_in(service, long, 5)
    advance(service, 3 * DAY_MS)
    assert (await pruner_of(service).round(pause_s=0)).events == 1
    assert not await exists_in(service, long, 5)


async def exists_in(service: Service, i_event: int, i_env: int) -> bool:
    try:
        await service.event_get(i_event, i_env)
    except NotFound:
        return False
    return True


async def test_pending_is_never_pruned_in_an_environment_with_short_windows(
    store: Store,
) -> None:
    clock = FrozenClock()
    every_state = ", ".join(
        f"{s}=1s" for s in ("delivered", "superseded", "rejected", "failed", "cancelled")
    )
    settings = load_settings({}, retention_by_env=f"3: {every_state}, unrouted=1s")
    svc = Service(store, settings, clock)
    await svc.env_create("three", 3)
    base = HandlerSettings(url="http://127.0.0.1:9/", auth_method=AuthMethod.NONE)
    await svc.handler_create(3, "H", base)
    await svc.subscribe_all(3, "H")
    await store.node_heartbeat(NODE, "host", 1, clock.now_ms())
    pending = await svc.event_create(3, {"event_type": "Account/New", "variables": {}})
    await answer(svc, await claim(svc), 503)
    clock.advance(400 * DAY_MS)
    assert sum((await pruner_of(svc).preview()).values()) == 0
    await pruner_of(svc).round(pause_s=0)
    assert (await states_in(svc, pending, 3)) == "pending"


async def states_in(service: Service, i_event: int, i_env: int) -> str:
    detail = await service.event_get(i_event, i_env)
    return detail.event.state.value


async def envs_with_minutes(service: Service) -> set[int]:
    """The environments with rows in console_attempt_minutes (read a page,
    that is an environment, at a time)."""
    envs: set[int] = set()
    after = -1
    while page := await service.store.copy_read("console_attempt_minutes", after, 100):
        after = int(page[0]["i_env"])
        envs.add(after)
    return envs


async def test_the_consoles_attempt_minutes_go_with_the_longest_window(service: Service) -> None:
    await delivered_in(service, 3)
    await delivered_in(service, 1)
    assert await envs_with_minutes(service) == {1, 3}
    # Env 3's longest window is 30 days (failed, rejected...): its minute
    # stays after its delivered event went, then goes.
    advance(service, 2 * DAY_MS)
    totals = await pruner_of(service).round(pause_s=0)
    assert totals.events == 1 and totals.console_minutes == 0
    advance(service, 29 * DAY_MS)
    totals = await pruner_of(service).round(pause_s=0)
    assert totals.console_minutes == 2
    assert await envs_with_minutes(service) == set()


async def test_postgres_vacuums_what_pruning_emptied_one_node_at_a_time(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = service.store
    if not isinstance(store, PostgresStore):
        assert await store.reclaim_space() == [], "SQLite reuses its free pages by itself"
        return
    monkeypatch.setattr(pg_vacuum, "MIN_DEAD_ROWS", 0)
    monkeypatch.setattr(pg_vacuum, "DEAD_FRACTION", 0.0)
    for _ in range(3):
        await delivered_in(service, 1)
    advance(service, 8 * DAY_MS)
    await pruner_of(service).round(pause_s=0)
    other_node = await asyncpg.connect(store.url)
    try:
        await other_node.execute(
            "SELECT pg_advisory_lock(hashtext(current_schema() || '.espf_vacuum'))"
        )
        assert await store.reclaim_space() == [], "another node vacuums"
        await other_node.execute(
            "SELECT pg_advisory_unlock(hashtext(current_schema() || '.espf_vacuum'))"
        )
        # The dead rows reach the statistics when the pruning sessions
        # report them (within about a second): ask until they did.
        vacuumed: list[str] = []
        for _ in range(50):
            vacuumed = await store.reclaim_space()
            if "events" in vacuumed:
                break
            await other_node.execute("SELECT pg_sleep(0.1)")
        assert "events" in vacuumed and "deliveries" in vacuumed
        last = await other_node.fetchval(
            "SELECT last_vacuum FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = 'events'"
        )
        assert last is not None
    finally:
        await other_node.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_reuses_the_pages_pruning_freed(service: Service) -> None:
    store = service.store
    assert isinstance(store, SqliteStore)

    def pages() -> tuple[int, int]:
        import sqlite3

        conn = sqlite3.connect(store.path)
        try:
            (count,) = conn.execute("PRAGMA page_count").fetchone()
            (free,) = conn.execute("PRAGMA freelist_count").fetchone()
        finally:
            conn.close()
        return int(count), int(free)

    async def many() -> None:
        for n in range(60):
            await service.event_create(
                1, {"event_type": "Account/New", "variables": {"pad": "x" * 400, "n": n}}
            )
        while claimed := await claim(service):
            await answer(service, claimed, 200)

    await many()
    advance(service, 8 * DAY_MS)
    await pruner_of(service).round(pause_s=0)
    before, free = pages()
    assert free > 0, "the pruned rows' pages are on the free list"
    await many()
    after, _ = pages()
    assert after <= before + free // 4, (before, free, after)
