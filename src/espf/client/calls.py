"""Each API operation as a request description (:class:`Call`): method,
path, body, and how to read the answer. The sync and async clients differ
only in how they send a Call, so an operation's arguments and result are
defined once, here."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from espf.client.decode import DecodeError, decode
from espf.client.models import (
    AccountExpunged,
    AccountStatus,
    AccountStatusReported,
    ApiToken,
    ApiTokenCreated,
    ApiTokenRevoked,
    BlockedKey,
    Delivery,
    Event,
    EventDetail,
    EventPage,
    EventType,
    EventTypeDeleted,
    Handler,
    HandlerDeleted,
    Maintenance,
    MaintenanceWindow,
    Occurrence,
    ReplayResult,
    RetrySettings,
    Schedule,
    SchedulePage,
    SubscribedAll,
    SubscriptionChange,
    Subscriptions,
    TlsSettings,
    User,
    UserDeleted,
)

T = TypeVar("T")
API = "/espf/v1"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and the reader of its successful answer (JSON or text)."""

    method: str
    path: str
    read: Callable[[Any], T]
    body: Mapping[str, Any] | None = None
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] | None = None
    text: bool = False  # the answer is text (metrics, the docs page), not JSON
    # Safe to send again after a refused connection, 503 or 429: event_create
    # carries an Idempotency-Key, so a repeat returns the first answer.
    retry: bool = False


def _api(path: str, read: Callable[[Any], T], body: Mapping[str, Any] | None = None) -> Call[T]:
    return Call("POST", f"{API}/{path}", read, body=body if body is not None else {})


def _present(**fields: Any) -> dict[str, Any]:
    """The fields given; None means "not sent"."""
    return {name: value for name, value in fields.items() if value is not None}


def _field(name: str, cls: type[T]) -> Callable[[Any], tuple[T, ...]]:
    def read(answer: Any) -> tuple[T, ...]:
        items = answer.get(name) if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise DecodeError(f"expected a list under {name!r}, got {answer!r:.200}")
        return tuple(decode(cls, item) for item in items)

    return read


def _reader(cls: type[T]) -> Callable[[Any], T]:
    return lambda answer: decode(cls, answer)


