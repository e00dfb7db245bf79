"""Store contract, the operator console's reads: the events list with the
console's extra filters (handler, start_time, the indexed account filter),
counts by state, what is due soon, attempts per bucket, lateness and handler
health. Runs once per backend (see tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest

from espf.domain import DeliveryState, EventFilter, EventState, Handler, NewEvent
from espf.store import Store
from tests.contract.senders import sender_settings
from tests.contract.test_store_dispatch import outcome

T0 = 1_700_000_000_000
MINUTE = 60_000
HOUR = 60 * MINUTE


@dataclass
class Console:
    store: Store
    i_event_type: int
    app: Handler
    other_env: Handler

    async def event(self, i_account: int | str, start_at: int = T0, i_env: int = 1) -> int:
        return await self.store.event_insert(
            NewEvent(
                i_env=i_env,
                i_event_type=self.i_event_type,
                variables_json=orjson.dumps({"i_account": i_account}).decode(),
                start_at=start_at,
            ),
            T0 - 1000,
        )

    async def deliver(self, at: int, *states: DeliveryState) -> None:
        """Send every due delivery, with these outcomes one after another."""
        claimed = await self.store.dispatch_due("node", at, 100)
        await self.store.delivery_record_outcomes(
            "node",
            [
                outcome(
                    c,
                    state,
                    status=200 if state is DeliveryState.DELIVERED else 503,
                    at=at,
                    next_at=at + 10 * HOUR if state is DeliveryState.PENDING else None,
                )
                for c, state in zip(claimed, states, strict=True)
            ],
        )


@pytest.fixture
async def console(store: Store) -> Console:
    await store.env_create(1, "one", T0)
    await store.env_create(2, "two", T0)
    custom = await store.event_type_create_custom("Custom/Console", T0)
    app = await store.handler_create(1, "app", sender_settings("app"), T0)
    other_env = await store.handler_create(2, "app", sender_settings("app"), T0)
    for handler in (app, other_env):
        await store.subscription_add(handler.i_handler, custom.i_event_type)
    return Console(store, custom.i_event_type, app, other_env)


def env1(**fields: object) -> EventFilter:
    return EventFilter(i_env=1, **fields)  # type: ignore[arg-type]


async def test_filter_by_account_uses_the_same_rule_as_other_variables(console: Console) -> None:
    store = console.store
    number = await console.event(541)
    text = await console.event("541")
    await console.event(5410)
    await console.event(541, i_env=2)
    by_account = await store.console_event_list(
        env1(variable=("i_account", "541")), None, None, None
    )
    assert [e.i_event for e in by_account] == [text, number]
    # Paging within the account, newest first.
    older = await store.console_event_list(
        env1(variable=("i_account", "541"), before_i_event=text, limit=1), None, None, None
    )
    assert [e.i_event for e in older] == [number]


async def test_filter_by_handler_and_start_time(console: Console) -> None:
    store = console.store
    early = await console.event(1, start_at=T0)
    late = await console.event(2, start_at=T0 + HOUR)
    await console.deliver(T0, DeliveryState.DELIVERED)  # only the early one is due
    sent_to_app = await store.console_event_list(env1(), "app", None, None)
    assert [e.i_event for e in sent_to_app] == [early]
    assert await store.console_event_list(env1(), "nobody", None, None) == []
    window = await store.console_event_list(env1(), None, T0 + 1, T0 + 2 * HOUR)
    assert [e.i_event for e in window] == [late]


async def test_counts_and_what_is_due_soon(console: Console) -> None:
    store = console.store
    await console.event(1, start_at=T0 + 10 * MINUTE)
    await console.event(2, start_at=T0 + 5 * HOUR)
    await console.event(3, start_at=T0 + 2 * 24 * HOUR)
    await console.event(4, start_at=T0 + 10 * MINUTE, i_env=2)
    assert await store.console_event_counts(1, None) == {"scheduled": 3}
    assert await store.console_event_counts(1, 12345) == {}
    assert await store.console_due_soon(1, None, T0) == (1, 2)


async def test_attempt_buckets_lateness_and_handler_health(console: Console) -> None:
    store = console.store
    for i_account in (1, 2, 3):
        await console.event(i_account, start_at=T0)
    await console.event(9, start_at=T0 + HOUR, i_env=2)
    at = T0 + 2 * MINUTE + 5
    await console.deliver(at, DeliveryState.DELIVERED, DeliveryState.PENDING, DeliveryState.FAILED)
    await console.deliver(T0 + HOUR, DeliveryState.DELIVERED)  # environment 2's event
    buckets = await store.console_attempt_buckets(1, T0, T0 + 2 * HOUR, MINUTE)
    minute = T0 + 2 * MINUTE - (T0 + 2 * MINUTE) % MINUTE
    assert sum(n for _, _, n in buckets) == 3, "environment 2's attempt is not counted"
    assert {b for b, _, _ in buckets} == {minute}
    assert {o for _, o, _ in buckets} == {"delivered", "retry", "failed"}
    late = await store.console_lateness(1, T0, 100)
    assert late and all(ms >= at - T0 for ms in late)
    stats = await store.console_handler_stats(1)
    assert set(stats) == {console.app.i_handler}
    backlog, last_success = stats[console.app.i_handler]
    assert backlog >= 1  # the delivery waiting for its retry
    assert last_success is not None and last_success >= at
    states = await store.console_event_counts(1, None)
    assert sum(states.values()) == 3
    assert EventState.DELIVERED.value in states or EventState.PENDING.value in states


async def test_the_state_summary_follows_every_change(console: Console) -> None:
    """The overview's counts come from a summary the database keeps: after
    creating, sending, retrying, failing and cancelling they still equal a
    count of the events themselves."""
    store = console.store
    for i_account in range(6):
        await console.event(i_account, start_at=T0)
    later = await console.event(99, start_at=T0 + HOUR)
    await console.event(7, i_env=2)
    await console.deliver(
        T0,
        DeliveryState.DELIVERED,
        DeliveryState.DELIVERED,
        DeliveryState.PENDING,
        DeliveryState.FAILED,
        DeliveryState.FAILED,
        DeliveryState.DELIVERED,
        DeliveryState.DELIVERED,  # environment 2's
    )
    await store.event_cancel(later, 1, T0 + 1, "not needed")
    events = await store.event_list(EventFilter(i_env=1, limit=100))
    expected: dict[str, int] = {}
    for event in events:
        expected[event.state.value] = expected.get(event.state.value, 0) + 1
    assert await store.console_event_counts(1, None) == expected
    assert sum((await store.console_event_counts(2, None)).values()) == 1
