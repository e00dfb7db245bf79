"""Store contract for per-handler delivery limits, on both backends: the
claim itself respects max_rate (a token bucket in the database, shared by
every node) and max_in_flight (requests open on every node), a limited
handler never holds back an unlimited one, and a settings change moves a
handler's waiting deliveries between the two claims. Time is passed in."""

from __future__ import annotations

import dataclasses
from collections import Counter

import orjson

from espf.domain import ClaimedDelivery, Handler, NewEvent
from espf.maintenance import MaintenanceWindow
from espf.store import Store, create_store
from tests.factories import a_delivered_outcome

from .senders import sender_settings

T0 = 1_700_000_000_000


async def _setup(store: Store, **limits: object) -> tuple[Handler, Handler, int]:
    await store.env_create(1, "one", T0)
    custom = await store.event_type_create_custom("Custom/NextMonth", T0)
    limited = await store.handler_create(1, "limited", sender_settings("l", **limits), T0)
    free = await store.handler_create(1, "free", sender_settings("f"), T0)
    for handler in (limited, free):
        await store.subscription_add(handler.i_handler, custom.i_event_type)
    return limited, free, custom.i_event_type


async def _events(store: Store, i_event_type: int, count: int) -> None:
    for i in range(count):
        await store.event_insert(
            NewEvent(1, i_event_type, orjson.dumps({"i_account": i}).decode(), T0), T0 - 1000
        )


def _by_handler(claimed: list[ClaimedDelivery]) -> Counter[str]:
    return Counter(d.handler.name for d in claimed)


async def test_the_rate_is_one_bucket_for_every_node_and_never_holds_back_others(
    store: Store,
) -> None:
    limited, _, i_type = await _setup(store, max_rate=10.0, rate_burst=3)
    assert (limited.max_rate, limited.rate_burst) == (10.0, 3)
    await _events(store, i_type, 10)

    first = await store.dispatch_due("n1", T0, 100)
    # The burst and what comes within the 250 ms lookahead (2.5 tokens at
    # 10/s), each with its send slot, the first 100 ms after the claim (the
    # headroom for its commit); and all the rest.
    assert _by_handler(first) == {"free": 10, "limited": 5}
    assert _slots(first) == [T0 + 100, T0 + 100, T0 + 100, T0 + 200, T0 + 300]
    assert {d.send_at for d in first if d.handler.name == "free"} == {0}
    assert await store.dispatch_due("n1", T0, 100) == []  # the bucket is spent
    assert await store.next_due_at("n1") == T0 + 50  # a token within the lookahead

    second = await store.dispatch_due("n1", T0 + 100, 100)
    assert _slots(second) == [T0 + 400]
    third = await store.dispatch_due("n1", T0 + 350, 100)
    # Every slot 100 ms after the one before.
    assert _slots(third) == [T0 + 500, T0 + 600, T0 + 700]
    assert await store.next_due_at("n1") == T0 + 450


async def test_one_node_at_a_time_sends_a_rate_limited_handlers_requests(store: Store) -> None:
    _, _, i_type = await _setup(store, max_rate=10.0)
    await _events(store, i_type, 20)
    await store.node_heartbeat("n1", "host", 1, T0)
    first = await store.dispatch_due("n1", T0, 100)
    assert _slots(first)[-1] == T0 + 300  # 1 token and 2.5 ahead: slots to T0 + 300
    # n1's turn lasts 500 ms past its last slot (on the claim's clock, 100 ms
    # earlier): others are not even due before, and take nothing.
    assert await store.next_due_at("n2") == T0 + 700
    assert await store.next_due_at("n1") == T0 + 50
    assert _by_handler(await store.dispatch_due("n2", T0 + 600, 100)) == {}
    # n1 claiming again keeps its turn.
    assert _by_handler(await store.dispatch_due("n1", T0 + 600, 100)) == {"limited": 3}
    assert _by_handler(await store.dispatch_due("n2", T0 + 900, 100)) == {}
    # n1 went quiet: its turn passed.
    taken = await store.dispatch_due("n2", T0 + 2000, 100)
    assert _by_handler(taken) == {"limited": 3}
    # A node stopping cleanly ends its turn at once.
    await store.node_heartbeat("n2", "host", 2, T0 + 2000)
    await store.node_release("n2", T0 + 2001)
    assert _by_handler(await store.dispatch_due("n1", T0 + 2500, 100)) == {"limited": 3}


def _slots(claimed: list[ClaimedDelivery]) -> list[int]:
    return sorted(d.send_at for d in claimed if d.handler.name == "limited")


async def test_at_most_max_in_flight_open_over_every_node(store: Store) -> None:
    _, _, i_type = await _setup(store, max_in_flight=2)
    await _events(store, i_type, 5)

    first = await store.dispatch_due("n1", T0, 100)
    assert _by_handler(first) == {"free": 5, "limited": 2}
    assert await store.dispatch_due("n2", T0 + 10, 100) == []
    # Every allowed request is open: nothing is due until an outcome.
    assert await store.next_due_at() is None

    done = next(d for d in first if d.handler.name == "limited")
    await store.delivery_record_outcomes("n1", [a_delivered_outcome(done, T0 + 20)])
    assert await store.next_due_at() == T0
    assert _by_handler(await store.dispatch_due("n2", T0 + 30, 100)) == {"limited": 1}


