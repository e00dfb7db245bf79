"""Every API operation, once: a function with the operation's name, its
arguments as the clients take them, and its documentation, that builds the
request (a :class:`~espf.client.calls.Call`). ``Client`` and
``AsyncClient`` turn each into a method (see :mod:`espf.client.methods`):
they differ only in how they send a Call."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict, Unpack
from urllib.parse import quote

from espf.client import models
from espf.client.calls import (
    API,
    Call,
    api_call,
    api_time,
    list_of,
    local_time,
    present,
    reader_of,
    time_or_none,
)
from espf.client.decode import DecodeError

# -- events -------------------------------------------------------------------------------


def event_create(
    event_type: str,
    variables: Mapping[str, Any] | None = None,
    start_time: datetime | str | None = None,
    *,
    idempotency_key: str | None = None,
    time_zone: str | None = None,
) -> Call[int]:
    """Put an event into the queue; return its i_event. A fresh
    Idempotency-Key is made unless one is given, and the request is sent
    again through refused connections, 503 and 429 until
    ``create_deadline``: a repeat returns the first answer. With ``time_zone``
    (an IANA name), ``start_time`` is local time in that zone: text or a
    naive datetime."""
    key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
    body = present(
        event_type=event_type,
        variables=dict(variables) if variables is not None else None,
        # With a zone, start_time is local time in it: a naive datetime or text.
        start_time=local_time(start_time) if time_zone is not None else time_or_none(start_time),
        time_zone=time_zone,
    )

    def read(answer: Any) -> int:
        if not isinstance(answer, dict) or not isinstance(answer.get("i_event"), int):
            raise DecodeError(f"expected {{'i_event': N}}, got {answer!r:.200}")
        return int(answer["i_event"])

    return Call(
        "POST",
        f"{API}/event/create",
        read,
        body=body,
        headers={"Idempotency-Key": key},
        retry=True,
    )


def event_get(i_event: int) -> Call[models.EventDetail]:
    return api_call("event/get", reader_of(models.EventDetail), {"i_event": i_event})


def event_list(
    *,
    event_type: str | None = None,
    state: str | None = None,
    variable: str | None = None,
    from_: datetime | str | None = None,
    to: datetime | str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[models.EventPage]:
    """Events, newest first; ``from_`` is the API's ``from`` (created at or
    after), ``variable`` is ``"NAME=VALUE"``; pass the page's ``next_cursor``
    back as ``cursor`` for the next page."""
    body = present(
        event_type=event_type,
        state=state,
        variable=variable,
        limit=limit,
        cursor=cursor,
        to=time_or_none(to),
    )
    if from_ is not None:
        body["from"] = api_time(from_)

    def read(answer: Any) -> models.EventPage:
        return models.EventPage(list_of("events", models.Event)(answer), answer.get("next_cursor"))

    return api_call("event/list", read, body)


def event_cancel(i_event: int, reason: str | None = None) -> Call[models.EventDetail]:
    return api_call(
        "event/cancel", reader_of(models.EventDetail), present(i_event=i_event, reason=reason)
    )


def event_reschedule(i_event: int, start_time: datetime | str) -> Call[models.EventDetail]:
    body = {"i_event": i_event, "start_time": api_time(start_time)}
    return api_call("event/reschedule", reader_of(models.EventDetail), body)


def event_replay(
    *,
    handler: str | None = None,
    event_type: str | None = None,
    variable: str | None = None,
    states: Sequence[str] | None = None,
    from_: datetime | str | None = None,
    to: datetime | str | None = None,
    dry_run: bool = False,
) -> Call[models.ReplayResult]:
    """Send finished deliveries again, chosen by these filters; with
    ``dry_run`` only count them."""
    body = present(
        handler=handler,
        event_type=event_type,
        variable=variable,
        states=list(states) if states is not None else None,
        to=time_or_none(to),
        dry_run=dry_run,
    )
    if from_ is not None:
        body["from"] = api_time(from_)
    return api_call("event/replay", reader_of(models.ReplayResult), body)


def delivery_retry(i_delivery: int) -> Call[models.Delivery]:
    return api_call("delivery/retry", reader_of(models.Delivery), {"i_delivery": i_delivery})


# -- handlers -----------------------------------------------------------------------------


class HandlerFields(TypedDict, total=False):
    """A handler's settings as handler_create/update take them (keyword
    arguments); one not given is not sent: its default, or unchanged."""

    login: str
    password: str
    auth: str  # basic (default), custom, signature or none
    auth_scheme: str
    auth_token: str
    auth_header: str
    timeout: float
    signing_secrets: Sequence[str]  # newest first
    retry: models.RetrySettings  # RetrySettings() puts the default policy back
    auto_pause_after: float
    ordered: bool
    order_key: str
    tls: models.TlsSettings
    enabled: bool
    max_in_flight: int
    max_rate: float
    rate_burst: int
    breaker_after: int  # failures in a row that open the circuit; 0: never


class HandlerChanges(HandlerFields, total=False):
    url: str


def _handler_body(name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    body = present(**fields)
    if "signing_secrets" in body:
        body["signing_secrets"] = list(body["signing_secrets"])
    for nested in ("retry", "tls"):
        if nested in body:
            body[nested] = present(**dataclasses.asdict(body[nested]))
    return {"name": name, **body}


def handler_create(name: str, url: str, **settings: Unpack[HandlerFields]) -> Call[models.Handler]:
    """An EventSender handler, as ``espf handler create``: ``auth`` is
    basic (default, ``login``/``password``), custom (``auth_scheme``,
    ``auth_token``), signature (``signing_secrets``, newest first) or none;
    absent settings take their defaults. Secrets come back masked."""
    return api_call(
        "handler/create", reader_of(models.Handler), _handler_body(name, {"url": url, **settings})
    )


def handler_update(name: str, **changes: Unpack[HandlerChanges]) -> Call[models.Handler]:
    """Absent settings stay; ``retry=RetrySettings()`` is the default policy again."""
    return api_call("handler/update", reader_of(models.Handler), _handler_body(name, changes))


def _handler_verb(verb: str, name: str) -> Call[models.Handler]:
    return api_call(f"handler/{verb}", reader_of(models.Handler), {"name": name})


def handler_get(name: str) -> Call[models.Handler]:
    return _handler_verb("get", name)


def handler_enable(name: str) -> Call[models.Handler]:
    return _handler_verb("enable", name)


def handler_disable(name: str) -> Call[models.Handler]:
    return _handler_verb("disable", name)


def handler_resume(name: str) -> Call[models.Handler]:
    return _handler_verb("resume", name)


def handler_pause(name: str, reason: str | None = None) -> Call[models.Handler]:
    return api_call("handler/pause", reader_of(models.Handler), present(name=name, reason=reason))


def handler_delete(name: str) -> Call[models.HandlerDeleted]:
    return api_call("handler/delete", reader_of(models.HandlerDeleted), {"name": name})


def handler_list() -> Call[tuple[models.Handler, ...]]:
    return api_call("handler/list", list_of("handlers", models.Handler))


def handler_blocked_keys(name: str | None = None) -> Call[tuple[models.BlockedKey, ...]]:
    return api_call(
        "handler/blocked_keys", list_of("blocked_keys", models.BlockedKey), present(name=name)
    )


def handler_maintenance_add(
    name: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    rule: str | None = None,
    time_zone: str | None = None,
    duration: int | None = None,
) -> Call[models.MaintenanceWindow]:
    """One-off (``start``, ``end``) or recurring (``rule`` in ``time_zone``,
    open ``duration`` seconds): nothing is sent to the handler meanwhile."""
    window = present(
        start=time_or_none(start),
        end=time_or_none(end),
        rule=rule,
        time_zone=time_zone,
        duration=duration,
    )
    return api_call(
        "handler/maintenance/add", reader_of(models.MaintenanceWindow), {"name": name, **window}
    )


def handler_maintenance_list(name: str) -> Call[models.Maintenance]:
    return api_call("handler/maintenance/list", reader_of(models.Maintenance), {"name": name})


def handler_maintenance_remove(name: str, i_window: int) -> Call[models.Maintenance]:
    body = {"name": name, "id": i_window}
    return api_call("handler/maintenance/remove", reader_of(models.Maintenance), body)


def handler_subscriptions(name: str) -> Call[models.Subscriptions]:
    return api_call("handler/subscriptions", reader_of(models.Subscriptions), {"name": name})


def _subscription_change(verb: str, name: str, event_type: str) -> Call[models.SubscriptionChange]:
    body = {"name": name, "event_type": event_type}
    return api_call(f"handler/{verb}", reader_of(models.SubscriptionChange), body)


def handler_subscribe(name: str, event_type: str) -> Call[models.SubscriptionChange]:
    return _subscription_change("subscribe", name, event_type)


def handler_unsubscribe(name: str, event_type: str) -> Call[models.SubscriptionChange]:
    return _subscription_change("unsubscribe", name, event_type)


def handler_subscribe_all(name: str) -> Call[models.SubscribedAll]:
    return api_call("handler/subscribe_all", reader_of(models.SubscribedAll), {"name": name})


# -- event types and users ----------------------------------------------------------------


def event_type_list() -> Call[tuple[models.EventType, ...]]:
    return api_call("event_type/list", list_of("event_types", models.EventType))


def event_type_create(name: str) -> Call[models.EventType]:
    return api_call("event_type/create", reader_of(models.EventType), {"name": name})


def event_type_delete(name: str) -> Call[models.EventTypeDeleted]:
    return api_call("event_type/delete", reader_of(models.EventTypeDeleted), {"name": name})


def user_create(
    login: str, password: str, role: str | None = None, allow_weak_password: bool | None = None
) -> Call[models.User]:
    """``allow_weak_password``: accept a password below the length rule
    (an existing Application's credential)."""
    body = present(
        login=login, password=password, role=role, allow_weak_password=allow_weak_password
    )
    return api_call("user/create", reader_of(models.User), body)


def user_list() -> Call[tuple[models.User, ...]]:
    return api_call("user/list", list_of("users", models.User))


def user_delete(login: str) -> Call[models.UserDeleted]:
    return api_call("user/delete", reader_of(models.UserDeleted), {"login": login})


def user_set_role(login: str, role: str) -> Call[models.User]:
    return api_call("user/set_role", reader_of(models.User), {"login": login, "role": role})


def user_set_password(
    login: str, password: str, allow_weak_password: bool | None = None
) -> Call[models.User]:
    """A new password; every session of the user ends."""
    body = present(login=login, password=password, allow_weak_password=allow_weak_password)
    return api_call("user/set_password", reader_of(models.User), body)


def user_token_create(login: str, name: str) -> Call[models.ApiTokenCreated]:
    return api_call(
        "user/token_create", reader_of(models.ApiTokenCreated), {"login": login, "name": name}
    )


def user_token_list(login: str | None = None) -> Call[tuple[models.ApiToken, ...]]:
    return api_call("user/token_list", list_of("tokens", models.ApiToken), present(login=login))


def user_token_revoke(login: str, i_api_token: int) -> Call[models.ApiTokenRevoked]:
    body = {"login": login, "i_api_token": i_api_token}
    return api_call("user/token_revoke", reader_of(models.ApiTokenRevoked), body)


# -- schedules ----------------------------------------------------------------------------


def schedule_create(
    key: str,
    event_type: str,
    rule: str,
    time_zone: str,
    variables: Mapping[str, Any] | None = None,
    *,
    start_time: str | None = None,
    end_time: str | None = None,
    catch_up: str | None = None,
    catch_up_window_s: int | None = None,
    replace: bool = False,
) -> Call[models.Schedule]:
    """Create a recurring schedule for ``key`` (e.g. "i_account=541"), or
    with ``replace`` replace the one with that key. Times are local in ``time_zone``."""
    body = present(
        key=key,
        event_type=event_type,
        rule=rule,
        time_zone=time_zone,
        variables=dict(variables) if variables is not None else None,
        start_time=start_time,
        end_time=end_time,
        catch_up=catch_up,
        catch_up_window_s=catch_up_window_s,
        replace=replace or None,
    )
    return api_call("schedule/create", reader_of(models.Schedule), body)


def schedule_list(
    *, after: int | None = None, limit: int | None = None, key_prefix: str | None = None
) -> Call[models.SchedulePage]:
    body = present(after=after, limit=limit, key_prefix=key_prefix)
    return api_call("schedule/list", reader_of(models.SchedulePage), body)


def _schedule_ref(key: str | None, i_schedule: int | None) -> dict[str, Any]:
    if (key is None) == (i_schedule is None):
        raise ValueError("name the schedule by key or by i_schedule (one of them)")
    return present(key=key, i_schedule=i_schedule)


def _schedule_verb(verb: str, key: str | None, i_schedule: int | None) -> Call[models.Schedule]:
    return api_call(f"schedule/{verb}", reader_of(models.Schedule), _schedule_ref(key, i_schedule))


def schedule_get(key: str | None = None, *, i_schedule: int | None = None) -> Call[models.Schedule]:
    return _schedule_verb("get", key, i_schedule)


def schedule_pause(
    key: str | None = None, *, i_schedule: int | None = None
) -> Call[models.Schedule]:
    return _schedule_verb("pause", key, i_schedule)


def schedule_resume(
    key: str | None = None, *, i_schedule: int | None = None
) -> Call[models.Schedule]:
    return _schedule_verb("resume", key, i_schedule)


def schedule_delete(
    key: str | None = None, *, i_schedule: int | None = None
) -> Call[models.Schedule]:
    return _schedule_verb("delete", key, i_schedule)


def schedule_preview(
    key: str | None = None, *, i_schedule: int | None = None, count: int | None = None
) -> Call[tuple[models.Occurrence, ...]]:
    body = {**_schedule_ref(key, i_schedule), **present(count=count)}
    return api_call("schedule/preview", list_of("occurrences", models.Occurrence), body)


# -- account history ----------------------------------------------------------------------


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def account_export(i_account: int) -> Call[list[dict[str, Any]]]:
    """Every event, delivery, attempt, state change and status report of
    the account, one dict per record ("record" says which)."""
    return Call(
        "POST", f"{API}/account/export", _json_lines, body={"i_account": i_account}, text=True
    )


def account_expunge(i_account: int) -> Call[models.AccountExpunged]:
    """Delete the account's whole history; Conflict while one of its
    deliveries is being sent."""
    return api_call("account/expunge", reader_of(models.AccountExpunged), {"i_account": i_account})


# -- account status -----------------------------------------------------------------------


def _by_i_account(i_account: int) -> str:
    return f"{API}/account/i/{int(i_account)}/status"


def _by_id(account_id: str) -> str:
    # Quoted whole: an id is one path segment, whatever it contains.
    return f"{API}/account/{quote(account_id, safe='')}/status"


def _report(
    path: str, status: str, group: str, message: str | None
) -> Call[models.AccountStatusReported]:
    body = present(status=status, group=group, message=message)
    return Call("POST", path, reader_of(models.AccountStatusReported), body=body)


def _read(
    path: str, group: str | None, limit: int | None, cursor: str | None
) -> Call[models.AccountStatus]:
    params: dict[str, str | int] = present(group=group, limit=limit, cursor=cursor)
    return Call("GET", path, reader_of(models.AccountStatus), params=params)


def account_status_report_by_i_account(
    i_account: int, status: str, group: str, message: str | None = None
) -> Call[models.AccountStatusReported]:
    return _report(_by_i_account(i_account), status, group, message)


def account_status_report_by_id(
    account_id: str, status: str, group: str, message: str | None = None
) -> Call[models.AccountStatusReported]:
    return _report(_by_id(account_id), status, group, message)


def account_status_read_by_i_account(
    i_account: int, *, group: str | None = None, limit: int | None = None, cursor: str | None = None
) -> Call[models.AccountStatus]:
    return _read(_by_i_account(i_account), group, limit, cursor)


def account_status_read_by_id(
    account_id: str,
    *,
    group: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[models.AccountStatus]:
    return _read(_by_id(account_id), group, limit, cursor)


# -- operations of the service itself -----------------------------------------------------


def _as_dict(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise DecodeError(f"expected a JSON object, got {answer!r:.200}")
    return answer


def healthz() -> Call[dict[str, Any]]:
    return Call("GET", "/healthz", _as_dict)


def readyz() -> Call[dict[str, Any]]:
    """``{"status": "ready", ...}``; :class:`Unavailable` when not ready."""
    return Call("GET", "/readyz", _as_dict)


def metrics() -> Call[str]:
    """Prometheus metrics, as text."""
    return Call("GET", "/metrics", str, text=True)


def openapi() -> Call[dict[str, Any]]:
    """The server's OpenAPI document."""
    return Call("GET", "/doc/api/openapi.json", _as_dict)


def docs() -> Call[str]:
    """The API's documentation page (HTML)."""
    return Call("GET", "/doc/api", str, text=True)


def docs_script() -> Call[str]:
    return Call("GET", "/doc/api/docs.js", str, text=True)


def docs_style() -> Call[str]:
    return Call("GET", "/doc/api/docs.css", str, text=True)
