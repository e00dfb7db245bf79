"""The store methods behind the whole API, on every backend: users, type
deletion, handler deletion with its history, who created an event, event
filters, and account provisioning status."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from espf.config import load_settings
from espf.domain import (
    AccountKind,
    AccountRef,
    AuthMethod,
    DeliveryState,
    EventFilter,
    HandlerSettings,
    NewEvent,
    ProvisioningStatus,
    ReplayFilter,
    Role,
    TlsSettings,
)
from espf.errors import NotFound
from espf.service import Service
from espf.store import Store

NOW = 1_700_000_000_000
HANDLER = HandlerSettings(
    url="http://127.0.0.1:9/",
    auth_method=AuthMethod.BASIC,
    login="espf",
    password="handler-password",
    auth_header="Authorization",
    timeout_s=5.0,
    enabled=True,
    auth_token="token",
    signing_secrets=("whsec_secret",),
    tls=TlsSettings(client_key="/key.pem"),
)


@pytest.fixture
async def envs(store: Store) -> Store:
    await store.env_create(3, "three", NOW)
    await store.env_create(4, "four", NOW)
    return store


async def new_event(
    store: Store, i_env: int, type_id: int, created_by: int | None = None, **variables: object
) -> int:
    return await store.event_insert(
        NewEvent(
            i_env=i_env,
            i_event_type=type_id,
            variables_json=orjson.dumps(variables).decode(),
            start_at=NOW,
            created_by=created_by,
        ),
        NOW,
    )


async def test_users_delete_and_the_last_admin_stays(envs: Store) -> None:
    store = envs
    first = await store.user_create(3, "a1", "hash", Role.ADMIN, NOW)
    await store.user_create(3, "p1", "hash", Role.PRODUCER, NOW)
    assert not await store.user_delete(3, "a1")  # the only administrator
    assert not await store.user_delete(4, "p1")  # not in that environment
    assert await store.user_delete(3, "p1")
    assert await store.user_get_by_login("p1") is None
    assert await store.user_set_role(3, "a1", Role.PRODUCER) is None
    await store.user_create(3, "a2", "hash", Role.ADMIN, NOW)
    demoted = await store.user_set_role(3, "a1", Role.PRODUCER)
    assert demoted is not None and demoted.role is Role.PRODUCER
    assert await store.user_set_role(4, "a2", Role.PRODUCER) is None
    assert await store.user_delete(3, "a1")
    # A deleted user's id is never given again: it would see the old user's events.
    again = await store.user_create(3, "a1", "hash", Role.ADMIN, NOW)
    assert again.i_user > first.i_user + 2


async def test_an_unused_custom_type_is_deleted_and_its_id_retired(envs: Store) -> None:
    store = envs
    gone = await store.event_type_create_custom("Custom/Gone", NOW)
    assert await store.event_type_delete(gone.i_event_type, NOW)
    assert await store.event_type_get_by_name("Custom/Gone") is None
    assert not await store.event_type_delete(gone.i_event_type, NOW)
    again = await store.event_type_create_custom("Custom/Gone", NOW)
    assert again.i_event_type == gone.i_event_type + 1
    with pytest.raises(NotFound):
        await new_event(store, 3, gone.i_event_type)


async def test_a_used_type_is_kept_and_its_usage_told_apart(envs: Store) -> None:
    store = envs
    used = await store.event_type_create_custom("Custom/Used", NOW)
    h3 = await store.handler_create(3, "H3", HANDLER, NOW)
    h4 = await store.handler_create(4, "H4", HANDLER, NOW)
    await store.subscription_add(h3.i_handler, used.i_event_type)
    await store.subscription_add(h4.i_handler, used.i_event_type)
    await new_event(store, 4, used.i_event_type)
    assert not await store.event_type_delete(used.i_event_type, NOW)
    usage = await store.event_type_usage(used.i_event_type, 3)
    assert usage.subscribers_here == ["H3"]
    assert (usage.events_here, usage.subscriptions_elsewhere, usage.events_elsewhere) == (0, 1, 1)
    await store.subscription_remove(h3.i_handler, used.i_event_type)
    await store.subscription_remove(h4.i_handler, used.i_event_type)
    assert not await store.event_type_delete(used.i_event_type, NOW), "an event still uses it"
    builtin = await store.event_type_get_by_name("Account/New")
    assert builtin is not None
    assert not await store.event_type_delete(builtin.i_event_type, NOW)


async def test_a_deleted_handler_keeps_its_history_and_loses_its_secrets(envs: Store) -> None:
    store = envs
    handler = await store.handler_create(3, "H", HANDLER, NOW)
    account_new = await store.event_type_get_by_name("Account/New")
    assert account_new is not None
    await store.subscription_add(handler.i_handler, account_new.i_event_type)
    i_event = await new_event(store, 3, account_new.i_event_type)
    claimed = await store.dispatch_due("node", NOW, 10)
    assert [c.i_event for c in claimed] == [i_event]
    assert await store.handler_delete(handler, NOW) == 1
    await store.node_release("node", NOW)
    await store.event_cancel(i_event, 3, NOW, "test")
    assert await store.handler_delete(handler, NOW) == 0

    assert await store.handler_get(3, "H") is None
    assert await store.handler_list(3) == []
    assert await store.subscription_list(handler.i_handler) == []
    deliveries = await store.delivery_list_for_event(i_event)
    assert [d.handler_name for d in deliveries] == [f"H (deleted #{handler.i_handler})"]
    assert deliveries[0].state is DeliveryState.CANCELLED
    # Never sent again, by retry or replay.
    assert await store.deliveries_reopen([deliveries[0].i_delivery], NOW, "retry") == 0
    assert await store.deliveries_match(ReplayFilter(i_env=3)) == []
    # The name is free; the new handler has nothing of the old one.
    fresh = await store.handler_create(3, "H", replace(HANDLER, password="new"), NOW)
    assert fresh.i_handler != handler.i_handler


async def test_who_created_an_event_and_the_list_filters(envs: Store) -> None:
    store = envs
    user = await store.user_create(3, "p", "hash", Role.PRODUCER, NOW)
    type_id = (await store.event_type_create_custom("Custom/T", NOW)).i_event_type
    mine = await new_event(store, 3, type_id, user.i_user, i_account=541)
    other = await new_event(store, 3, type_id, None, i_account=542)
    await new_event(store, 4, type_id, None, i_account=541)
    event = await store.event_get(mine, 3)
    assert event is not None and event.created_by == user.i_user

    async def ids(**fields: object) -> list[int]:
        found = await store.event_list(EventFilter(i_env=3, **fields))  # type: ignore[arg-type]
        return [e.i_event for e in found]

    assert await ids() == [other, mine]
    assert await ids(created_by=user.i_user) == [mine]
    assert await ids(variable=("i_account", "541")) == [mine]
    assert await ids(before_i_event=other) == [mine]
    assert await ids(created_from=NOW, created_to=NOW + 1) == [other, mine]
    assert await ids(created_from=NOW + 1) == []
    assert await ids(limit=1) == [other]


async def test_account_status_current_and_history(envs: Store) -> None:
    store = envs
    by_i = AccountRef(AccountKind.I_ACCOUNT, "541")
    by_id = AccountRef(AccountKind.ID, "541")
    report = store.account_status_report
    first = await report(3, by_i, "VoIP", ProvisioningStatus.IN_PROGRESS, "", NOW, 1)
    await report(3, by_i, "HSS", ProvisioningStatus.FAILED, "no answer", NOW + 1, 1)
    last = await report(3, by_i, "VoIP", ProvisioningStatus.OK, "done", NOW + 2, 1)
    await report(3, by_id, "VoIP", ProvisioningStatus.RETRY, "", NOW, 1)
    await report(4, by_i, "VoIP", ProvisioningStatus.FAILED, "", NOW, 1)

    current = await store.account_status_current(3, by_i)
    assert [(c.group, c.status) for c in current] == [
        ("HSS", ProvisioningStatus.FAILED),
        ("VoIP", ProvisioningStatus.OK),
    ]
    assert current[1] == last
    history = await store.account_status_history(3, by_i, None, None, 10)
    assert [h.status for h in history] == [
        ProvisioningStatus.OK,
        ProvisioningStatus.FAILED,
        ProvisioningStatus.IN_PROGRESS,
    ]
    voip = await store.account_status_history(3, by_i, "VoIP", None, 10)
    assert voip == [last, first]
    page = await store.account_status_history(3, by_i, None, history[0].i_status_change, 1)
    assert page == [history[1]]
    assert [c.status for c in await store.account_status_current(3, by_id)] == [
        ProvisioningStatus.RETRY
    ]
    assert [c.status for c in await store.account_status_current(4, by_i)] == [
        ProvisioningStatus.FAILED
    ]


async def test_a_type_deleted_by_another_process_is_not_used_from_a_stale_cache(
    envs: Store,
) -> None:
    here, elsewhere = (Service(envs, load_settings({})) for _ in range(2))
    gone = await here.type_create("Custom/Gone")  # cached by `here`
    await elsewhere.type_delete("Custom/Gone")
    with pytest.raises(NotFound):
        await here.event_create(3, {"event_type": "Custom/Gone"})

    again = await here.type_create("Custom/Again")
    await elsewhere.type_delete("Custom/Again")
    recreated = await elsewhere.type_create("Custom/Again")
    assert recreated.i_event_type not in (gone.i_event_type, again.i_event_type)
    i_event = await here.event_create(3, {"event_type": "Custom/Again"})
    event = await envs.event_get(i_event, 3)
    assert event is not None and event.event_type == "Custom/Again"
