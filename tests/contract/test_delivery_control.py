"""Delivery control on every backend: event and delivery states with their
history, ordering, coalescing, pause and resume, operator actions and
idempotent create. The clock is frozen and moved by hand; nothing sleeps."""

from __future__ import annotations

from dataclasses import replace

import pytest

from espf.clock import FrozenClock
from espf.config import load_settings
from espf.domain import (
    AttemptOutcome,
    AuthMethod,
    ClaimedDelivery,
    DeliveryState,
    EventState,
    HandlerSettings,
    NewEvent,
    ReplayFilter,
)
from espf.errors import Conflict
from espf.service import Service
from espf.standard_types import HANDLER_PAUSED_TYPE_ID
from espf.store import Store
from espf.timeparse import parse_start_time

NODE = "node-a"
QUOTA = "Account/Service/Netaccess/QuotaExceeded"


@pytest.fixture
async def service(store: Store) -> Service:
    clock = FrozenClock()
    svc = Service(store, load_settings({}), clock)
    await svc.env_create("one", 1)
    await store.node_heartbeat(NODE, "host", 1, clock.now_ms())
    return svc


def clock_of(service: Service) -> FrozenClock:
    assert isinstance(service.clock, FrozenClock)
    return service.clock


async def handler(service: Service, name: str = "H", ordered: bool = False) -> None:
    base = HandlerSettings(url="http://127.0.0.1:9/", auth_method=AuthMethod.NONE)
    await service.handler_create(1, name, replace(base, ordered=ordered))
    await service.subscribe_all(1, name)


async def claim(service: Service) -> list[ClaimedDelivery]:
    return await service.store.dispatch_due(NODE, service.clock.now_ms(), 100)


async def answer(service: Service, claimed: list[ClaimedDelivery], status: int | None) -> None:
    now = service.clock.now_ms()
    if status is not None and 200 <= status < 300:
        state, next_at = DeliveryState.DELIVERED, None
    elif status is not None and 400 <= status < 500:
        state, next_at = DeliveryState.REJECTED, None
    else:
        state, next_at = DeliveryState.PENDING, now + 1000
    await service.store.delivery_record_outcomes(
        NODE,
        [
            AttemptOutcome(
                i_delivery=c.i_delivery,
                attempt_no=c.attempts + 1,
                started_at=now,
                duration_ms=1,
                status_code=status,
                error=None if status else "refused",
                new_state=state,
                next_at=next_at,
                i_event=c.i_event,
                i_handler=c.handler.i_handler,
                reason=f"HTTP {status}",
            )
            for c in claimed
        ],
    )


async def states(service: Service, i_event: int) -> tuple[EventState, list[DeliveryState]]:
    detail = await service.event_get(i_event, 1)
    return detail.event.state, [d.state for d in detail.deliveries]


async def create(service: Service, event_type: str = "Account/New", **variables: object) -> int:
    return await service.event_create(1, {"event_type": event_type, "variables": variables})


async def test_event_state_follows_its_deliveries_and_every_change_is_recorded(
    service: Service,
) -> None:
    await handler(service)
    i_event = await create(service, i_account=1)
    assert await states(service, i_event) == (EventState.SCHEDULED, [])
    claimed = await claim(service)
    assert await states(service, i_event) == (EventState.IN_FLIGHT, [DeliveryState.IN_FLIGHT])
    await answer(service, claimed, 503)
    assert await states(service, i_event) == (EventState.PENDING, [DeliveryState.PENDING])
    clock_of(service).advance(1000)
    await answer(service, await claim(service), 200)
    assert await states(service, i_event) == (EventState.DELIVERED, [DeliveryState.DELIVERED])
    history = (await service.event_get(i_event, 1)).transitions
    assert [t.state for t in history] == ["scheduled", "pending", "pending", "delivered"]
    assert history[0].reason == "created" and history[-1].reason == "HTTP 200"
    assert all(t.at for t in history)


