"""Delivery limits with a real dispatcher and a real Application, on both
backends: a handler limited to 5 requests a second gets them at that pace
while an unlimited handler's deliveries go out at once, and a handler with
max_in_flight never has more requests open than that."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
import pytest

from espf.clock import SystemClock
from espf.config import Settings
from espf.dispatch.dispatcher import Dispatcher
from espf.domain import AuthMethod, DeliveryState, HandlerSettings, NewEvent
from espf.maintenance import MaintenanceWindow
from espf.store import Store
from tests.limits.timing_receiver import TimingReceiver, most_in_one_second


@pytest.fixture
async def receiver() -> AsyncIterator[TimingReceiver]:
    application = await TimingReceiver().start()
    yield application
    await application.stop()


async def _handler(store: Store, name: str, url: str, i_type: int, **limits: object) -> None:
    settings = HandlerSettings(
        url=url, auth_method=AuthMethod.NONE, auth_header="Authorization", timeout_s=10.0,
        enabled=True, **limits,  # type: ignore[arg-type]
    )  # fmt: skip
    handler = await store.handler_create(1, name, settings, SystemClock().now_ms())
    await store.subscription_add(handler.i_handler, i_type)


async def _world(store: Store) -> int:
    now = SystemClock().now_ms()
    await store.env_create(1, "one", now)
    return (await store.event_type_create_custom("Custom/Limits", now)).i_event_type


async def _events(store: Store, i_type: int, count: int) -> None:
    now = SystemClock().now_ms()
    for i in range(count):
        variables = orjson.dumps({"i_account": i}).decode()
        await store.event_insert(NewEvent(1, i_type, variables, now), now)


async def _run_until(store: Store, expected: int, timeout_s: float) -> None:
    """A dispatcher runs until ``expected`` deliveries are delivered."""
    dispatcher = Dispatcher(store, Settings(poll_interval_s=5.0))
    running = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(timeout_s):
            while (await store.delivery_count_by_state()).get(
                DeliveryState.DELIVERED.value, 0
            ) < expected:
                assert not running.done(), running
                await asyncio.sleep(0.02)
    finally:
        await dispatcher.stop()
        await running


async def test_a_limited_handler_never_delays_an_unlimited_one(
    store: Store, receiver: TimingReceiver
) -> None:
    i_type = await _world(store)
    await _handler(store, "slow", receiver.url("slow"), i_type, max_rate=5.0)
    await _handler(store, "fast", receiver.url("fast"), i_type)
    await _events(store, i_type, 12)
    started = time.monotonic()
    await _run_until(store, 24, timeout_s=15)

    slow, fast = receiver.arrivals["slow"], receiver.arrivals["fast"]
    assert len(slow) == len(fast) == 12
    # 5/s with a burst of 1: 12 requests take 11 intervals of 200 ms (less
    # a little: the first request also opens the connection, so it arrives late).
    assert max(slow) - min(slow) >= 11 * 0.2 - 0.15
    assert most_in_one_second(slow) <= 6
    # Everything for the unlimited handler went out while the limited one
    # had sent only its first few.
    assert max(fast) - started < 1.0
    assert sum(1 for at in slow if at <= max(fast)) <= 6


async def test_never_more_requests_open_than_max_in_flight(store: Store) -> None:
    receiver = await TimingReceiver(hold_s=0.2).start()
    try:
        i_type = await _world(store)
        await _handler(store, "narrow", receiver.url("narrow"), i_type, max_in_flight=4)
        await _events(store, i_type, 20)
        started = time.monotonic()
        await _run_until(store, 20, timeout_s=15)
        elapsed = time.monotonic() - started
    finally:
        await receiver.stop()
    assert len(receiver.arrivals["narrow"]) == 20
    assert receiver.most_open["narrow"] == 4
    # 20 requests, 4 at a time, 200 ms each: at least 5 rounds; and the
    # freed slots are used at once, not at the next poll.
    assert 1.0 <= elapsed < 3.0


async def test_a_window_opening_while_events_are_due_holds_them_until_it_ends(
    store: Store, receiver: TimingReceiver
) -> None:
    i_type = await _world(store)
    await _handler(store, "hss", receiver.url("hss"), i_type)
    handler = await store.handler_get(1, "hss")
    assert handler is not None
    now = SystemClock().now_ms()
    opens, closes = now + 1000, now + 2500
    window = MaintenanceWindow(0, handler.i_handler, starts_at=opens, ends_at=closes)
    await store.maintenance_add(handler, window, now)
    # 30 events due every 100 ms from now on: before, inside and after the window.
    events = []
    for i in range(30):
        variables = orjson.dumps({"i_account": i}).decode()
        events.append(await store.event_insert(NewEvent(1, i_type, variables, now + 100 * i), now))
    wall_offset = time.time() - time.monotonic()

    await _run_until(store, 30, timeout_s=15)

    arrivals = [int((at + wall_offset) * 1000) for at in receiver.arrivals["hss"]]
    assert len(arrivals) == 30
    # Nothing inside (a request sent just before it opens may land a moment after).
    assert not [at for at in arrivals if opens + 50 <= at < closes]
    after = sorted(at for at in arrivals if at >= closes)
    assert len(after) >= 14  # those due inside it, and the ones due after
    # They went out when it ended, not at the next poll (5 s here).
    assert after[0] - closes < 500
    # Waiting spent no attempt: each was delivered at its first.
    for i_event in events:
        (delivery,) = await store.delivery_list_for_event(i_event)
        assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)
