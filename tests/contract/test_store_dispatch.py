"""Store contract, the delivery side: fan-out of due events, claims,
outcomes, held deliveries, and dispatcher nodes that die or stop.
Runs once per backend (see tests/conftest.py). Time is always passed in."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import orjson
import pytest

from espf.domain import (
    AttemptOutcome,
    ClaimedDelivery,
    Delivery,
    DeliveryState,
    EventState,
    Handler,
    NewEvent,
)
from espf.store import Store

from .senders import sender_settings

T0 = 1_700_000_000_000
TTL = 15_000  # a node silent this long is dead


@dataclass
class World:
    """Environments 1 and 2 and type Custom/NextMonth, with these handlers:

    - ``app`` (env 1): enabled, subscribed -> gets deliveries
    - ``idle`` (env 1): enabled, not subscribed
    - ``off`` (env 1): disabled, subscribed
    - ``other_env`` (env 2): enabled, subscribed, but another environment
    """

    store: Store
    i_event_type: int
    app: Handler
    idle: Handler
    off: Handler
    other_env: Handler

    async def event(self, start_at: int = T0, i_env: int = 1, i_account: int = 541) -> int:
        return await self.store.event_insert(
            NewEvent(
                i_env=i_env,
                i_event_type=self.i_event_type,
                variables_json=orjson.dumps({"i_account": i_account}).decode(),
                start_at=start_at,
            ),
            T0 - 1000,
        )

    async def deliveries(self, i_event: int) -> list[Delivery]:
        return await self.store.delivery_list_for_event(i_event)

    async def only_delivery(self, i_event: int) -> Delivery:
        [delivery] = await self.deliveries(i_event)
        return delivery

    async def event_state(self, i_event: int) -> EventState:
        event = await self.store.event_get(i_event, None)
        assert event is not None
        return event.state

    async def set_enabled(self, handler: Handler, enabled: bool, now: int = T0) -> None:
        await self.store.handler_update(dataclasses.replace(handler, enabled=enabled), now)


@pytest.fixture
async def world(store: Store) -> World:
    await store.env_create(1, "one", T0)
    await store.env_create(2, "two", T0)
    custom = await store.event_type_create_custom("Custom/NextMonth", T0)
    app = await store.handler_create(1, "app", sender_settings("app"), T0)
    idle = await store.handler_create(1, "idle", sender_settings("idle"), T0)
    off = await store.handler_create(1, "off", sender_settings("off", enabled=False), T0)
    other_env = await store.handler_create(2, "other_env", sender_settings("other_env"), T0)
    for handler in (app, off, other_env):
        await store.subscription_add(handler.i_handler, custom.i_event_type)
    return World(store, custom.i_event_type, app, idle, off, other_env)


def outcome(
    claimed: ClaimedDelivery,
    state: DeliveryState,
    *,
    status: int | None,
    at: int = T0 + 100,
    duration_ms: int = 25,
    error: str | None = None,
    next_at: int | None = None,
) -> AttemptOutcome:
    return AttemptOutcome(
        i_delivery=claimed.i_delivery,
        attempt_no=claimed.attempts + 1,
        started_at=at,
        duration_ms=duration_ms,
        status_code=status,
        error=error,
        new_state=state,
        next_at=next_at,
    )


# -- fan-out ---------------------------------------------------------------------------
async def test_nothing_happens_before_the_start_time(world: World) -> None:
    i_event = await world.event(start_at=T0 + 1000)
    assert await world.store.dispatch_due("node-a", T0 + 999, 100) == []
    assert await world.event_state(i_event) is EventState.SCHEDULED
    assert await world.deliveries(i_event) == []  # no fan-out before it is due


async def test_due_event_goes_to_enabled_subscribed_handlers_of_its_environment(
    world: World,
) -> None:
    i_event = await world.event(start_at=T0 + 1000)
    claimed = await world.store.dispatch_due("node-a", T0 + 1000, 100)

    assert [c.handler.name for c in claimed] == ["app"]
    assert await world.event_state(i_event) is EventState.IN_FLIGHT
    delivery = await world.only_delivery(i_event)
    assert (delivery.handler_name, delivery.state, delivery.attempts) == (
        "app",
        DeliveryState.IN_FLIGHT,
        0,
    )


async def test_event_of_another_environment_goes_to_that_environments_handler(
    world: World,
) -> None:
    i_event = await world.event(i_env=2)
    claimed = await world.store.dispatch_due("node-a", T0, 100)
    assert [(c.i_event, c.handler.name) for c in claimed] == [(i_event, "other_env")]


async def test_every_subscribed_handler_gets_its_own_delivery(world: World) -> None:
    await world.store.subscription_add(world.idle.i_handler, world.i_event_type)
    i_event = await world.event()
    claimed = await world.store.dispatch_due("node-a", T0, 100)
    assert sorted(c.handler.name for c in claimed) == ["app", "idle"]
    assert len({c.i_delivery for c in claimed}) == 2
    assert sorted(d.handler_name for d in await world.deliveries(i_event)) == ["app", "idle"]


async def test_subscribers_are_those_of_the_due_time_not_of_creation(world: World) -> None:
    i_event = await world.event(start_at=T0 + 1000)
    await world.store.subscription_add(world.idle.i_handler, world.i_event_type)
    await world.store.subscription_remove(world.app.i_handler, world.i_event_type)
    claimed = await world.store.dispatch_due("node-a", T0 + 1000, 100)
    assert [(c.i_event, c.handler.name) for c in claimed] == [(i_event, "idle")]


async def test_claimed_delivery_carries_what_sending_needs(world: World) -> None:
    i_event = await world.event(i_account=541)
    [claimed] = await world.store.dispatch_due("node-a", T0, 100)
    assert claimed.i_event == i_event
    assert claimed.i_env == 1
    assert claimed.event_type == "Custom/NextMonth"
    assert orjson.loads(claimed.variables_json) == {"i_account": 541}
    assert claimed.attempts == 0
    assert claimed.handler == world.app


async def test_event_without_any_handler_becomes_unrouted(world: World) -> None:
    account_new = 17  # nobody is subscribed to it
    i_event = await world.store.event_insert(NewEvent(1, account_new, "{}", T0), T0)
    assert await world.store.dispatch_due("node-a", T0, 100) == []
    assert await world.event_state(i_event) is EventState.UNROUTED
    assert await world.deliveries(i_event) == []
    # It is done with: nothing more is due, nothing is claimed later.
    assert await world.store.next_due_at() is None
    assert await world.store.dispatch_due("node-a", T0 + 60_000, 100) == []


async def test_disabled_subscribed_handler_alone_leaves_the_event_unrouted(world: World) -> None:
    await world.store.subscription_remove(world.app.i_handler, world.i_event_type)
    i_event = await world.event()
    assert await world.store.dispatch_due("node-a", T0, 100) == []
    assert await world.event_state(i_event) is EventState.UNROUTED


# -- claims ----------------------------------------------------------------------------
async def test_claims_respect_the_limit_and_take_the_earliest_first(world: World) -> None:
    # Created in a shuffled order of start times.
    starts = [T0 + 40, T0 + 10, T0 + 30, T0 + 50, T0 + 20]
    by_start = {await world.event(start_at=start): start for start in starts}

    batches = []
    for _ in range(4):
        claimed = await world.store.dispatch_due("node-a", T0 + 100, 2)
        batches.append([by_start[c.i_event] for c in claimed])
    assert [len(b) for b in batches] == [2, 2, 1, 0]
    assert sorted(batches[0]) == [T0 + 10, T0 + 20]
    assert sorted(batches[1]) == [T0 + 30, T0 + 40]
    assert batches[2] == [T0 + 50]


async def test_a_claimed_delivery_is_not_claimed_again(world: World) -> None:
    for _ in range(3):
        await world.event()
    first = await world.store.dispatch_due("node-a", T0, 100)
    assert len(first) == 3
    assert await world.store.dispatch_due("node-b", T0 + 60_000, 100) == []
    assert await world.store.dispatch_due("node-a", T0 + 60_000, 100) == []


async def test_only_due_events_are_claimed(world: World) -> None:
    due = await world.event(start_at=T0)
    await world.event(start_at=T0 + 1)
    claimed = await world.store.dispatch_due("node-a", T0, 100)
    assert [c.i_event for c in claimed] == [due]


# -- next due time ---------------------------------------------------------------------
async def test_next_due_at_follows_scheduled_events_and_pending_retries(world: World) -> None:
    assert await world.store.next_due_at() is None
    await world.event(start_at=T0 + 5000)
    await world.event(start_at=T0 + 3000)
    assert await world.store.next_due_at() == T0 + 3000

    [claimed] = await world.store.dispatch_due("node-a", T0 + 3000, 100)
    # In flight: not due again; the other event is next.
    assert await world.store.next_due_at() == T0 + 5000

    await world.store.delivery_record_outcomes(
        "node-a",
        [outcome(claimed, DeliveryState.PENDING, status=503, next_at=T0 + 4000)],
    )
    assert await world.store.next_due_at() == T0 + 4000


async def test_next_due_at_ignores_finished_and_held_deliveries(world: World) -> None:
    await world.event()
    [claimed] = await world.store.dispatch_due("node-a", T0, 100)
    await world.store.delivery_record_outcomes(
        "node-a", [outcome(claimed, DeliveryState.PENDING, status=500, next_at=T0 + 2000)]
    )
    await world.set_enabled(world.app, False)
    assert await world.store.next_due_at() is None
    await world.set_enabled(world.app, True)
    assert await world.store.next_due_at() == T0 + 2000


# -- outcomes --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "status", "error"),
    [
        (DeliveryState.DELIVERED, 200, None),
        (DeliveryState.REJECTED, 400, "unknown account"),
        (DeliveryState.FAILED, 503, "gave up"),
        (DeliveryState.FAILED, None, "no answer within 300 s"),
    ],
)
async def test_final_outcome_is_recorded_with_its_attempt(
    world: World, state: DeliveryState, status: int | None, error: str | None
) -> None:
    i_event = await world.event()
    [claimed] = await world.store.dispatch_due("node-a", T0, 100)
    await world.store.delivery_record_outcomes(
        "node-a", [outcome(claimed, state, status=status, error=error, at=T0 + 10)]
    )

    delivery = await world.only_delivery(i_event)
    assert delivery.state is state
    assert delivery.attempts == 1
    assert delivery.next_at is None
    assert delivery.finished_at == T0 + 10 + 25  # started + duration
    assert (delivery.last_status, delivery.last_error) == (status, error)
    [attempt] = delivery.attempt_log
    assert (attempt.attempt_no, attempt.started_at, attempt.duration_ms) == (1, T0 + 10, 25)
    assert (attempt.status_code, attempt.error, attempt.outcome) == (status, error, state.value)
    # Final: never claimed again.
    assert await world.store.dispatch_due("node-a", T0 + 86_400_000, 100) == []


async def test_retry_waits_for_next_at_then_carries_its_attempt_count(world: World) -> None:
    i_event = await world.event()
    [first] = await world.store.dispatch_due("node-a", T0, 100)
    await world.store.delivery_record_outcomes(
        "node-a",
        [outcome(first, DeliveryState.PENDING, status=500, error="oops", next_at=T0 + 2000)],
    )
    pending = await world.only_delivery(i_event)
    assert (pending.state, pending.attempts, pending.next_at) == (
        DeliveryState.PENDING,
        1,
        T0 + 2000,
    )
    assert (pending.last_status, pending.last_error, pending.finished_at) == (500, "oops", None)
    assert [a.outcome for a in pending.attempt_log] == ["retry"]

    assert await world.store.dispatch_due("node-a", T0 + 1999, 100) == []
    [second] = await world.store.dispatch_due("node-b", T0 + 2000, 100)
    assert (second.i_delivery, second.attempts) == (first.i_delivery, 1)

    await world.store.delivery_record_outcomes(
        "node-b", [outcome(second, DeliveryState.DELIVERED, status=200, at=T0 + 2010)]
    )
    delivered = await world.only_delivery(i_event)
    assert (delivered.state, delivered.attempts) == (DeliveryState.DELIVERED, 2)
    assert [(a.attempt_no, a.status_code, a.outcome) for a in delivered.attempt_log] == [
        (1, 500, "retry"),
        (2, 200, "delivered"),
    ]


async def test_many_outcomes_in_one_call(world: World) -> None:
    events = [await world.event(i_account=n) for n in range(4)]
    claimed = await world.store.dispatch_due("node-a", T0, 100)
    states = [
        DeliveryState.DELIVERED,
        DeliveryState.REJECTED,
        DeliveryState.FAILED,
        DeliveryState.PENDING,
    ]
    by_event = {c.i_event: c for c in claimed}
    await world.store.delivery_record_outcomes(
        "node-a",
        [
            outcome(by_event[i_event], state, status=200, next_at=T0 + 500)
            for i_event, state in zip(events, states, strict=True)
        ],
    )
    for i_event, state in zip(events, states, strict=True):
        delivery = await world.only_delivery(i_event)
        assert delivery.state is state
        assert len(delivery.attempt_log) == 1
    assert await world.store.delivery_count_by_state() == {
        "delivered": 1,
        "rejected": 1,
        "failed": 1,
        "pending": 1,
    }


async def test_outcome_from_a_node_that_does_not_hold_the_delivery_is_ignored(
    world: World,
) -> None:
    i_event = await world.event()
    [claimed] = await world.store.dispatch_due("node-a", T0, 100)
    await world.store.delivery_record_outcomes(
        "node-b", [outcome(claimed, DeliveryState.DELIVERED, status=200)]
    )
    delivery = await world.only_delivery(i_event)
    assert (delivery.state, delivery.attempts) == (DeliveryState.IN_FLIGHT, 0)
    # ...but the request happened, so the log keeps it.
    assert [a.status_code for a in delivery.attempt_log] == [200]

    await world.store.delivery_record_outcomes(
        "node-a", [outcome(claimed, DeliveryState.REJECTED, status=404)]
    )
    assert (await world.only_delivery(i_event)).state is DeliveryState.REJECTED


async def test_late_outcome_of_a_node_taken_for_dead_is_ignored(world: World) -> None:
    i_event = await world.event()
    await world.store.node_heartbeat("node-a", "host-a", 101, T0)
    [stale] = await world.store.dispatch_due("node-a", T0, 100)
    # node-a stops beating; node-b takes its delivery over.
    now = T0 + TTL + 1000
    await world.store.node_heartbeat("node-b", "host-b", 202, now)
    assert await world.store.node_rescue_orphans(now, now - TTL) == 1
    [taken] = await world.store.dispatch_due("node-b", now, 100)
    assert taken.i_delivery == stale.i_delivery

    # node-a was only slow: its answer arrives now and must not win.
    await world.store.delivery_record_outcomes(
        "node-a", [outcome(stale, DeliveryState.REJECTED, status=400, at=T0 + 10)]
    )
    assert (await world.only_delivery(i_event)).state is DeliveryState.IN_FLIGHT

    await world.store.delivery_record_outcomes(
        "node-b", [outcome(taken, DeliveryState.DELIVERED, status=200, at=now + 10)]
    )
    delivery = await world.only_delivery(i_event)
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)
    assert sorted(a.outcome for a in delivery.attempt_log) == [
        "delivered",
        "interrupted",
        "rejected",
    ]


# -- held deliveries -------------------------------------------------------------------
async def test_disabling_holds_pending_deliveries_and_enabling_releases_them(
    world: World,
) -> None:
    i_event = await world.event()
    [claimed] = await world.store.dispatch_due("node-a", T0, 100)
    await world.store.delivery_record_outcomes(
        "node-a", [outcome(claimed, DeliveryState.PENDING, status=503, next_at=T0 + 1000)]
    )

    await world.set_enabled(world.app, False)
    held = await world.only_delivery(i_event)
    assert (held.state, held.attempts) == (DeliveryState.HELD, 1)
    assert await world.store.dispatch_due("node-a", T0 + 60_000, 100) == []

    await world.set_enabled(world.app, True)
    assert (await world.only_delivery(i_event)).state is DeliveryState.PENDING
    [again] = await world.store.dispatch_due("node-a", T0 + 60_000, 100)
    assert (again.i_delivery, again.attempts) == (claimed.i_delivery, 1)


async def test_disabling_leaves_in_flight_and_finished_deliveries_alone(world: World) -> None:
    in_flight_event = await world.event(i_account=1)
    done_event = await world.event(i_account=2)
    claimed = {c.i_event: c for c in await world.store.dispatch_due("node-a", T0, 100)}
    await world.store.delivery_record_outcomes(
        "node-a", [outcome(claimed[done_event], DeliveryState.DELIVERED, status=200)]
    )
    await world.set_enabled(world.app, False)
    await world.set_enabled(world.app, True)
    assert (await world.only_delivery(in_flight_event)).state is DeliveryState.IN_FLIGHT
    assert (await world.only_delivery(done_event)).state is DeliveryState.DELIVERED


async def test_retry_for_a_handler_disabled_meanwhile_is_held(world: World) -> None:
    i_event = await world.event()
    [claimed] = await world.store.dispatch_due("node-a", T0, 100)
    await world.set_enabled(world.app, False)  # while the request is under way
    await world.store.delivery_record_outcomes(
        "node-a", [outcome(claimed, DeliveryState.PENDING, status=500, next_at=T0 + 1000)]
    )
    assert (await world.only_delivery(i_event)).state is DeliveryState.HELD
    assert await world.store.dispatch_due("node-a", T0 + 60_000, 100) == []


# -- nodes -----------------------------------------------------------------------------
async def test_heartbeat_registers_and_refreshes_a_node(world: World) -> None:
    await world.store.node_heartbeat("node-a", "host-a", 101, T0)
    await world.store.node_heartbeat("node-a", "host-a", 101, T0 + 3000)
    assert await world.store.node_list() == [("node-a", "host-a", 101, T0 + 3000)]


async def test_dead_nodes_deliveries_go_back_to_pending_with_an_interrupted_attempt(
    world: World,
) -> None:
    dead_event = await world.event(i_account=1)
    await world.store.node_heartbeat("node-a", "host-a", 101, T0)
    await world.store.dispatch_due("node-a", T0, 100)
    live_event = await world.event(start_at=T0 + 500, i_account=2)
    await world.store.node_heartbeat("node-b", "host-b", 202, T0 + 500)
    [live_claim] = await world.store.dispatch_due("node-b", T0 + 500, 100)
    assert live_claim.i_event == live_event

    now = T0 + TTL + 1000
    await world.store.node_heartbeat("node-b", "host-b", 202, now)
    assert await world.store.node_rescue_orphans(now, now - TTL) == 1

    rescued = await world.only_delivery(dead_event)
    assert (rescued.state, rescued.next_at, rescued.attempts) == (DeliveryState.PENDING, now, 1)
    [attempt] = rescued.attempt_log
    assert attempt.outcome == "interrupted"
    assert attempt.status_code is None
    assert attempt.attempt_no == 1
    assert attempt.error

    # The live node keeps what it holds; the dead one is forgotten.
    assert (await world.only_delivery(live_event)).state is DeliveryState.IN_FLIGHT
    assert [node[0] for node in await world.store.node_list()] == ["node-b"]

    # The rescued delivery is due at once, as attempt 2.
    [again] = await world.store.dispatch_due("node-b", now, 100)
    assert (again.i_event, again.attempts) == (dead_event, 1)


async def test_live_nodes_deliveries_are_untouched(world: World) -> None:
    i_event = await world.event()
    await world.store.node_heartbeat("node-a", "host-a", 101, T0)
    await world.store.dispatch_due("node-a", T0, 100)
    now = T0 + TTL - 1000
    assert await world.store.node_rescue_orphans(now, now - TTL) == 0
    delivery = await world.only_delivery(i_event)
    assert (delivery.state, delivery.attempt_log) == (DeliveryState.IN_FLIGHT, [])


async def test_deliveries_of_a_node_that_never_beat_are_rescued(world: World) -> None:
    i_event = await world.event()
    await world.store.dispatch_due("ghost", T0, 100)
    assert await world.store.node_rescue_orphans(T0 + 1, T0 + 1 - TTL) == 1
    assert (await world.only_delivery(i_event)).state is DeliveryState.PENDING


async def test_a_node_marked_dead_is_rescued_before_its_ttl(world: World) -> None:
    # A restart on the same host sees the old pid gone and need not wait.
    i_event = await world.event()
    await world.store.node_heartbeat("node-a", "host-a", 101, T0)
    await world.store.dispatch_due("node-a", T0, 100)
    await world.store.node_mark_dead("node-a")
    assert await world.store.node_rescue_orphans(T0 + 10, T0 + 10 - TTL) == 1
    assert (await world.only_delivery(i_event)).state is DeliveryState.PENDING
    assert await world.store.node_list() == []


async def test_rescue_of_a_disabled_handlers_delivery_holds_it(world: World) -> None:
    i_event = await world.event()
    await world.store.dispatch_due("ghost", T0, 100)
    await world.set_enabled(world.app, False)
    assert await world.store.node_rescue_orphans(T0 + 1, T0 + 1 - TTL) == 1
    assert (await world.only_delivery(i_event)).state is DeliveryState.HELD


async def test_release_hands_back_what_a_stopping_node_holds(world: World) -> None:
    mine = await world.event(i_account=1)
    await world.store.node_heartbeat("node-a", "host-a", 101, T0)
    await world.store.dispatch_due("node-a", T0, 100)
    theirs = await world.event(start_at=T0 + 10, i_account=2)
    await world.store.node_heartbeat("node-b", "host-b", 202, T0)
    await world.store.dispatch_due("node-b", T0 + 10, 100)

    assert await world.store.node_release("node-a", T0 + 50) == 1
    released = await world.only_delivery(mine)
    # Handed back unsent: due now, and no attempt is counted.
    assert (released.state, released.next_at, released.attempts) == (
        DeliveryState.PENDING,
        T0 + 50,
        0,
    )
    assert released.attempt_log == []
    assert (await world.only_delivery(theirs)).state is DeliveryState.IN_FLIGHT
    assert [node[0] for node in await world.store.node_list()] == ["node-b"]

    [again] = await world.store.dispatch_due("node-b", T0 + 50, 100)
    assert (again.i_event, again.attempts) == (mine, 0)


async def test_release_of_a_node_holding_nothing(world: World) -> None:
    await world.store.node_heartbeat("node-a", "host-a", 101, T0)
    assert await world.store.node_release("node-a", T0) == 0
    assert await world.store.node_list() == []