async def test_a_rejected_delivery_makes_the_event_rejected(service: Service) -> None:
    await handler(service)
    i_event = await create(service)
    await answer(service, await claim(service), 400)
    assert await states(service, i_event) == (EventState.REJECTED, [DeliveryState.REJECTED])


async def test_ordered_handler_sends_one_per_key_in_event_order(service: Service) -> None:
    await handler(service, ordered=True)
    first = await create(service, i_account=5)
    second = await create(service, i_account=5)
    other = await create(service, i_account=6)
    claimed = await claim(service)
    assert sorted(c.i_event for c in claimed) == [first, other], "key 5 waits; key 6 is free"
    assert (await states(service, second))[1] == [DeliveryState.WAITING]
    keys = await service.blocked_keys(1, None)
    assert [(k.order_key, k.head_i_event, k.waiting) for k in keys] == [("i_account=5", first, 1)]
    head = next(c for c in claimed if c.i_event == first)
    await answer(service, [head], 500)  # a stuck key stays stuck ...
    assert await claim(service) == []
    clock_of(service).advance(1000)
    retry = await claim(service)
    await answer(service, retry, 200)  # ... until its head is done
    assert [c.i_event for c in await claim(service)] == [second]


async def test_latest_only_types_supersede_older_waiting_events(service: Service) -> None:
    await handler(service)
    old = await create(service, QUOTA, i_account=541)
    older_other_account = await create(service, QUOTA, i_account=542)
    new = await create(service, QUOTA, i_account=541)
    normal = await create(service, "Account/New", i_account=541)
    claimed = await claim(service)
    assert sorted(c.i_event for c in claimed) == [older_other_account, new, normal]
    assert await states(service, old) == (EventState.SUPERSEDED, [DeliveryState.SUPERSEDED])
    reasons = [t.reason for t in (await service.event_get(old, 1)).transitions]
    assert any("newer event" in r for r in reasons)


async def test_a_paused_handler_holds_everything_and_resume_sends_it(service: Service) -> None:
    await handler(service)
    await service.handler_pause(1, "H", "maintenance")
    ids = [await create(service, i_account=n) for n in range(5)]
    assert await claim(service) == []
    for i_event in ids:
        assert await states(service, i_event) == (EventState.PENDING, [DeliveryState.HELD])
    assert (await service.handler_get(1, "H")).paused
    await service.handler_resume(1, "H")
    assert sorted(c.i_event for c in await claim(service)) == ids


async def test_a_retry_while_paused_is_held_not_sent(service: Service) -> None:
    await handler(service)
    i_event = await create(service)
    claimed = await claim(service)
    await service.handler_pause(1, "H")
    await answer(service, claimed, 500)
    assert await states(service, i_event) == (EventState.PENDING, [DeliveryState.HELD])


async def test_cancel_a_scheduled_event_or_its_unsent_deliveries(service: Service) -> None:
    await handler(service)
    later = await service.event_create(
        1, {"event_type": "Account/New", "start_time": "2099-01-01 00:00:00"}
    )
    detail = await service.event_cancel(later, 1, "not needed")
    assert detail.event.state is EventState.CANCELLED
    assert detail.transitions[-1].reason == "not needed"
    with pytest.raises(Conflict):
        await service.event_cancel(later, 1)
    await service.handler_pause(1, "H")
    now = await create(service)
    await claim(service)
    assert (await service.event_cancel(now, 1)).event.state is EventState.CANCELLED


async def test_reschedule_until_something_went_out(service: Service) -> None:
    await handler(service)
    i_event = await service.event_create(
        1, {"event_type": "Account/New", "start_time": "2099-01-01 00:00:00"}
    )
    moved = await service.event_reschedule(i_event, 1, "2098-06-01 12:00:00")
    assert moved.event.start_at == parse_start_time("2098-06-01 12:00:00")
    assert moved.event.state is EventState.SCHEDULED
    assert await claim(service) == []
    await service.event_reschedule(i_event, 1, "2000-01-01 00:00:00")
    claimed = await claim(service)
    assert [c.i_event for c in claimed] == [i_event]
    with pytest.raises(Conflict):
        await service.event_reschedule(i_event, 1, "2099-01-01 00:00:00")


