"""The circuit breaker and adaptive back-off with a real dispatcher and a
real Application, on both backends: a dead Application with hundreds of due
deliveries costs a few attempts, not one per delivery, and everything is
delivered once it is back, each delivery at its first attempt or close; the
circuit's opening and closing are logged once each. An Application that
takes fewer requests than max_rate lowers the handler's effective rate."""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
import pytest
from bench.flow_receiver import FlowReceiver

from espf.circuit_breaker import DEFAULT_BREAKER_AFTER
from espf.clock import SystemClock
from espf.config import Settings
from espf.dispatch.breaker_gate import PROBATION_REQUESTS
from espf.dispatch.dispatcher import Dispatcher
from espf.domain import AuthMethod, DeliveryState, HandlerSettings, NewEvent, RetryOverrides
from espf.store import Store

DUE = 300
OUTAGE_S = 4.0


async def _world(store: Store, url: str, **settings: object) -> int:
    now = SystemClock().now_ms()
    await store.env_create(1, "one", now)
    i_type = (await store.event_type_create_custom("Custom/Flow", now)).i_event_type
    handler_settings = HandlerSettings(
        url=url, auth_method=AuthMethod.NONE, auth_header="Authorization", timeout_s=10.0,
        enabled=True, retry=RetryOverrides(schedule="1,2,4"), **settings,  # type: ignore[arg-type]
    )  # fmt: skip
    handler = await store.handler_create(1, "app", handler_settings, now)
    await store.subscription_add(handler.i_handler, i_type)
    for i in range(DUE):
        await store.event_insert(NewEvent(1, i_type, orjson.dumps({"i": i}).decode(), now), now)
    return handler.i_handler


async def test_a_dead_application_costs_a_few_attempts_and_gets_everything_after(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = await FlowReceiver().start()
    down = receiver.paths["app"]
    down.down = True
    await _world(store, receiver.url("app"))
    dispatcher = Dispatcher(store, Settings(poll_interval_s=5.0))
    caplog.set_level(logging.WARNING, logger="espf.dispatch")
    running = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.sleep(OUTAGE_S)
        failed = len(down.requests)
        down.down = False
        async with asyncio.timeout(20):
            while (await store.delivery_count_by_state()).get("delivered", 0) < DUE:
                assert not running.done(), running
                await asyncio.sleep(0.05)
    finally:
        await dispatcher.stop()
        await running
        await receiver.stop()

    # The first turns (PROBATION_REQUESTS at a time) until the run of
    # failures opens the circuit, then a probe at 1 s and at 3 s: far fewer
    # than one attempt per delivery.
    assert failed <= DEFAULT_BREAKER_AFTER + PROBATION_REQUESTS + 3, failed
    assert len(down.arrivals(200)) == DUE
    deliveries = [d for d in await _all_deliveries(store)]
    assert sum(d.attempts for d in deliveries) == DUE + failed  # no attempt unaccounted
    messages = [r.getMessage() for r in caplog.records]
    assert sum("circuit open after" in m for m in messages) == 1
    assert sum("circuit closed" in m for m in messages) == 1


async def _all_deliveries(store: Store) -> list:  # type: ignore[type-arg]
    found = []
    for i_event in range(1, DUE + 1):
        found += await store.delivery_list_for_event(i_event)
    assert {d.state for d in found} == {DeliveryState.DELIVERED}
    return found


async def test_an_application_that_takes_less_lowers_the_effective_rate(store: Store) -> None:
    receiver = await FlowReceiver().start()
    app = receiver.paths["app"]
    app.capacity = 5
    i_handler = await _world(store, receiver.url("app"), max_rate=20.0, breaker_after=0)
    dispatcher = Dispatcher(store, Settings(poll_interval_s=5.0))
    running = asyncio.create_task(dispatcher.run())
    rates: list[float] = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < 6.0:
            (flow,) = await store.handler_flows([i_handler])
            rates.append(flow.effective_rate or 0.0)
            await asyncio.sleep(0.25)
    finally:
        await dispatcher.stop()
        await running
        await receiver.stop()
    assert rates[0] == 20.0
    # Each second with 503s cuts it by a quarter, until it comes near what
    # the Application takes (5/s: 20, 15, 11.3, 8.4, 6.3, 4.7, then up by
    # 0.4/s each second without a 503).
    settled = rates[-8:]
    assert 0.75 * 5 - 0.5 <= sum(settled) / len(settled) <= 2 * 5, rates
    assert app.arrivals(200) and app.arrivals(503)
