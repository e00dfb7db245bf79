"""Store contract for adaptive back-off and the circuit breaker, on both
backends: the effective rate lives in the limiter row, shared by every node,
falls once per interval whatever the number of overload answers and comes
back step by step; an open circuit lets one probe out at a time, the other
deliveries keep their attempt count, and the first good answer lets them all
go. Time is passed in."""

from __future__ import annotations

import dataclasses
import itertools

import orjson

from espf.adaptive_rate import ADJUST_INTERVAL_MS, DECREASE_FACTOR, INCREASE_SHARE
from espf.circuit_breaker import FIRST_PROBE_MS, PROBE_GROWTH
from espf.domain import AttemptOutcome, ClaimedDelivery, DeliveryState, Handler, NewEvent
from espf.service.maintenance import with_waiting_reasons
from espf.store import Store
from tests.factories import a_delivered_outcome

from .senders import sender_settings

T0 = 1_700_000_000_000


async def _setup(store: Store, **settings: object) -> tuple[Handler, int]:
    await store.env_create(1, "one", T0)
    custom = await store.event_type_create_custom("Custom/NextMonth", T0)
    handler = await store.handler_create(1, "app", sender_settings("a", **settings), T0)
    free = await store.handler_create(1, "free", sender_settings("f"), T0)
    for h in (handler, free):
        await store.subscription_add(h.i_handler, custom.i_event_type)
    return handler, custom.i_event_type


async def _events(store: Store, i_event_type: int, count: int, at: int = T0) -> None:
    for i in range(count):
        await store.event_insert(
            NewEvent(1, i_event_type, orjson.dumps({"i_account": i}).decode(), at), T0 - 1000
        )


def _failed(claimed: ClaimedDelivery, at: int, status: int = 503) -> AttemptOutcome:
    return AttemptOutcome(
        i_delivery=claimed.i_delivery,
        attempt_no=claimed.attempts + 1,
        started_at=at,
        duration_ms=5,
        status_code=status,
        error="busy",
        new_state=DeliveryState.PENDING,
        next_at=at + 3_600_000,
        i_event=claimed.i_event,
        i_handler=claimed.handler.i_handler,
        overloaded=status in (429, 503),
        rate_limited=bool(claimed.handler.max_rate),
    )


def _good(claimed: ClaimedDelivery, at: int) -> AttemptOutcome:
    return dataclasses.replace(
        a_delivered_outcome(claimed, at), rate_limited=bool(claimed.handler.max_rate)
    )


def _of(claimed: list[ClaimedDelivery], name: str = "app") -> list[ClaimedDelivery]:
    return [d for d in claimed if d.handler.name == name]


async def _effective(store: Store, handler: Handler) -> float | None:
    (flow,) = await store.handler_flows([handler.i_handler])
    return flow.effective_rate


async def test_overload_lowers_the_shared_rate_once_per_interval_and_good_answers_raise_it(
    store: Store,
) -> None:
    handler, i_type = await _setup(store, max_rate=10.0, breaker_after=0)
    await _events(store, i_type, 40)
    assert await _effective(store, handler) == 10.0

    sent = _of(await store.dispatch_due("n1", T0, 100))
    # Twenty 503s from two nodes within one interval: one decrease.
    await store.delivery_record_outcomes("n1", [_failed(d, T0 + 10) for d in sent[:2]])
    sent += _of(await store.dispatch_due("n2", T0 + 300, 100))
    await store.delivery_record_outcomes("n2", [_failed(d, T0 + 300) for d in sent[2:]])
    lowered = 10.0 * DECREASE_FACTOR
    assert await _effective(store, handler) == lowered

    # The claim spends tokens at the effective rate: one every 1/7.5 s.
    later = _of(await store.dispatch_due("n1", T0 + 5_000, 100))
    gaps = {b.send_at - a.send_at for a, b in itertools.pairwise(later)}
    assert gaps <= {133, 134}  # 1000 / 7.5 ms, rounded up or down by the slot's start

    # A good interval later: one step up, and then up to max_rate, never above.
    at = T0 + 5_000 + ADJUST_INTERVAL_MS
    await store.delivery_record_outcomes("n1", [_good(later[0], at)])
    assert await _effective(store, handler) == lowered + 10.0 * INCREASE_SHARE
    for d in later[1:]:
        at += ADJUST_INTERVAL_MS
        await store.delivery_record_outcomes("n1", [_good(d, at)])
    steps = round((10.0 - lowered) / (10.0 * INCREASE_SHARE))
    if len(later) - 1 >= steps:
        assert await _effective(store, handler) == 10.0


