"""Store contract, set-up side: schema, environments, users, event types,
handlers and subscriptions. Runs once per backend (see tests/conftest.py)."""

from __future__ import annotations

import dataclasses

import pytest

from espf.domain import ApiUser, AuthMethod, Environment, EventType, Role
from espf.errors import Conflict
from espf.standard_types import BUILTIN_EVENT_TYPES
from espf.store import Store
from espf.store.sql_loader import load_migrations

from .senders import sender_settings

T0 = 1_700_000_000_000


# -- schema ----------------------------------------------------------------------------
async def test_migrate_is_idempotent(store: Store) -> None:
    latest = len(load_migrations(store.backend))
    assert await store.schema_version() == latest
    assert await store.migrate() == []
    assert await store.schema_version() == latest


async def test_builtin_types_are_all_there_and_idempotent(store: Store) -> None:
    before = await store.event_type_list()
    assert [(t.i_event_type, t.name) for t in before] == sorted(BUILTIN_EVENT_TYPES)
    assert all(t.builtin for t in before)
    await store.ensure_builtin_event_types(T0 + 1000)
    assert await store.event_type_list() == before


# -- environments ----------------------------------------------------------------------
async def test_environment_with_a_chosen_id(store: Store) -> None:
    created = await store.env_create(3, "production", T0)
    assert created == Environment(i_env=3, name="production")
    assert await store.env_get(3) == created
    assert await store.env_get(4) is None


async def test_environment_without_an_id_gets_a_free_one(store: Store) -> None:
    # The first start creates environment 1 with its id given; an
    # administrator's later `env create NAME` must not collide with it.
    await store.env_create(1, "default", T0)
    await store.env_create(2, "second", T0)
    created = await store.env_create(None, "third", T0)
    assert created.i_env not in {1, 2}
    assert created.i_env > 0
    assert await store.env_get(created.i_env) == created


async def test_environments_are_listed_in_id_order(store: Store) -> None:
    await store.env_create(5, "e5", T0)
    await store.env_create(2, "e2", T0)
    await store.env_create(9, "e9", T0)
    assert [e.i_env for e in await store.env_list()] == [2, 5, 9]


async def test_duplicate_environment_id_or_name_is_a_conflict(store: Store) -> None:
    await store.env_create(3, "production", T0)
    with pytest.raises(Conflict):
        await store.env_create(3, "other", T0)
    with pytest.raises(Conflict):
        await store.env_create(4, "production", T0)
    assert await store.env_list() == [Environment(3, "production")]


# -- users -----------------------------------------------------------------------------
async def test_user_create_and_read_back(store: Store) -> None:
    await store.env_create(3, "production", T0)
    assert await store.user_count() == 0
    created = await store.user_create(3, "app", "$argon2id$hash", Role.PRODUCER, T0)
    assert isinstance(created.i_user, int)
    assert created == ApiUser(created.i_user, 3, "app", "$argon2id$hash", Role.PRODUCER)
    assert await store.user_get_by_login("app") == created
    assert await store.user_get_by_login("App") is None  # logins are exact
    assert await store.user_get_by_login("nobody") is None
    assert await store.user_count() == 1


async def test_users_are_listed_per_environment(store: Store) -> None:
    await store.env_create(1, "one", T0)
    await store.env_create(2, "two", T0)
    a = await store.user_create(1, "a", "h", Role.ADMIN, T0)
    b = await store.user_create(2, "b", "h", Role.ADMIN, T0)
    c = await store.user_create(1, "c", "h", Role.PRODUCER, T0)
    assert await store.user_list(None) == [a, b, c]
    assert await store.user_list(1) == [a, c]
    assert await store.user_list(2) == [b]
    assert await store.user_list(7) == []


async def test_duplicate_login_is_a_conflict_even_in_another_environment(store: Store) -> None:
    # Basic auth carries no environment, so a login must name one user.
    await store.env_create(1, "one", T0)
    await store.env_create(2, "two", T0)
    await store.user_create(1, "app", "h1", Role.ADMIN, T0)
    with pytest.raises(Conflict):
        await store.user_create(1, "app", "h2", Role.ADMIN, T0)
    with pytest.raises(Conflict):
        await store.user_create(2, "app", "h2", Role.ADMIN, T0)
    assert await store.user_count() == 1
    found = await store.user_get_by_login("app")
    assert found is not None and found.password_hash == "h1"


# -- event types -----------------------------------------------------------------------
async def test_builtin_type_by_name(store: Store) -> None:
    assert await store.event_type_get_by_name("Account/New") == EventType(17, "Account/New", True)
    assert await store.event_type_get_by_name("Account/Nope") is None


async def test_custom_type_ids_start_at_10001_and_increase(store: Store) -> None:
    first = await store.event_type_create_custom("Custom/NextMonth", T0)
    second = await store.event_type_create_custom("Custom/Other", T0)
    assert first == EventType(10001, "Custom/NextMonth", False)
    assert second == EventType(10002, "Custom/Other", False)
    assert await store.event_type_get_by_name("Custom/NextMonth") == first
    listed = await store.event_type_list()
    assert listed[-2:] == [first, second]  # in id order, after the built-in ones


async def test_duplicate_custom_type_is_a_conflict(store: Store) -> None:
    created = await store.event_type_create_custom("Custom/NextMonth", T0)
    with pytest.raises(Conflict):
        await store.event_type_create_custom("Custom/NextMonth", T0)
    # A built-in type of the Custom/ family exists too.
    with pytest.raises(Conflict):
        await store.event_type_create_custom("Custom/Jasper/CapReached", T0)
    after = await store.event_type_create_custom("Custom/Later", T0)
    assert after.i_event_type > created.i_event_type
    names = [t.name for t in await store.event_type_list()]
    assert names.count("Custom/NextMonth") == 1