def api_time(value: datetime | str) -> str:
    """The contract's start_time: 'YYYY-MM-DD HH:MM:SS[.mmm]' in UTC. A
    datetime must carry its time zone: a naive one is ambiguous."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a datetime sent to espf must be timezone-aware (e.g. tzinfo=UTC)")
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{utc.microsecond // 1000:03d}" if utc.microsecond >= 1000 else text


def _time_or_none(value: datetime | str | None) -> str | None:
    return None if value is None else api_time(value)


def _local_time(value: datetime | str | None) -> str | None:
    """A local start time for a time_zone: text as it is, or a naive datetime."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        raise ValueError("with time_zone, start_time is local time: pass a naive datetime")
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{value.microsecond // 1000:03d}" if value.microsecond >= 1000 else text


# -- events -------------------------------------------------------------------------------


def event_create(
    event_type: str,
    variables: Mapping[str, Any] | None,
    start_time: datetime | str | None,
    idempotency_key: str | None,
    time_zone: str | None = None,
) -> Call[int]:
    key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
    body = _present(
        event_type=event_type,
        variables=dict(variables) if variables is not None else None,
        # With a zone, start_time is local time in it: a naive datetime or text.
        start_time=_local_time(start_time) if time_zone is not None else _time_or_none(start_time),
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


def event_get(i_event: int) -> Call[EventDetail]:
    return _api("event/get", _reader(EventDetail), {"i_event": i_event})


def event_list(
    *,
    event_type: str | None,
    state: str | None,
    variable: str | None,
    from_: datetime | str | None,
    to: datetime | str | None,
    limit: int | None,
    cursor: str | None,
) -> Call[EventPage]:
    body = _present(
        event_type=event_type,
        state=state,
        variable=variable,
        limit=limit,
        cursor=cursor,
        to=_time_or_none(to),
    )
    if from_ is not None:
        body["from"] = api_time(from_)

    def read(answer: Any) -> EventPage:
        return EventPage(_field("events", Event)(answer), answer.get("next_cursor"))

    return _api("event/list", read, body)


def event_cancel(i_event: int, reason: str | None) -> Call[EventDetail]:
    return _api("event/cancel", _reader(EventDetail), _present(i_event=i_event, reason=reason))


def event_reschedule(i_event: int, start_time: datetime | str) -> Call[EventDetail]:
    body = {"i_event": i_event, "start_time": api_time(start_time)}
    return _api("event/reschedule", _reader(EventDetail), body)


def event_replay(
    *,
    handler: str | None,
    event_type: str | None,
    variable: str | None,
    states: Sequence[str] | None,
    from_: datetime | str | None,
    to: datetime | str | None,
    dry_run: bool,
) -> Call[ReplayResult]:
    body = _present(
        handler=handler,
        event_type=event_type,
        variable=variable,
        states=list(states) if states is not None else None,
        to=_time_or_none(to),
        dry_run=dry_run,
    )
    if from_ is not None:
        body["from"] = api_time(from_)
    return _api("event/replay", _reader(ReplayResult), body)


def delivery_retry(i_delivery: int) -> Call[Delivery]:
    return _api("delivery/retry", _reader(Delivery), {"i_delivery": i_delivery})


# -- handlers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandlerSettings:
    """handler_create/update fields; None: not sent (default, or unchanged)."""

    url: str | None = None
    login: str | None = None
    password: str | None = None
    auth: str | None = None
    auth_scheme: str | None = None
    auth_token: str | None = None
    auth_header: str | None = None
    timeout: float | None = None
    signing_secrets: Sequence[str] | None = None
    retry: RetrySettings | None = None
    auto_pause_after: float | None = None
    ordered: bool | None = None
    order_key: str | None = None
    tls: TlsSettings | None = None
    enabled: bool | None = None
    max_in_flight: int | None = None
    max_rate: float | None = None
    rate_burst: int | None = None
    breaker_after: int | None = None

    def body(self, name: str) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["signing_secrets"] = (
            list(self.signing_secrets) if self.signing_secrets is not None else None
        )
        for nested in ("retry", "tls"):
            value = fields[nested]
            fields[nested] = None if value is None else _present(**dataclasses.asdict(value))
        return {"name": name, **_present(**fields)}


def handler_create(name: str, settings: HandlerSettings) -> Call[Handler]:
    return _api("handler/create", _reader(Handler), settings.body(name))


def handler_update(name: str, settings: HandlerSettings) -> Call[Handler]:
    return _api("handler/update", _reader(Handler), settings.body(name))


def handler_by_name(verb: str, name: str) -> Call[Handler]:
    """get, enable, disable, resume: ``{name}`` in, the handler out."""
    return _api(f"handler/{verb}", _reader(Handler), {"name": name})


def handler_pause(name: str, reason: str | None) -> Call[Handler]:
    return _api("handler/pause", _reader(Handler), _present(name=name, reason=reason))


def handler_delete(name: str) -> Call[HandlerDeleted]:
    return _api("handler/delete", _reader(HandlerDeleted), {"name": name})


def handler_list() -> Call[tuple[Handler, ...]]:
    return _api("handler/list", _field("handlers", Handler))


def handler_blocked_keys(name: str | None) -> Call[tuple[BlockedKey, ...]]:
    return _api("handler/blocked_keys", _field("blocked_keys", BlockedKey), _present(name=name))


def handler_maintenance_add(name: str, window: dict[str, Any]) -> Call[MaintenanceWindow]:
    return _api("handler/maintenance/add", _reader(MaintenanceWindow), {"name": name, **window})


def handler_maintenance(verb: str, name: str, i_window: int | None = None) -> Call[Maintenance]:
    body = _present(name=name, id=i_window)
    return _api(f"handler/maintenance/{verb}", _reader(Maintenance), body)


def window_body(
    start: datetime | str | None,
    end: datetime | str | None,
    rule: str | None,
    time_zone: str | None,
    duration: int | None,
) -> dict[str, Any]:
    return _present(
        start=None if start is None else api_time(start),
        end=None if end is None else api_time(end),
        rule=rule,
        time_zone=time_zone,
        duration=duration,
    )


def handler_subscriptions(name: str) -> Call[Subscriptions]:
    return _api("handler/subscriptions", _reader(Subscriptions), {"name": name})


def handler_subscription_change(verb: str, name: str, event_type: str) -> Call[SubscriptionChange]:
    body = {"name": name, "event_type": event_type}
    return _api(f"handler/{verb}", _reader(SubscriptionChange), body)


def handler_subscribe_all(name: str) -> Call[SubscribedAll]:
    return _api("handler/subscribe_all", _reader(SubscribedAll), {"name": name})


# -- event types and users ----------------------------------------------------------------


def event_type_list() -> Call[tuple[EventType, ...]]:
    return _api("event_type/list", _field("event_types", EventType))


def event_type_create(name: str) -> Call[EventType]:
    return _api("event_type/create", _reader(EventType), {"name": name})


def event_type_delete(name: str) -> Call[EventTypeDeleted]:
    return _api("event_type/delete", _reader(EventTypeDeleted), {"name": name})


def user_create(
    login: str, password: str, role: str | None, allow_weak_password: bool | None = None
) -> Call[User]:
    body = _present(
        login=login, password=password, role=role, allow_weak_password=allow_weak_password
    )
    return _api("user/create", _reader(User), body)


def user_list() -> Call[tuple[User, ...]]:
    return _api("user/list", _field("users", User))


def user_delete(login: str) -> Call[UserDeleted]:
    return _api("user/delete", _reader(UserDeleted), {"login": login})


def user_set_role(login: str, role: str) -> Call[User]:
    return _api("user/set_role", _reader(User), {"login": login, "role": role})


def user_set_password(
    login: str, password: str, allow_weak_password: bool | None = None
) -> Call[User]:
    body = _present(login=login, password=password, allow_weak_password=allow_weak_password)
    return _api("user/set_password", _reader(User), body)


def user_token_create(login: str, name: str) -> Call[ApiTokenCreated]:
    return _api("user/token_create", _reader(ApiTokenCreated), {"login": login, "name": name})


def user_token_list(login: str | None = None) -> Call[tuple[ApiToken, ...]]:
    return _api("user/token_list", _field("tokens", ApiToken), _present(login=login))


def user_token_revoke(login: str, i_api_token: int) -> Call[ApiTokenRevoked]:
    body = {"login": login, "i_api_token": i_api_token}
    return _api("user/token_revoke", _reader(ApiTokenRevoked), body)


# -- account status -----------------------------------------------------------------------


def account_path(i_account: int | None = None, account_id: str | None = None) -> str:
    if i_account is not None:
        return f"{API}/account/i/{int(i_account)}/status"
    assert account_id is not None
    # Quoted whole: an id is one path segment, whatever it contains.
    return f"{API}/account/{quote(account_id, safe='')}/status"


def account_status_report(
    path: str, status: str, group: str, message: str | None
) -> Call[AccountStatusReported]:
    body = _present(status=status, group=group, message=message)
    return Call("POST", path, _reader(AccountStatusReported), body=body)


def account_status_read(
    path: str, group: str | None, limit: int | None, cursor: str | None
) -> Call[AccountStatus]:
    params: dict[str, str | int] = _present(group=group, limit=limit, cursor=cursor)
    return Call("GET", path, _reader(AccountStatus), params=params)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def account_export(i_account: int) -> Call[list[dict[str, Any]]]:
    """The answer is JSON lines: one record (a dict with "record") per line."""
    return Call(
        "POST", f"{API}/account/export", _json_lines, body={"i_account": i_account}, text=True
    )


def account_expunge(i_account: int) -> Call[AccountExpunged]:
    return _api("account/expunge", _reader(AccountExpunged), {"i_account": i_account})


# -- operations ---------------------------------------------------------------------------


def _as_dict(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise DecodeError(f"expected a JSON object, got {answer!r:.200}")
    return answer


def get_json(path: str) -> Call[dict[str, Any]]:
    return Call("GET", path, _as_dict)


def get_text(path: str) -> Call[str]:
    return Call("GET", path, str, text=True)


# -- schedules ----------------------------------------------------------------------------


def _schedule_ref(key: str | None, i_schedule: int | None) -> dict[str, Any]:
    if (key is None) == (i_schedule is None):
        raise ValueError("name the schedule by key or by i_schedule (one of them)")
    return _present(key=key, i_schedule=i_schedule)


def schedule_create(
    key: str,
    event_type: str,
    rule: str,
    time_zone: str,
    variables: Mapping[str, Any] | None,
    start_time: str | None,
    end_time: str | None,
    catch_up: str | None,
    catch_up_window_s: int | None,
    replace: bool,
) -> Call[Schedule]:
    body = _present(
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
    return _api("schedule/create", _reader(Schedule), body)


def schedule_list(
    after: int | None, limit: int | None, key_prefix: str | None
) -> Call[SchedulePage]:
    body = _present(after=after, limit=limit, key_prefix=key_prefix)
    return _api("schedule/list", _reader(SchedulePage), body)


def schedule_by_ref(verb: str, key: str | None, i_schedule: int | None) -> Call[Schedule]:
    return _api(f"schedule/{verb}", _reader(Schedule), _schedule_ref(key, i_schedule))


def schedule_preview(
    key: str | None, i_schedule: int | None, count: int | None
) -> Call[tuple[Occurrence, ...]]:
    body = {**_schedule_ref(key, i_schedule), **_present(count=count)}
    return _api("schedule/preview", _field("occurrences", Occurrence), body)