async def test_retry_now_and_replay_by_filter(service: Service) -> None:
    await handler(service)
    a = await create(service, i_account=1)
    b = await create(service, i_account=2)
    await answer(service, await claim(service), 400)
    replay = ReplayFilter(i_env=1, variable=("i_account", "2"))
    assert await service.replay(replay, dry_run=True) == 1
    assert await states(service, b) == (EventState.REJECTED, [DeliveryState.REJECTED])
    assert await service.replay(replay, dry_run=False) == 1
    assert await states(service, b) == (EventState.PENDING, [DeliveryState.PENDING])
    delivery = (await service.event_get(a, 1)).deliveries[0]
    retried = await service.delivery_retry(delivery.i_delivery, 1)
    assert retried.state is DeliveryState.PENDING
    claimed = await claim(service)
    assert sorted(c.i_event for c in claimed) == [a, b]
    assert all(c.budget_from_attempt == 1 for c in claimed), "a fresh retry budget"
    with pytest.raises(Conflict):
        await service.delivery_retry(delivery.i_delivery, 1)  # in flight now


async def test_idempotency_key_returns_the_first_answer(service: Service) -> None:
    body = {"event_type": "Account/New", "variables": {"i_account": 1}}
    first = await service.event_create(1, body, "key-1")
    assert await service.event_create(1, dict(body), "key-1") == first
    with pytest.raises(Conflict):
        await service.event_create(1, {**body, "variables": {"i_account": 2}}, "key-1")
    assert await service.event_create(1, body, "key-2") != first
    clock_of(service).advance(int(service.settings.idempotency_window_s * 1000) + 1)
    assert await service.event_create(1, body, "key-1") != first, "the window has passed"


async def test_pausing_can_announce_an_espf_event(service: Service) -> None:
    await handler(service, name="Watcher")
    await handler(service, name="Flaky")
    flaky = await service.handler_get(1, "Flaky")
    announce = NewEvent(
        i_env=1,
        i_event_type=HANDLER_PAUSED_TYPE_ID,
        variables_json='{"handler": "Flaky"}',
        start_at=service.clock.now_ms(),
    )
    now = service.clock.now_ms()
    assert await service.store.handler_set_paused(flaky, True, "auto", now, announce)
    assert not await service.store.handler_set_paused(flaky, True, "auto", now, announce)
    claimed = await claim(service)
    assert [(c.event_type, c.handler.name) for c in claimed] == [("ESPF/Handler/Paused", "Watcher")]


async def test_failures_are_tracked_per_handler_for_auto_pause(service: Service) -> None:
    await handler(service)
    await create(service)
    claimed = await claim(service)
    now = service.clock.now_ms()
    await answer(service, claimed, 500)
    health = await service.store.delivery_record_outcomes(NODE, [])
    assert health == []
    assert (await service.handler_get(1, "H")).failing_since == now
    clock_of(service).advance(1000)
    await answer(service, await claim(service), 200)
    assert (await service.handler_get(1, "H")).failing_since is None


async def test_expired_idempotency_keys_are_forgotten(service: Service) -> None:
    body = {"event_type": "Account/New"}
    await service.event_create(1, body, "old-key")
    clock_of(service).advance(1000)
    await service.event_create(1, body, "new-key")
    store = service.store
    assert (await store.copy_row_counts())["idempotency_keys"] == 2
    assert await store.idempotency_prune(service.clock.now_ms() - 500) == 1
    assert (await store.copy_row_counts())["idempotency_keys"] == 1
