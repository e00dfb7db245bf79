"""Store contract, the queue: inserting, reading and listing events.
Runs once per backend (see tests/conftest.py)."""

from __future__ import annotations

import orjson
import pytest

from espf.domain import Event, EventFilter, EventState, NewEvent
from espf.store import Store

T0 = 1_700_000_000_000
ACCOUNT_NEW = 17  # a built-in type id, fixed forever


@pytest.fixture
async def custom_type(store: Store) -> int:
    """Environments 1 and 2, and Custom/NextMonth; returns its id."""
    await store.env_create(1, "one", T0)
    await store.env_create(2, "two", T0)
    return (await store.event_type_create_custom("Custom/NextMonth", T0)).i_event_type


async def insert(
    store: Store,
    i_env: int = 1,
    i_event_type: int = ACCOUNT_NEW,
    variables: dict[str, object] | None = None,
    start_at: int = T0,
    now: int = T0,
) -> int:
    new = NewEvent(
        i_env=i_env,
        i_event_type=i_event_type,
        variables_json=orjson.dumps(variables or {}).decode(),
        start_at=start_at,
    )
    return await store.event_insert(new, now)


async def test_insert_then_get(store: Store, custom_type: int) -> None:
    variables = {"i_account": 541, "name": "Jürgen", "nested": {"list": [1, 2.5, None, True]}}
    i_event = await insert(store, 1, custom_type, variables, start_at=T0 + 60_000, now=T0)
    assert isinstance(i_event, int)
    expected = Event(
        i_event=i_event,
        i_env=1,
        event_type="Custom/NextMonth",
        variables=variables,
        start_at=T0 + 60_000,
        created_at=T0,
        state=EventState.SCHEDULED,
    )
    assert await store.event_get(i_event, None) == expected
    assert await store.event_get(i_event, 1) == expected


async def test_an_event_is_invisible_from_another_environment(
    store: Store, custom_type: int
) -> None:
    i_event = await insert(store, 1)
    assert await store.event_get(i_event, 2) is None
    assert await store.event_get(i_event + 1000, None) is None


async def test_i_event_increases(store: Store, custom_type: int) -> None:
    ids = [await insert(store, i_env) for i_env in (1, 2, 1, 2)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


async def test_start_time_keeps_milliseconds(store: Store, custom_type: int) -> None:
    i_event = await insert(store, start_at=T0 + 1)
    found = await store.event_get(i_event, None)
    assert found is not None and found.start_at == T0 + 1


async def test_a_new_event_has_no_deliveries_yet(store: Store, custom_type: int) -> None:
    i_event = await insert(store)
    assert await store.delivery_list_for_event(i_event) == []
    assert await store.delivery_count_by_state() == {}


async def test_count_by_state(store: Store, custom_type: int) -> None:
    assert await store.event_count_by_state() == {}
    for _ in range(3):
        await insert(store)
    assert await store.event_count_by_state() == {"scheduled": 3}


async def test_list_is_newest_first_and_filters(store: Store, custom_type: int) -> None:
    e1 = await insert(store, 1, ACCOUNT_NEW)
    e2 = await insert(store, 2, ACCOUNT_NEW)
    e3 = await insert(store, 1, custom_type)
    e4 = await insert(store, 2, custom_type)

    async def ids(**criteria: object) -> list[int]:
        found = await store.event_list(EventFilter(**criteria))  # type: ignore[arg-type]
        return [e.i_event for e in found]

    assert await ids() == [e4, e3, e2, e1]
    assert await ids(i_env=1) == [e3, e1]
    assert await ids(event_type="Custom/NextMonth") == [e4, e3]
    assert await ids(i_env=2, event_type="Account/New") == [e2]
    assert await ids(event_type="Custom/Unknown") == []
    assert await ids(state=EventState.SCHEDULED) == [e4, e3, e2, e1]
    assert await ids(state=EventState.PENDING) == []
    assert await ids(i_env=3) == []


async def test_list_returns_whole_events(store: Store, custom_type: int) -> None:
    i_event = await insert(store, 2, custom_type, {"i_account": 7}, start_at=T0 + 5)
    [listed] = await store.event_list(EventFilter(i_env=2))
    assert listed == await store.event_get(i_event, None)


async def test_list_pages_with_limit_and_before(store: Store, custom_type: int) -> None:
    all_ids = [await insert(store) for _ in range(7)]
    newest_first = list(reversed(all_ids))

    pages: list[list[int]] = []
    before: int | None = None
    while True:
        page = await store.event_list(EventFilter(limit=3, before_i_event=before))
        if not page:
            break
        pages.append([e.i_event for e in page])
        before = page[-1].i_event
    assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:7]]


async def test_list_state_filter_follows_dispatching(store: Store, custom_type: int) -> None:
    # Nobody is subscribed: once due, the events become unrouted.
    due = await insert(store, start_at=T0)
    later = await insert(store, start_at=T0 + 60_000)
    await store.dispatch_due("node-a", T0, 10)
    unrouted = await store.event_list(EventFilter(state=EventState.UNROUTED))
    scheduled = await store.event_list(EventFilter(state=EventState.SCHEDULED))
    assert [e.i_event for e in unrouted] == [due]
    assert [e.i_event for e in scheduled] == [later]
    assert await store.event_count_by_state() == {"unrouted": 1, "scheduled": 1}
