"""The nouns of espf, as plain dataclasses the store returns and everyone reads.

Instants are epoch milliseconds (UTC), see ``clock.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventState(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its start_time
    DISPATCHED = "dispatched"  # due; one delivery per subscribed handler was made
    UNROUTED = "unrouted"  # due, but no enabled handler was subscribed to its type


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    IN_FLIGHT = "in_flight"  # claimed by a dispatcher node, request under way
    HELD = "held"  # its handler is disabled; resumes when the handler is enabled
    DELIVERED = "delivered"  # the Application answered 2xx
    REJECTED = "rejected"  # the Application answered 4xx: never resent
    FAILED = "failed"  # attempts exhausted

    @property
    def is_final(self) -> bool:
        return self in _FINAL_DELIVERY_STATES


_FINAL_DELIVERY_STATES = {DeliveryState.DELIVERED, DeliveryState.REJECTED, DeliveryState.FAILED}


class AuthMethod(StrEnum):
    BASIC = "basic"
    CUSTOM = "custom"
    NONE = "none"


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCER = "producer"


@dataclass(frozen=True, slots=True)
class Environment:
    i_env: int
    name: str


@dataclass(frozen=True, slots=True)
class ApiUser:
    i_user: int
    i_env: int
    login: str
    password_hash: str
    role: Role


@dataclass(frozen=True, slots=True)
class EventType:
    i_event_type: int
    name: str
    builtin: bool


@dataclass(frozen=True, slots=True)
class Handler:
    i_handler: int
    i_env: int
    name: str
    kind: str
    enabled: bool
    url: str
    auth_method: AuthMethod
    login: str | None
    password: str | None
    auth_scheme: str | None
    auth_token: str | None
    auth_header: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class HandlerSettings:
    """Everything an administrator sets on a handler; ``None`` means 'leave as is'."""

    url: str | None = None
    auth_method: AuthMethod | None = None
    login: str | None = None
    password: str | None = None
    auth_scheme: str | None = None
    auth_token: str | None = None
    auth_header: str | None = None
    timeout_s: float | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class Event:
    i_event: int
    i_env: int
    event_type: str
    variables: dict[str, Any]
    start_at: int
    created_at: int
    state: EventState


@dataclass(frozen=True, slots=True)
class NewEvent:
    i_env: int
    i_event_type: int
    variables_json: str
    start_at: int


@dataclass(frozen=True, slots=True)
class Attempt:
    i_attempt: int
    i_delivery: int
    attempt_no: int
    started_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class Delivery:
    i_delivery: int
    i_event: int
    i_handler: int
    handler_name: str
    state: DeliveryState
    attempts: int
    next_at: int | None
    finished_at: int | None
    last_status: int | None
    last_error: str | None
    attempt_log: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a dispatcher node now holds, with all it needs to send it."""

    i_delivery: int
    i_event: int
    i_env: int
    event_type: str
    variables_json: str
    attempts: int  # attempts made before this one
    handler: Handler


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one HTTP attempt led to, ready for the store to record."""

    i_delivery: int
    attempt_no: int
    started_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    new_state: DeliveryState  # PENDING (retry later), DELIVERED, REJECTED or FAILED
    next_at: int | None  # when PENDING


@dataclass(frozen=True, slots=True)
class EventFilter:
    i_env: int | None = None
    event_type: str | None = None
    state: EventState | None = None
    limit: int = 100
    before_i_event: int | None = None
