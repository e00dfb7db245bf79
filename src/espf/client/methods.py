"""The methods ``Client`` and ``AsyncClient`` share: each operation of
:mod:`espf.client.operations`, listed once, becomes a method of both.

An :class:`Operation` is a descriptor. Read from a client, it gives that
client's method for the operation: ``Client`` sends the built Call and
answers the result, ``AsyncClient`` answers a coroutine of it. The
overloads of ``__get__`` tell type checkers (and editors) the exact
signature and result of each method on each client, from the one
definition of the operation.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from espf.client import operations as op
from espf.client.answers import http_options
from espf.client.calls import Call

if TYPE_CHECKING:
    from espf.client.asynchronous import AsyncClient
    from espf.client.sync import Client

P = ParamSpec("P")
T = TypeVar("T")
TransportT = TypeVar("TransportT")


class Operation(Generic[P, T]):
    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Operation[P, T]: ...

    @overload
    def __get__(self, client: Client, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, client: AsyncClient, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self
        return client.method_for(self.build)


class Operations(Generic[TransportT]):
    """espf's API over HTTP: every operation, one method each, named after
    its operationId in the OpenAPI document (``event/create`` is
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
        transport: TransportT | None = None,
    ) -> None:
        self.base_url, self.login, self.create_deadline = base_url, login, create_deadline
        self._connect(http_options(base_url, login, password, timeout), transport)

    def _connect(self, options: dict[str, Any], transport: TransportT | None) -> None:
        """Open the client's httpx client with these options."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, login={self.login!r})"

    # events
    event_create = Operation(op.event_create)
    event_get = Operation(op.event_get)
    event_list = Operation(op.event_list)
    event_cancel = Operation(op.event_cancel)
    event_reschedule = Operation(op.event_reschedule)
    event_replay = Operation(op.event_replay)
    delivery_retry = Operation(op.delivery_retry)
    # handlers
    handler_create = Operation(op.handler_create)
    handler_update = Operation(op.handler_update)
    handler_get = Operation(op.handler_get)
    handler_delete = Operation(op.handler_delete)
    handler_enable = Operation(op.handler_enable)
    handler_disable = Operation(op.handler_disable)
    handler_list = Operation(op.handler_list)
    handler_pause = Operation(op.handler_pause)
    handler_resume = Operation(op.handler_resume)
    handler_blocked_keys = Operation(op.handler_blocked_keys)
    handler_maintenance_add = Operation(op.handler_maintenance_add)
    handler_maintenance_list = Operation(op.handler_maintenance_list)
    handler_maintenance_remove = Operation(op.handler_maintenance_remove)
    handler_subscriptions = Operation(op.handler_subscriptions)
    handler_subscribe = Operation(op.handler_subscribe)
    handler_unsubscribe = Operation(op.handler_unsubscribe)
    handler_subscribe_all = Operation(op.handler_subscribe_all)
    # event types and users
    event_type_list = Operation(op.event_type_list)
    event_type_create = Operation(op.event_type_create)
    event_type_delete = Operation(op.event_type_delete)
    user_create = Operation(op.user_create)
    user_list = Operation(op.user_list)
    user_delete = Operation(op.user_delete)
    user_set_role = Operation(op.user_set_role)
    user_set_password = Operation(op.user_set_password)
    user_token_create = Operation(op.user_token_create)
    user_token_list = Operation(op.user_token_list)
    user_token_revoke = Operation(op.user_token_revoke)
    # schedules
    schedule_create = Operation(op.schedule_create)
    schedule_list = Operation(op.schedule_list)
    schedule_get = Operation(op.schedule_get)
    schedule_pause = Operation(op.schedule_pause)
    schedule_resume = Operation(op.schedule_resume)
    schedule_delete = Operation(op.schedule_delete)
    schedule_preview = Operation(op.schedule_preview)
    # accounts
    account_export = Operation(op.account_export)
    account_expunge = Operation(op.account_expunge)
    account_status_report_by_i_account = Operation(op.account_status_report_by_i_account)
    account_status_report_by_id = Operation(op.account_status_report_by_id)
    account_status_read_by_i_account = Operation(op.account_status_read_by_i_account)
    account_status_read_by_id = Operation(op.account_status_read_by_id)
    # the service itself
    healthz = Operation(op.healthz)
    readyz = Operation(op.readyz)
    metrics = Operation(op.metrics)
    openapi = Operation(op.openapi)
    docs = Operation(op.docs)
    docs_script = Operation(op.docs_script)
    docs_style = Operation(op.docs_style)
