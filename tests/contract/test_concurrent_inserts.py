"""Many event inserts at once (group commit on both backends): every caller
gets its own i_event, and that id holds exactly what that caller sent."""

from __future__ import annotations

import asyncio

import orjson

from espf.domain import NewEvent
from espf.store import Store

NOW = 1_700_000_000_000


async def test_concurrent_inserts_get_their_own_ids(store: Store) -> None:
    await store.env_create(1, "one", NOW)
    account_new = await store.event_type_get_by_name("Account/New")
    assert account_new is not None

    async def insert(n: int) -> tuple[int, int]:
        event = NewEvent(
            i_env=1,
            i_event_type=account_new.i_event_type,
            variables_json=orjson.dumps({"n": n}).decode(),
            start_at=NOW + n,
        )
        return n, await store.event_insert(event, NOW)

    results = await asyncio.gather(*(insert(n) for n in range(300)))
    ids = [i_event for _, i_event in results]
    assert len(set(ids)) == 300
    for n, i_event in results[::7]:
        stored = await store.event_get(i_event, 1)
        assert stored is not None
        assert stored.variables == {"n": n} and stored.start_at == NOW + n


async def test_one_bad_insert_does_not_fail_its_batch(store: Store) -> None:
    await store.env_create(1, "one", NOW)
    account_new = await store.event_type_get_by_name("Account/New")
    assert account_new is not None

    def event(i_event_type: int) -> NewEvent:
        return NewEvent(i_env=1, i_event_type=i_event_type, variables_json="{}", start_at=NOW)

    # An event type that does not exist breaks its foreign key; its
    # neighbours in the same group commit must still be stored.
    results = await asyncio.gather(
        *(store.event_insert(event(account_new.i_event_type), NOW) for _ in range(20)),
        store.event_insert(event(987_654), NOW),
        *(store.event_insert(event(account_new.i_event_type), NOW) for _ in range(20)),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    stored = [r for r in results if isinstance(r, int)]
    assert len(failed) == 1 and len(stored) == 40
    for i_event in stored:
        assert await store.event_get(i_event, 1) is not None
