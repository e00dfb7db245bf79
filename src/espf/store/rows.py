"""Turning rows (tuples, in the column order of the queries) into domain
objects. Shared by both backends: every query returns the same columns in the
same order on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from espf.domain import (
    ApiUser,
    Attempt,
    AuthMethod,
    ClaimedDelivery,
    Delivery,
    DeliveryState,
    Environment,
    Event,
    EventState,
    EventType,
    Handler,
    Role,
)

Row = Sequence[Any]


def environment(row: Row) -> Environment:
    return Environment(i_env=row[0], name=row[1])


def api_user(row: Row) -> ApiUser:
    return ApiUser(
        i_user=row[0], i_env=row[1], login=row[2], password_hash=row[3], role=Role(row[4])
    )


def event_type(row: Row) -> EventType:
    return EventType(i_event_type=row[0], name=row[1], builtin=bool(row[2]))


def handler(row: Row, offset: int = 0) -> Handler:
    r = row[offset : offset + 13]
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
    )


def claimed_delivery(row: Row) -> ClaimedDelivery:
    return ClaimedDelivery(
        i_delivery=row[0],
        i_event=row[1],
        i_env=row[2],
        event_type=row[3],
        variables_json=row[4],
        attempts=row[5],
        handler=handler(row, 6),
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
        attempt_log=attempt_log,
    )


def deliveries_with_attempts(delivery_rows: list[Row], attempt_rows: list[Row]) -> list[Delivery]:
    log: dict[int, list[Attempt]] = {}
    for row in attempt_rows:
        item = attempt(row)
        log.setdefault(item.i_delivery, []).append(item)
    return [delivery(row, log.get(row[0], [])) for row in delivery_rows]
