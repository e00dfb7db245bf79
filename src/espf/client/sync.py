"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from espf.client import calls
from espf.client.answers import RetryClock, no_answer, read_answer
from espf.client.calls import Call, HandlerSettings
from espf.client.errors import EspfError
from espf.client.models import (
    AccountExpunged,
    AccountStatus,
    AccountStatusReported,
    ApiToken,
    ApiTokenCreated,
    ApiTokenRevoked,
    BlockedKey,
    Delivery,
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


class Client:
    """espf's API over HTTP, one method per operation, named after its
    operationId in the OpenAPI document (``event/create`` is
    :meth:`event_create`). Results are the dataclasses of
    :mod:`espf.client.models`; failures raise :class:`espf.client.EspfError`
    subclasses.

    ``timeout``: seconds for each request. ``create_deadline``: how long
    :meth:`event_create` keeps trying through refused connections, 503 and
    429. The password is kept out of ``repr`` and logs.
    """

    def __init__(
        self,
        base_url: str,
        login: str,
        password: str,
        *,
        timeout: float = 10.0,
        create_deadline: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.login = login
        self.create_deadline = create_deadline
        self._http = httpx.Client(
            base_url=base_url,
            auth=httpx.BasicAuth(login, password),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "espf-client"},
        )

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, login={self.login!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Send one prepared call (see :mod:`espf.client.calls`)."""
        clock = RetryClock(self.create_deadline)
        while True:
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    json=call.body if call.method == "POST" else None,
                    params=call.params,
                    headers=call.headers,
                )
                return read_answer(call, response)
            except httpx.TransportError as exc:
                error: EspfError = no_answer(call, exc)
            except EspfError as exc:
                error = exc
            delay = clock.delay_after(call, error)
            if delay is None:
                raise error
            time.sleep(delay)

    # -- events ---------------------------------------------------------------------------
    def event_create(
        self,
        event_type: str,
        variables: Mapping[str, Any] | None = None,
        start_time: datetime | str | None = None,
        *,
        idempotency_key: str | None = None,
        time_zone: str | None = None,
    ) -> int:
        """Put an event into the queue; return its i_event. A fresh
        Idempotency-Key is made unless one is given, and the request is sent
        again through refused connections, 503 and 429 until
        ``create_deadline``: a repeat returns the first answer. With ``time_zone``
        (an IANA name), ``start_time`` is local time in that zone: text or a
        naive datetime."""
        return self.send(
            calls.event_create(event_type, variables, start_time, idempotency_key, time_zone)
        )

    def event_get(self, i_event: int) -> EventDetail:
        return self.send(calls.event_get(i_event))

    def event_list(
        self,
        *,
        event_type: str | None = None,
        state: str | None = None,
        variable: str | None = None,
        from_: datetime | str | None = None,
        to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> EventPage:
        """Events, newest first; ``from_`` is the API's ``from`` (created at or
        after), ``variable`` is ``"NAME=VALUE"``; pass the page's ``next_cursor``
        back as ``cursor`` for the next page."""
        return self.send(
            calls.event_list(
                event_type=event_type,
                state=state,
                variable=variable,
                from_=from_,
                to=to,
                limit=limit,
                cursor=cursor,
            )
        )

    def event_cancel(self, i_event: int, reason: str | None = None) -> EventDetail:
        return self.send(calls.event_cancel(i_event, reason))

    def event_reschedule(self, i_event: int, start_time: datetime | str) -> EventDetail:
        return self.send(calls.event_reschedule(i_event, start_time))

    def event_replay(
        self,
        *,
        handler: str | None = None,
        event_type: str | None = None,
        variable: str | None = None,
        states: Sequence[str] | None = None,
        from_: datetime | str | None = None,
        to: datetime | str | None = None,
        dry_run: bool = False,
    ) -> ReplayResult:
        """Send finished deliveries again, chosen by these filters; with
        ``dry_run`` only count them."""
        return self.send(
            calls.event_replay(
                handler=handler,
                event_type=event_type,
                variable=variable,
                states=states,
                from_=from_,
                to=to,
                dry_run=dry_run,
            )
        )

    def delivery_retry(self, i_delivery: int) -> Delivery:
        return self.send(calls.delivery_retry(i_delivery))

    # -- handlers -------------------------------------------------------------------------
    def handler_create(
        self,
        name: str,
        url: str,
        *,
        login: str | None = None,
        password: str | None = None,
        auth: str | None = None,
        auth_scheme: str | None = None,
        auth_token: str | None = None,
        auth_header: str | None = None,
        timeout: float | None = None,
        signing_secrets: Sequence[str] | None = None,
        retry: RetrySettings | None = None,
        auto_pause_after: float | None = None,
        ordered: bool | None = None,
        order_key: str | None = None,
        tls: TlsSettings | None = None,
        enabled: bool | None = None,
        max_in_flight: int | None = None,
        max_rate: float | None = None,
        rate_burst: int | None = None,
        breaker_after: int | None = None,
    ) -> Handler:
        """An EventSender handler, as ``espf handler create``: ``auth`` is
        basic (default, ``login``/``password``), custom (``auth_scheme``,
        ``auth_token``), signature (``signing_secrets``, newest first) or none;
        absent settings take their defaults. Secrets come back masked."""
        settings = HandlerSettings(
            url, login, password, auth, auth_scheme, auth_token, auth_header, timeout,
            signing_secrets, retry, auto_pause_after, ordered, order_key, tls, enabled,
            max_in_flight, max_rate, rate_burst, breaker_after,
        )  # fmt: skip
        return self.send(calls.handler_create(name, settings))

    def handler_update(
        self,
        name: str,
        *,
        url: str | None = None,
        login: str | None = None,
        password: str | None = None,
        auth: str | None = None,
        auth_scheme: str | None = None,
        auth_token: str | None = None,
        auth_header: str | None = None,
        timeout: float | None = None,
        signing_secrets: Sequence[str] | None = None,
        retry: RetrySettings | None = None,
        auto_pause_after: float | None = None,
        ordered: bool | None = None,
        order_key: str | None = None,
        tls: TlsSettings | None = None,
        enabled: bool | None = None,
        max_in_flight: int | None = None,
        max_rate: float | None = None,
        rate_burst: int | None = None,
        breaker_after: int | None = None,
    ) -> Handler:
        """Absent (None) settings stay; ``retry=RetrySettings()`` is the default policy again."""
        settings = HandlerSettings(
            url, login, password, auth, auth_scheme, auth_token, auth_header, timeout,
            signing_secrets, retry, auto_pause_after, ordered, order_key, tls, enabled,
            max_in_flight, max_rate, rate_burst, breaker_after,
        )  # fmt: skip
        return self.send(calls.handler_update(name, settings))

    def handler_get(self, name: str) -> Handler:
        return self.send(calls.handler_by_name("get", name))

    def handler_delete(self, name: str) -> HandlerDeleted:
        return self.send(calls.handler_delete(name))

    def handler_enable(self, name: str) -> Handler:
        return self.send(calls.handler_by_name("enable", name))

    def handler_disable(self, name: str) -> Handler:
        return self.send(calls.handler_by_name("disable", name))

    def handler_list(self) -> tuple[Handler, ...]:
        return self.send(calls.handler_list())

    def handler_pause(self, name: str, reason: str | None = None) -> Handler:
        return self.send(calls.handler_pause(name, reason))

    def handler_resume(self, name: str) -> Handler:
        return self.send(calls.handler_by_name("resume", name))

    def handler_blocked_keys(self, name: str | None = None) -> tuple[BlockedKey, ...]:
        return self.send(calls.handler_blocked_keys(name))

    def handler_maintenance_add(
        self,
        name: str,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        rule: str | None = None,
        time_zone: str | None = None,
        duration: int | None = None,
    ) -> MaintenanceWindow:
        """One-off (``start``, ``end``) or recurring (``rule`` in ``time_zone``,
        open ``duration`` seconds): nothing is sent to the handler meanwhile."""
        window = calls.window_body(start, end, rule, time_zone, duration)
        return self.send(calls.handler_maintenance_add(name, window))

    def handler_maintenance_list(self, name: str) -> Maintenance:
        return self.send(calls.handler_maintenance("list", name))

    def handler_maintenance_remove(self, name: str, i_window: int) -> Maintenance:
        return self.send(calls.handler_maintenance("remove", name, i_window))

    def handler_subscriptions(self, name: str) -> Subscriptions:
        return self.send(calls.handler_subscriptions(name))

    def handler_subscribe(self, name: str, event_type: str) -> SubscriptionChange:
        return self.send(calls.handler_subscription_change("subscribe", name, event_type))

    def handler_unsubscribe(self, name: str, event_type: str) -> SubscriptionChange:
        return self.send(calls.handler_subscription_change("unsubscribe", name, event_type))

    def handler_subscribe_all(self, name: str) -> SubscribedAll:
        return self.send(calls.handler_subscribe_all(name))

    # -- event types and users ------------------------------------------------------------
    def event_type_list(self) -> tuple[EventType, ...]:
        return self.send(calls.event_type_list())

    def event_type_create(self, name: str) -> EventType:
        return self.send(calls.event_type_create(name))

    def event_type_delete(self, name: str) -> EventTypeDeleted:
        return self.send(calls.event_type_delete(name))

    def user_create(
        self,
        login: str,
        password: str,
        role: str | None = None,
        allow_weak_password: bool | None = None,
    ) -> User:
        """``allow_weak_password``: accept a password below the length rule
        (an existing Application's credential)."""
        return self.send(calls.user_create(login, password, role, allow_weak_password))

    def user_list(self) -> tuple[User, ...]:
        return self.send(calls.user_list())

    def user_delete(self, login: str) -> UserDeleted:
        return self.send(calls.user_delete(login))

    def user_set_role(self, login: str, role: str) -> User:
        return self.send(calls.user_set_role(login, role))

    def user_set_password(
        self, login: str, password: str, allow_weak_password: bool | None = None
    ) -> User:
        """A new password; every session of the user ends."""
        return self.send(calls.user_set_password(login, password, allow_weak_password))

    def user_token_create(self, login: str, name: str) -> ApiTokenCreated:
        return self.send(calls.user_token_create(login, name))

    def user_token_list(self, login: str | None = None) -> tuple[ApiToken, ...]:
        return self.send(calls.user_token_list(login))

    def user_token_revoke(self, login: str, i_api_token: int) -> ApiTokenRevoked:
        return self.send(calls.user_token_revoke(login, i_api_token))

    # -- schedules ------------------------------------------------------------------------
    def schedule_create(
        self,
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
    ) -> Schedule:
        """Create a recurring schedule for ``key`` (e.g. "i_account=541"), or
        with ``replace`` replace the one with that key. Times are local in ``time_zone``."""
        return self.send(
            calls.schedule_create(
                key,
                event_type,
                rule,
                time_zone,
                variables,
                start_time,
                end_time,
                catch_up,
                catch_up_window_s,
                replace,
            )
        )

    def schedule_list(
        self, *, after: int | None = None, limit: int | None = None, key_prefix: str | None = None
    ) -> SchedulePage:
        return self.send(calls.schedule_list(after, limit, key_prefix))

    def schedule_get(self, key: str | None = None, *, i_schedule: int | None = None) -> Schedule:
        return self.send(calls.schedule_by_ref("get", key, i_schedule))

    def schedule_pause(self, key: str | None = None, *, i_schedule: int | None = None) -> Schedule:
        return self.send(calls.schedule_by_ref("pause", key, i_schedule))

    def schedule_resume(self, key: str | None = None, *, i_schedule: int | None = None) -> Schedule:
        return self.send(calls.schedule_by_ref("resume", key, i_schedule))

    def schedule_delete(self, key: str | None = None, *, i_schedule: int | None = None) -> Schedule:
        return self.send(calls.schedule_by_ref("delete", key, i_schedule))

    def schedule_preview(
        self, key: str | None = None, *, i_schedule: int | None = None, count: int | None = None
    ) -> tuple[Occurrence, ...]:
        return self.send(calls.schedule_preview(key, i_schedule, count))

    # -- account history ------------------------------------------------------------------
    def account_export(self, i_account: int) -> list[dict[str, Any]]:
        """Every event, delivery, attempt, state change and status report of
        the account, one dict per record ("record" says which)."""
        return self.send(calls.account_export(i_account))

    def account_expunge(self, i_account: int) -> AccountExpunged:
        """Delete the account's whole history; Conflict while one of its
        deliveries is being sent."""
        return self.send(calls.account_expunge(i_account))

    # -- account status -------------------------------------------------------------------
    def account_status_report_by_i_account(
        self, i_account: int, status: str, group: str, message: str | None = None
    ) -> AccountStatusReported:
        path = calls.account_path(i_account=i_account)
        return self.send(calls.account_status_report(path, status, group, message))

    def account_status_report_by_id(
        self, account_id: str, status: str, group: str, message: str | None = None
    ) -> AccountStatusReported:
        path = calls.account_path(account_id=account_id)
        return self.send(calls.account_status_report(path, status, group, message))

    def account_status_read_by_i_account(
        self,
        i_account: int,
        *,
        group: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AccountStatus:
        path = calls.account_path(i_account=i_account)
        return self.send(calls.account_status_read(path, group, limit, cursor))

    def account_status_read_by_id(
        self,
        account_id: str,
        *,
        group: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AccountStatus:
        path = calls.account_path(account_id=account_id)
        return self.send(calls.account_status_read(path, group, limit, cursor))

    # -- operations -----------------------------------------------------------------------
    def healthz(self) -> dict[str, Any]:
        return self.send(calls.get_json("/healthz"))

    def readyz(self) -> dict[str, Any]:
        """``{"status": "ready", ...}``; :class:`Unavailable` when not ready."""
        return self.send(calls.get_json("/readyz"))

    def metrics(self) -> str:
        """Prometheus metrics, as text."""
        return self.send(calls.get_text("/metrics"))

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI document."""
        return self.send(calls.get_json("/doc/api/openapi.json"))

    def docs(self) -> str:
        """The API's documentation page (HTML)."""
        return self.send(calls.get_text("/doc/api"))

    def docs_script(self) -> str:
        return self.send(calls.get_text("/doc/api/docs.js"))

    def docs_style(self) -> str:
        return self.send(calls.get_text("/doc/api/docs.css"))
