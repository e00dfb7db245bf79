"""Turning rows (tuples, in the column order of the queries) into domain
objects. Shared by both backends: every query returns the same columns in the
same order on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from espf.domain import (
    AccountStatusChange,
    ApiUser,
    Attempt,
    AuthMethod,
    BlockedKey,
    ClaimedDelivery,
    Delivery,
    DeliveryState,
    Environment,
    Event,
    EventState,
    EventType,
    EventTypeUsage,
    Handler,
    HandlerHealth,
    ProvisioningStatus,
    RetryOverrides,
    Role,
    TlsSettings,
    Transition,
)

Row = Sequence[Any]


def environment(row: Row) -> Environment:
    return Environment(i_env=row[0], name=row[1])


def api_user(row: Row) -> ApiUser:
    return ApiUser(
        i_user=row[0],
        i_env=row[1],
        login=row[2],
        password_hash=row[3],
        role=Role(row[4]),
        weak_password=bool(row[5]),
    )


def event_type(row: Row) -> EventType:
    return EventType(i_event_type=row[0], name=row[1], builtin=bool(row[2]))


HANDLER_COLUMNS = 31


def handler(row: Row, offset: int = 0) -> Handler:
    r = row[offset : offset + HANDLER_COLUMNS]
    return Handler(
        i_handler=r[0],
        i_env=r[1],
        name=r[2],
        kind=r[3],
        enabled=bool(r[4]),
        url=r[5],
        auth_method=AuthMethod(r[6]),
        login=r[7],
        password=r[8],
        auth_scheme=r[9],
        auth_token=r[10],
        auth_header=r[11],
        timeout_s=float(r[12]),
        paused=bool(r[13]),
        paused_at=r[14],
        paused_reason=r[15],
        failing_since=r[16],
        auto_pause_after_s=r[17],
        retry=RetryOverrides(
            max_attempts=r[18],
            max_age_s=r[19],
            schedule=r[20],
            base_s=r[21],
            factor=r[22],
            cap_s=r[23],
        ),
        ordered=bool(r[24]),
        order_key=r[25],
        signing_secrets=tuple(orjson.loads(r[26])) if r[26] else (),
        tls=TlsSettings(verify=bool(r[27]), ca_file=r[28], client_cert=r[29], client_key=r[30]),
    )


def event(row: Row) -> Event:
    return Event(
        i_event=row[0],
        i_env=row[1],
        event_type=row[2],
        variables=orjson.loads(row[3]),
        start_at=row[4],
        created_at=row[5],
        state=EventState(row[6]),
        created_by=row[7],
    )


def claimed_deliveries(detail: Sequence[Row]) -> list[ClaimedDelivery]:
    """A claim's rows, each handler built once: a batch is mostly a few
    handlers' deliveries, and a Handler has 31 fields to convert."""
    handlers: dict[Any, Handler] = {}
    claimed = []
    for row in detail:
        found = handlers.get(row[8])
        if found is None:
            found = handlers[row[8]] = handler(row, 8)
        claimed.append(claimed_delivery(row, found))
    return claimed


def claimed_delivery(row: Row, its_handler: Handler | None = None) -> ClaimedDelivery:
    return ClaimedDelivery(
        i_delivery=row[0],
        i_event=row[1],
        i_env=row[2],
        event_type=row[3],
        variables_json=row[4],
        attempts=row[5],
        budget_from_attempt=row[6],
        budget_from_at=row[7],
        handler=its_handler or handler(row, 8),
    )


def attempt(row: Row) -> Attempt:
    return Attempt(
        i_attempt=row[0],
        i_delivery=row[1],
        attempt_no=row[2],
        started_at=row[3],
        duration_ms=row[4],
        status_code=row[5],
        error=row[6],
        outcome=row[7],
    )


def delivery(row: Row, attempt_log: list[Attempt]) -> Delivery:
    return Delivery(
        i_delivery=row[0],
        i_event=row[1],
        i_handler=row[2],
        handler_name=row[3],
        state=DeliveryState(row[4]),
        attempts=row[5],
        next_at=row[6],
        finished_at=row[7],
        last_status=row[8],
        last_error=row[9],
        order_key=row[10],
        created_at=row[11],
        attempt_log=attempt_log,
    )


def deliveries_with_attempts(delivery_rows: list[Row], attempt_rows: list[Row]) -> list[Delivery]:
    log: dict[int, list[Attempt]] = {}
    for row in attempt_rows:
        item = attempt(row)
        log.setdefault(item.i_delivery, []).append(item)
    return [delivery(row, log.get(row[0], [])) for row in delivery_rows]


def transition(row: Row) -> Transition:
    return Transition(i_event=row[0], i_delivery=row[1], state=row[2], at=row[3], reason=row[4])


def blocked_key(row: Row) -> BlockedKey:
    return BlockedKey(
        i_handler=row[0],
        handler_name=row[1],
        order_key=row[2],
        head_i_delivery=row[3],
        head_i_event=row[4],
        head_state=DeliveryState(row[5]),
        head_attempts=row[6],
        head_last_error=row[7],
        waiting=row[8],
    )


def handler_health(row: Row) -> HandlerHealth:
    return HandlerHealth(
        i_handler=row[0],
        i_env=row[1],
        name=row[2],
        failing_since=row[3],
        auto_pause_after_s=row[4],
        paused=bool(row[5]),
        enabled=bool(row[6]),
    )


def account_status_change(row: Row) -> AccountStatusChange:
    return AccountStatusChange(
        i_status_change=row[0],
        group=row[1],
        status=ProvisioningStatus(row[2]),
        message=row[3],
        reported_at=row[4],
        reported_by=row[5],
    )


def event_type_usage(
    subscribers: Sequence[Row], events_here: int, events_elsewhere: int, i_env: int
) -> EventTypeUsage:
    """``subscribers``: ``(i_env, handler name)`` rows of every environment."""
    return EventTypeUsage(
        subscribers_here=[name for env, name in subscribers if env == i_env],
        events_here=int(events_here or 0),
        subscriptions_elsewhere=sum(1 for env, _ in subscribers if env != i_env),
        events_elsewhere=int(events_elsewhere or 0),
    )