async def test_a_handler_without_a_rate_keeps_no_effective_rate(store: Store) -> None:
    handler, i_type = await _setup(store, breaker_after=0)
    await _events(store, i_type, 3)
    sent = _of(await store.dispatch_due("n1", T0, 100))
    await store.delivery_record_outcomes("n1", [_failed(d, T0 + 10) for d in sent])
    assert await _effective(store, handler) is None
    # Nothing went through the limiter: no row was made for it.
    assert await store.next_due_at() == T0 + 10 + 3_600_000


async def test_an_open_circuit_sends_one_probe_at_a_time_and_closes_on_success(
    store: Store,
) -> None:
    handler, i_type = await _setup(store, breaker_after=3)
    await _events(store, i_type, 3)
    sent = _of(await store.dispatch_due("n1", T0, 100))
    health = await store.delivery_record_outcomes("n1", [_failed(d, T0 + 10) for d in sent])
    opened = [h for h in health if h.i_handler == handler.i_handler]
    assert opened[0].circuit_opened is True
    assert opened[0].failures_in_row == 3
    await _events(store, i_type, 7, at=T0 + 50)

    # Open: the other handler's deliveries go, this one's wait for the probe.
    assert [d.handler.name for d in await store.dispatch_due("n1", T0 + 100, 100)] == ["free"] * 7
    probe_at = T0 + 15 + FIRST_PROBE_MS
    assert await store.next_due_at() == probe_at
    (flow,) = await store.handler_flows([handler.i_handler])
    assert (flow.circuit_opened_at, flow.probe_at) == (T0 + 15, probe_at)
    waiting = await store.delivery_list_for_event(sent[0].i_event + 5)
    shown = await with_waiting_reasons(store, waiting, T0 + 200)
    assert next(d.waiting for d in shown if d.i_handler == handler.i_handler) == (
        "circuit open since 2023-11-14 22:13:20.015 UTC: the handler failed every recent "
        "attempt; one probe at a time, the next at 2023-11-14 22:13:21.015 UTC"
    )

    probe = await store.dispatch_due("n2", probe_at, 100)
    assert len(probe) == 1 and probe[0].attempts == 0
    assert await store.dispatch_due("n1", probe_at + 1, 100) == []  # one at a time
    health = await store.delivery_record_outcomes("n2", [_failed(probe[0], probe_at + 5)])
    assert health[0].circuit_opened is None  # still open, not opened again
    # The next probe waits twice as long.
    second_at = probe_at + FIRST_PROBE_MS * PROBE_GROWTH
    assert await store.next_due_at() == second_at
    assert await store.dispatch_due("n1", second_at - 1, 100) == []
    probe = await store.dispatch_due("n1", second_at, 100)
    assert len(probe) == 1

    health = await store.delivery_record_outcomes("n1", [_good(probe[0], second_at + 5)])
    assert [h.circuit_opened for h in health] == [False]
    (flow,) = await store.handler_flows([handler.i_handler])
    assert (flow.circuit_opened_at, flow.failures_in_row) == (None, 0)
    rest = _of(await store.dispatch_due("n1", second_at + 10, 100))
    assert len(rest) == 7 - 2
    assert {d.attempts for d in rest} == {0}  # held by the circuit: no attempt spent


async def test_failures_below_the_threshold_and_a_success_reset_the_run(store: Store) -> None:
    handler, i_type = await _setup(store, breaker_after=3)
    await _events(store, i_type, 4)
    sent = _of(await store.dispatch_due("n1", T0, 100))
    await store.delivery_record_outcomes("n1", [_failed(d, T0 + 10) for d in sent[:2]])
    assert (await store.handler_get(1, "app") or handler).failures_in_row == 2
    await store.delivery_record_outcomes("n1", [_good(sent[2], T0 + 20)])
    assert (await store.handler_get(1, "app") or handler).failures_in_row == 0
    health = await store.delivery_record_outcomes("n1", [_failed(sent[3], T0 + 30)])
    assert health[0].circuit_opened is None and health[0].failures_in_row == 1