async def test_a_dead_nodes_open_requests_stop_counting_once_rescued(store: Store) -> None:
    _, _, i_type = await _setup(store, max_in_flight=1)
    await _events(store, i_type, 2)
    await store.node_heartbeat("n1", "host", 1, T0)
    assert _by_handler(await store.dispatch_due("n1", T0, 100))["limited"] == 1
    assert await store.dispatch_due("n2", T0 + 10, 100) == []

    await store.node_heartbeat("n2", "host", 2, T0 + 60_000)
    assert await store.node_rescue_orphans(T0 + 60_000, T0 + 45_000) == 3  # 2 free, 1 limited
    assert _by_handler(await store.dispatch_due("n2", T0 + 60_000, 100)) == {
        "free": 2,
        "limited": 1,
    }


async def test_setting_or_removing_a_limit_moves_waiting_deliveries(store: Store) -> None:
    handler, _, i_type = await _setup(store)
    paused = dataclasses.replace(handler, paused=True)
    await store.handler_set_paused(paused, True, "by test", T0, None)
    await _events(store, i_type, 4)
    assert _by_handler(await store.dispatch_due("n1", T0, 100)) == {"free": 4}

    # Limited while its deliveries wait: they go out one at a time.
    handler = await store.handler_update(dataclasses.replace(handler, max_in_flight=1), T0)
    await store.handler_set_paused(handler, False, "", T0, None)
    assert _by_handler(await store.dispatch_due("n1", T0 + 1, 100)) == {"limited": 1}
    assert await store.dispatch_due("n1", T0 + 2, 100) == []

    # The limit removed: the rest go out at once.
    handler = await store.handler_get(1, "limited") or handler
    await store.handler_update(dataclasses.replace(handler, max_in_flight=0), T0 + 3)
    assert _by_handler(await store.dispatch_due("n1", T0 + 4, 100)) == {"limited": 3}


async def test_unlimited_claims_skip_the_limiter_until_another_process_adds_one(
    store: Store, database_url: str
) -> None:
    limited, _, i_type = await _setup(store)
    assert await store.next_due_at() is None  # no handler has limits: claims skip them
    other = create_store(database_url)  # another process sets a limit
    await other.open()
    try:
        await other.handler_update(dataclasses.replace(limited, max_rate=1.0), T0)
        await _events(other, i_type, 3)
    finally:
        await other.close()

    assert _by_handler(await store.dispatch_due("n1", T0, 100)) == {"free": 3}
    # The sleep that follows asks when the next work is due, and learns of it.
    assert await store.next_due_at() == T0
    assert _by_handler(await store.dispatch_due("n1", T0, 100)) == {"limited": 1}


async def test_nothing_goes_out_in_a_maintenance_window_and_all_of_it_after(
    store: Store,
) -> None:
    handler, _, i_type = await _setup(store)
    window = MaintenanceWindow(0, handler.i_handler, starts_at=T0 + 1000, ends_at=T0 + 5000)
    i_window = await store.maintenance_add(handler, window, T0)
    assert [w.i_window for w in await store.maintenance_list(handler.i_handler)] == [i_window]
    await _events(store, i_type, 3)
    # Before the window: sent as usual.
    assert _by_handler(await store.dispatch_due("n1", T0, 100)) == {"free": 3, "limited": 3}

    for i in range(4):
        await store.event_insert(
            NewEvent(1, i_type, orjson.dumps({"i": i}).decode(), T0 + 2000), T0
        )
    # Inside it: the other handler's go out, this one's wait for its end.
    assert _by_handler(await store.dispatch_due("n1", T0 + 2000, 100)) == {"free": 4}
    assert await store.next_due_at() == T0 + 5000
    assert await store.dispatch_due("n2", T0 + 4999, 100) == []
    after = await store.dispatch_due("n2", T0 + 5000, 100)
    assert _by_handler(after) == {"limited": 4}
    assert {d.attempts for d in after} == {0}  # waiting spent no attempt


async def test_a_removed_window_lets_waiting_deliveries_go(store: Store) -> None:
    handler, _, i_type = await _setup(store)
    window = MaintenanceWindow(0, handler.i_handler, starts_at=T0 - 1000, ends_at=T0 + 60_000)
    i_window = await store.maintenance_add(handler, window, T0)
    await _events(store, i_type, 2)
    assert _by_handler(await store.dispatch_due("n1", T0, 100)) == {"free": 2}
    assert not await store.maintenance_remove(handler, i_window + 1000, T0 + 10)
    assert await store.maintenance_remove(handler, i_window, T0 + 10)
    assert await store.maintenance_list(handler.i_handler) == []
    assert _by_handler(await store.dispatch_due("n1", T0 + 20, 100)) == {"limited": 2}
