"""Complete domain objects for tests, so that each test names only what it is
about. A new field on ``Handler`` or ``HandlerSettings`` gets its default here,
once, not in every test that builds one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from espf.domain import (
    AttemptOutcome,
    AuthMethod,
    ClaimedDelivery,
    DeliveryState,
    Handler,
    HandlerSettings,
    NewEvent,
)

# A handler as the store returns it: basic auth, enabled, not paused.
_HANDLER = Handler(
    i_handler=1,
    i_env=3,
    name="EventSender",
    kind="EventSender",
    enabled=True,
    url="https://app.example.com/espf",
    auth_method=AuthMethod.BASIC,
    login="espf",
    password="s3cret",
    auth_scheme=None,
    auth_token=None,
    auth_header="Authorization",
    timeout_s=5.0,
)


def a_handler(**changes: Any) -> Handler:
    """A complete handler; ``changes`` replace any of its fields."""
    return replace(_HANDLER, **changes)


def a_claimed_delivery(handler: Handler | None = None, **changes: Any) -> ClaimedDelivery:
    """A delivery a node holds, of event 623623 (the seed's) to ``handler``."""
    handler = handler or a_handler()
    delivery = ClaimedDelivery(
        i_delivery=11,
        i_event=623623,
        i_env=handler.i_env,
        event_type="Custom/NextMonth",
        variables_json='{"i_account":541}',
        attempts=0,
        handler=handler,
    )
    return replace(delivery, **changes)


def sender_settings(**changes: Any) -> HandlerSettings:
    """Complete handler settings, as the service layer hands them to the store."""
    complete = HandlerSettings(
        url="http://app.example.com/espf",
        auth_method=AuthMethod.BASIC,
        login="espf",
        password="s3cret",
        auth_scheme=None,
        auth_token=None,
        auth_header="Authorization",
        timeout_s=30.0,
        enabled=True,
    )
    return replace(complete, **changes)


def a_new_event(
    i_event_type: int, start_at: int, i_env: int = 1, variables: Any = None, **changes: Any
) -> NewEvent:
    """An event to insert; ``variables`` as a JSON-able value (default ``{}``)."""
    event = NewEvent(
        i_env=i_env,
        i_event_type=i_event_type,
        variables_json=orjson.dumps({} if variables is None else variables).decode(),
        start_at=start_at,
    )
    return replace(event, **changes)


def a_delivered_outcome(claimed: ClaimedDelivery, at: int) -> AttemptOutcome:
    """The first attempt of ``claimed``, answered 200 at ``at``."""
    return AttemptOutcome(
        i_delivery=claimed.i_delivery,
        attempt_no=1,
        started_at=at,
        duration_ms=5,
        status_code=200,
        error=None,
        new_state=DeliveryState.DELIVERED,
        next_at=None,
        i_event=claimed.i_event,
        i_handler=claimed.handler.i_handler,
    )
