"""Plans (plan.py) of the writes outside delivery: environments, users, event
types, handlers, idempotent event creation and account status. Written once
for every backend; ``lock`` steps serialise concurrent PostgreSQL writers
where an id is allocated or a rule spans rows, and SQLite skips them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from espf.domain import (
    AccountStatusChange,
    ApiUser,
    Environment,
    EventType,
    Handler,
    HandlerSettings,
    NewEvent,
)
from espf.handler_rules import deleted_handler_name, settings_of
from espf.standard_types import FIRST_CUSTOM_ID
from espf.store import rows as to
from espf.store.delivery_rules import hold_or_release
from espf.store.handler_columns import handler_params
from espf.store.limit_plans import sync_limiter
from espf.store.params import idempotency_key_params, idempotent_repeat
from espf.store.plan import Plan, lock, row, rows, run


def create_environment(i_env: int | None, name: str, now: int) -> Plan[Environment]:
    if i_env is None:
        yield lock("id_allocation_lock", {"table_name": "environments"})
    return to.environment((yield row("env_insert", {"i_env": i_env, "name": name, "now": now})))


def delete_user(i_env: int, login: str) -> Plan[bool]:
    params = {"i_env": i_env, "login": login}
    yield lock("environment_lock", params)
    return (yield row("user_delete", params)) is not None


def set_user_role(params: Mapping[str, Any]) -> Plan[ApiUser | None]:
    yield lock("environment_lock", params)
    found = yield row("user_set_role", params)
    return to.api_user(found) if found else None


def create_custom_event_type(name: str, now: int) -> Plan[EventType]:
    yield lock("id_allocation_lock", {"table_name": "event_types"})
    next_id = (yield row("event_type_next_custom_id", {"first_custom_id": FIRST_CUSTOM_ID}))[0]
    params = {"i_event_type": next_id, "name": name, "now": now}
    return to.event_type((yield row("event_type_insert_custom", params)))


def delete_event_type(i_event_type: int, now: int) -> Plan[bool]:
    key = {"i_event_type": i_event_type}
    deleted = yield row("event_type_delete_unused", key)
    if deleted is None:
        return False
    yield run("event_type_retire", {**key, "name": deleted[1], "now": now})
    return True


def event_type_counts(i_event_type: int, i_env: int) -> Plan[tuple[list[Any], Any]]:
    key = {"i_event_type": i_event_type, "i_env": i_env}
    subscribers = yield rows("event_type_subscribers", key)
    counts = yield row("event_type_event_counts", key)
    return [tuple(r) for r in subscribers], counts


def event_deliveries(i_event: int) -> Plan[tuple[list[Any], list[Any]]]:
    """An event's deliveries and their attempts, read together."""
    key = {"i_event": i_event}
    deliveries = yield rows("delivery_list_for_event", key)
    attempts = yield rows("attempt_list_for_event", key)
    return deliveries, attempts


def create_handler(i_env: int, name: str, settings: HandlerSettings, now: int) -> Plan[Handler]:
    params = handler_params(settings) | {"i_env": i_env, "name": name, "now": now}
    yield row("handler_insert", params)
    created = to.handler((yield row("handler_get", params)))
    yield from sync_limiter(created, now)
    return created


def update_handler(handler: Handler, now: int) -> Plan[Handler]:
    params = handler_params(settings_of(handler)) | {"i_handler": handler.i_handler, "now": now}
    yield run("handler_update", params)
    yield from hold_or_release(handler)
    yield from sync_limiter(handler, now)
    return to.handler((yield row("handler_get", {"i_env": handler.i_env, "name": handler.name})))


def delete_handler(handler: Handler, now: int) -> Plan[int]:
    """0 once deleted; else how many deliveries are unfinished (it stays)."""
    key = {"i_handler": handler.i_handler}
    yield lock("handler_lock", key)
    unfinished = int((yield row("handler_count_unfinished", key))[0])
    if unfinished:
        return unfinished
    yield run("subscription_delete_all", key)
    deleted_name = deleted_handler_name(handler)
    yield run("handler_mark_deleted", {**key, "now": now, "deleted_name": deleted_name})
    return 0


def insert_event(params: Mapping[str, Any]) -> Plan[int]:
    return int((yield row("event_insert", params))[0])


def insert_idempotent_event(
    event: NewEvent, params: Mapping[str, Any], now: int
) -> Plan[tuple[int, bool]]:
    """The event's id, and whether it was created now (not a repeat of its key)."""
    idem = event.idempotency
    assert idem is not None
    key = {"i_env": event.i_env, "key": idem.key, "not_before": idem.not_before}
    yield lock("idempotency_key_lock", key)
    seen = yield row("idempotency_key_get", key)
    if seen is not None:
        return idempotent_repeat(idem, seen[0], seen[1]), False
    i_event = yield from insert_event(params)
    yield run("idempotency_key_put", idempotency_key_params(event, i_event, now))
    return i_event, True


def report_account_status(params: Mapping[str, Any]) -> Plan[AccountStatusChange]:
    change = to.account_status_change((yield row("account_status_insert", params)))
    yield run("account_status_set_current", {**params, "i_status_change": change.i_status_change})
    return change
