"""Retention on every backend: whole finished events go after their state's
window, work still to do never goes, an event reopened after its other
deliveries finished is kept whole, and an account's current status stays."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from espf.clock import FrozenClock
from espf.config import load_settings
from espf.dispatch.pruner import Pruner
from espf.domain import AccountKind, AccountRef, DeliveryState, EventState
from espf.errors import NotFound
from espf.service import Service
from espf.store import Store, create_store
from espf.store.postgres import PostgresStore
from tests.contract.test_delivery_control import NODE, answer, claim, create, handler, states

DAY_MS = 86_400_000


@pytest.fixture
async def service(store: Store) -> Service:
    clock = FrozenClock()
    svc = Service(store, load_settings({}, prune_batch_size=2), clock)
    await svc.env_create("one", 1)
    await store.node_heartbeat(NODE, "host", 1, clock.now_ms())
    return svc


def pruner_of(service: Service) -> Pruner:
    return Pruner(service.store, service.settings, service.clock)


def advance(service: Service, ms: int) -> None:
    assert isinstance(service.clock, FrozenClock)
    service.clock.advance(ms)


async def exists(service: Service, i_event: int) -> bool:
    try:
        await service.event_get(i_event, 1)
    except NotFound:
        return False
    return True


async def rows_of(service: Service, i_events: Sequence[int]) -> dict[str, int]:
    """Rows left in each table for these events (read straight from the store)."""
    detail_rows: dict[str, int] = {"deliveries": 0, "attempts": 0, "transitions": 0}
    for i_event in i_events:
        if not await exists(service, i_event):
            continue
        detail = await service.event_get(i_event, 1)
        detail_rows["deliveries"] += len(detail.deliveries)
        detail_rows["transitions"] += len(detail.transitions)
        for delivery in await service.store.delivery_list_for_event(i_event):
            detail_rows["attempts"] += len(delivery.attempt_log)
    return detail_rows


async def test_finished_events_go_after_their_states_window(service: Service) -> None:
    await handler(service)
    delivered = await create(service)
    await answer(service, await claim(service), 200)
    rejected = await create(service)
    await answer(service, await claim(service), 400)
    advance(service, 6 * DAY_MS)
    young = await create(service)
    await answer(service, await claim(service), 200)
    advance(service, 1 * DAY_MS + 1000)

    preview = await pruner_of(service).preview()
    assert preview["delivered"] == 1 and preview["rejected"] == 0
    totals = await pruner_of(service).round(pause_s=0)
    assert totals.events == 1
    assert totals.rows["deliveries"] == 1 and totals.rows["attempts"] == 1
    assert totals.rows["transitions"] >= 1
    assert not await exists(service, delivered)
    assert await exists(service, rejected) and await exists(service, young)

    advance(service, 23 * DAY_MS)  # rejected: 30 days; young delivered: 7
    totals = await pruner_of(service).round(pause_s=0)
    assert totals.events == 2
    assert not await exists(service, rejected) and not await exists(service, young)


async def test_many_events_go_in_small_batches(service: Service) -> None:
    await handler(service)
    made = [await create(service, n=n) for n in range(7)]
    await answer(service, await claim(service), 200)
    advance(service, 8 * DAY_MS)
    batches: list[int] = []
    totals = await pruner_of(service).round(on_batch=batches.append, pause_s=0)
    assert totals.events == 7
    assert max(batches) <= 2, "prune_batch_size=2"
    assert [await exists(service, i) for i in made] == [False] * 7


async def test_pending_and_scheduled_events_are_never_pruned(service: Service) -> None:
    await handler(service)
    pending = await create(service)
    await answer(service, await claim(service), 503)
    scheduled = await service.event_create(
        1, {"event_type": "Account/New", "start_time": "2099-01-01 00:00:00"}
    )
    advance(service, 400 * DAY_MS)
    preview = await pruner_of(service).preview()
    assert sum(preview.values()) == 0
    await pruner_of(service).round(pause_s=0)
    assert (await states(service, pending))[0] is EventState.PENDING
    assert (await states(service, scheduled))[0] is EventState.SCHEDULED


async def test_an_event_reopened_after_its_other_deliveries_finished_is_kept_whole(
    service: Service,
) -> None:
    await handler(service, "A")
    await handler(service, "B")
    i_event = await create(service)
    await answer(service, await claim(service), 200)
    before = await rows_of(service, [i_event])
    assert before["deliveries"] == 2
    advance(service, 8 * DAY_MS)
    first = (await service.event_get(i_event, 1)).deliveries[0]
    await service.delivery_retry(first.i_delivery, 1)  # one delivery reopened
    await pruner_of(service).round(pause_s=0)
    after = await rows_of(service, [i_event])
    assert after["deliveries"] == 2 and after["attempts"] == before["attempts"]

    await answer(service, await claim(service), 200)  # finished again, today
    advance(service, 6 * DAY_MS)
    await pruner_of(service).round(pause_s=0)
    assert await exists(service, i_event), "its last delivery finished 6 days ago"
    advance(service, 1 * DAY_MS + 1000)
    await pruner_of(service).round(pause_s=0)
    assert not await exists(service, i_event)
    assert (await states(service, await create(service)))[0] is EventState.SCHEDULED


async def test_the_windows_come_from_the_settings(store: Store) -> None:
    clock = FrozenClock()
    settings = load_settings({"ESPF_RETENTION": "delivered=1h, rejected=2h"})
    svc = Service(store, settings, clock)
    await svc.env_create("one", 1)
    await store.node_heartbeat(NODE, "host", 1, clock.now_ms())
    await handler(svc)
    i_event = await create(svc)
    await answer(svc, await claim(svc), 200)
    clock.advance(3_600_000 + 1000)
    assert (await Pruner(store, settings, clock).round(pause_s=0)).events == 1
    assert not await exists(svc, i_event)


async def test_account_history_goes_but_the_current_status_stays(service: Service) -> None:
    account = AccountRef(AccountKind.I_ACCOUNT, "541")
    other = AccountRef(AccountKind.ID, "alice")
    await service.account_status_report(1, account, "Netaccess", "IN_PROGRESS", "started", None)
    await service.account_status_report(1, account, "Netaccess", "OK", "done", None)
    await service.account_status_report(1, other, "Voice", "OK", "done", None)
    advance(service, 31 * DAY_MS)
    assert (await pruner_of(service).preview())["account_history"] == 1
    totals = await pruner_of(service).round(pause_s=0)
    assert totals.account_history == 1
    view = await service.account_status(1, account)
    assert [(c.group, c.status) for c in view.current] == [("Netaccess", "OK")]
    assert [c.status for c in view.history] == ["OK"]
    assert len((await service.account_status(1, other)).history) == 1


async def test_delivery_states_of_kept_events_are_untouched(service: Service) -> None:
    await handler(service)
    kept = await create(service)
    await answer(service, await claim(service), 200)
    await pruner_of(service).round(pause_s=0)
    assert await states(service, kept) == (EventState.DELIVERED, [DeliveryState.DELIVERED])


async def test_one_postgresql_node_prunes_at_a_time(postgres_url: str) -> None:
    # SQLite has one writer: nothing to take turns on.
    store = create_store(postgres_url)
    assert isinstance(store, PostgresStore)
    await store.open()
    try:
        await store.migrate()
        await store.ensure_builtin_event_types(1_700_000_000_000)
        clock = FrozenClock()
        svc = Service(store, load_settings({}), clock)
        await svc.env_create("one", 1)
        await store.node_heartbeat(NODE, "host", 1, clock.now_ms())
        await handler(svc)
        i_event = await create(svc)
        await answer(svc, await claim(svc), 200)
        clock.advance(8 * DAY_MS)
        other_node = await store._db.connect_one()
        try:
            async with other_node.transaction():
                await other_node.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.espf_prune'))"
                )
                totals = await pruner_of(svc).round(pause_s=0)
                assert totals.busy and totals.events == 0
                assert await exists(svc, i_event)
        finally:
            await other_node.close()
        assert (await pruner_of(svc).round(pause_s=0)).events == 1
    finally:
        await store.close()


async def test_db_stats_counts_rows_by_table_and_state(service: Service) -> None:
    await handler(service)
    first = await create(service)
    await answer(service, await claim(service), 200)
    advance(service, 8 * DAY_MS)
    await create(service)
    await answer(service, await claim(service), 503)
    stats = await service.db_stats()
    assert stats.rows["events"] == 2 and stats.rows["deliveries"] == 2
    assert stats.rows["attempts"] == 2
    assert {s: r.count for s, r in stats.events_by_state.items()} == {
        "delivered": 1,
        "pending": 1,
    }
    assert stats.events_by_state["delivered"].oldest_at == (
        (await service.event_get(first, 1)).event.created_at
    )
    assert stats.deliveries_by_state["pending"].count == 1
    assert stats.size_bytes > 0
    assert stats.next_prune["delivered"] == 1 and stats.next_prune["rejected"] == 0
    await pruner_of(service).round(pause_s=0)
    after = await service.db_stats()
    assert after.rows["events"] == 1 and after.next_prune["delivered"] == 0