# -- handlers --------------------------------------------------------------------------
async def test_handler_create_and_get(store: Store) -> None:
    await store.env_create(3, "production", T0)
    created = await store.handler_create(3, "EventSender", sender_settings(), T0)
    assert isinstance(created.i_handler, int)
    assert (created.i_env, created.name, created.kind, created.enabled) == (
        3,
        "EventSender",
        "EventSender",
        True,
    )
    assert created.url == "http://app.example.com/espf"
    assert created.auth_method is AuthMethod.BASIC
    assert (created.login, created.password) == ("espf", "s3cret")
    assert (created.auth_scheme, created.auth_token) == (None, None)
    assert created.auth_header == "Authorization"
    assert created.timeout_s == 30.0
    assert await store.handler_get(3, "EventSender") == created
    assert await store.handler_get(3, "Other") is None


async def test_handler_created_disabled_with_custom_auth(store: Store) -> None:
    await store.env_create(3, "production", T0)
    created = await store.handler_create(
        3,
        "Hss",
        sender_settings(
            enabled=False,
            auth_method=AuthMethod.CUSTOM,
            login=None,
            password=None,
            auth_scheme="Token",
            auth_token="abc",
            auth_header="X-App-Auth",
            timeout_s=2.5,
        ),
        T0,
    )
    assert created.enabled is False
    assert created.auth_method is AuthMethod.CUSTOM
    assert (created.auth_scheme, created.auth_token, created.auth_header) == (
        "Token",
        "abc",
        "X-App-Auth",
    )
    assert created.timeout_s == 2.5
    assert await store.handler_get(3, "Hss") == created


async def test_handler_update_stores_every_field(store: Store) -> None:
    await store.env_create(3, "production", T0)
    created = await store.handler_create(3, "EventSender", sender_settings(), T0)
    changed = dataclasses.replace(
        created,
        url="https://elsewhere.example.com/hook",
        auth_method=AuthMethod.CUSTOM,
        login=None,
        password=None,
        auth_scheme="Bearer",
        auth_token="t0k3n",
        auth_header="X-Espf-Auth",
        timeout_s=12.0,
        enabled=False,
    )
    assert await store.handler_update(changed, T0 + 1) == changed
    assert await store.handler_get(3, "EventSender") == changed


async def test_handler_name_is_unique_per_environment(store: Store) -> None:
    await store.env_create(1, "one", T0)
    await store.env_create(2, "two", T0)
    first = await store.handler_create(1, "EventSender", sender_settings(), T0)
    with pytest.raises(Conflict):
        await store.handler_create(1, "EventSender", sender_settings(url="http://x.example"), T0)
    # The same name in another environment is another handler.
    other = await store.handler_create(2, "EventSender", sender_settings(), T0)
    assert other.i_handler != first.i_handler
    assert await store.handler_get(1, "EventSender") == first


async def test_handlers_are_listed_by_environment_then_name(store: Store) -> None:
    await store.env_create(1, "one", T0)
    await store.env_create(2, "two", T0)
    b1 = await store.handler_create(1, "B", sender_settings(), T0)
    a2 = await store.handler_create(2, "A", sender_settings(), T0)
    a1 = await store.handler_create(1, "A", sender_settings(), T0)
    assert await store.handler_list(None) == [a1, b1, a2]
    assert await store.handler_list(1) == [a1, b1]
    assert await store.handler_list(2) == [a2]
    assert await store.handler_list(3) == []


# -- subscriptions ---------------------------------------------------------------------
async def test_subscribe_list_and_unsubscribe(store: Store) -> None:
    await store.env_create(3, "production", T0)
    handler = await store.handler_create(3, "EventSender", sender_settings(), T0)
    custom = await store.event_type_create_custom("Custom/NextMonth", T0)
    account_new = await store.event_type_get_by_name("Account/New")
    assert account_new is not None

    assert await store.subscription_list(handler.i_handler) == []
    assert await store.subscription_add(handler.i_handler, custom.i_event_type) is True
    assert await store.subscription_add(handler.i_handler, custom.i_event_type) is False
    assert await store.subscription_add(handler.i_handler, account_new.i_event_type) is True
    # In type id order.
    assert await store.subscription_list(handler.i_handler) == ["Account/New", "Custom/NextMonth"]

    assert await store.subscription_remove(handler.i_handler, custom.i_event_type) is True
    assert await store.subscription_remove(handler.i_handler, custom.i_event_type) is False
    assert await store.subscription_list(handler.i_handler) == ["Account/New"]


async def test_subscriptions_belong_to_one_handler(store: Store) -> None:
    await store.env_create(3, "production", T0)
    first = await store.handler_create(3, "First", sender_settings(), T0)
    second = await store.handler_create(3, "Second", sender_settings(), T0)
    await store.subscription_add(first.i_handler, 17)
    assert await store.subscription_list(second.i_handler) == []
    assert await store.subscription_remove(second.i_handler, 17) is False
    assert await store.subscription_list(first.i_handler) == ["Account/New"]


async def test_subscribe_to_all_counts_only_new_ones(store: Store) -> None:
    await store.env_create(3, "production", T0)
    handler = await store.handler_create(3, "EventSender", sender_settings(), T0)
    await store.event_type_create_custom("Custom/NextMonth", T0)
    await store.subscription_add(handler.i_handler, 17)
    every_type = [t.name for t in await store.event_type_list()]

    assert await store.subscription_add_all(handler.i_handler) == len(every_type) - 1
    assert await store.subscription_list(handler.i_handler) == every_type
    assert await store.subscription_add_all(handler.i_handler) == 0
