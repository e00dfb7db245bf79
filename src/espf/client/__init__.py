"""A Python client of espf's API.

``Client`` (sync) and ``AsyncClient`` (async) have one method per API
operation, named after it (``event/create`` is ``event_create``,
``handler/subscribe`` is ``handler_subscribe``). Results are the frozen
dataclasses below; every failure raises an :class:`EspfError` subclass that
carries the API's ``error`` code, the HTTP ``status`` and the ``message``::

    from espf.client import Client, NotFound

    with Client("http://127.0.0.1:8080", "app", "change-me-please") as espf:
        i_event = espf.event_create(
            "Custom/NextMonth", {"i_account": 541}, "2021-03-01 00:00:00"
        )
        try:
            detail = espf.event_get(i_event)
        except NotFound as error:
            print(error.error, error.message)

``event_create`` is safe to retry: it sends an ``Idempotency-Key`` and
tries again by itself through refused connections, 503 and 429 (after
``Retry-After``) until ``create_deadline``, so a network blip never creates
two events.
"""

from espf.client.asynchronous import AsyncClient
from espf.client.calls import Call, api_time
from espf.client.errors import (
    BadRequest,
    Conflict,
    EspfError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from espf.client.methods import Operations
from espf.client.models import (
    AccountExpunged,
    AccountStatus,
    AccountStatusChange,
    AccountStatusReported,
    ApiToken,
    ApiTokenCreated,
    ApiTokenRevoked,
    Attempt,
    BlockedKey,
    BlockingDelivery,
    Delivery,
    Event,
    EventDetail,
    EventPage,
    EventType,
    EventTypeDeleted,
    Handler,
    HandlerCircuit,
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
    Transition,
    User,
    UserDeleted,
    WindowSpan,
)
from espf.client.operations import HandlerChanges, HandlerFields
from espf.client.sync import Client

__all__ = [
    "AccountExpunged",
    "AccountStatus",
    "AccountStatusChange",
    "AccountStatusReported",
    "ApiToken",
    "ApiTokenCreated",
    "ApiTokenRevoked",
    "AsyncClient",
    "Attempt",
    "BadRequest",
    "BlockedKey",
    "BlockingDelivery",
    "Call",
    "Client",
    "Conflict",
    "Delivery",
    "EspfError",
    "Event",
    "EventDetail",
    "EventPage",
    "EventType",
    "EventTypeDeleted",
    "Forbidden",
    "Handler",
    "HandlerChanges",
    "HandlerCircuit",
    "HandlerDeleted",
    "HandlerFields",
    "Maintenance",
    "MaintenanceWindow",
    "NotFound",
    "Occurrence",
    "Operations",
    "RateLimited",
    "ReplayResult",
    "RetrySettings",
    "Schedule",
    "SchedulePage",
    "SubscribedAll",
    "SubscriptionChange",
    "Subscriptions",
    "TlsSettings",
    "Transition",
    "Unauthorized",
    "Unavailable",
    "User",
    "UserDeleted",
    "WindowSpan",
    "api_time",
]
